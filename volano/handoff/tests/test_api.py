"""The hand-off API, as an integrator and a rep's app use it."""

from __future__ import annotations

import pytest

from volano.conftest import ApiClient, reactions_run_pending
from volano.core import services as core_services
from volano.handoff import services
from volano.notifications.tests.helpers import note_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def marco_api(client, officina, marco):
    _token, raw = core_services.token_create(workspace=officina, user=marco)
    return ApiClient(client, raw)


@pytest.fixture
def bruno_api(client, bruno_token):
    return ApiClient(client, bruno_token)


def test_rule_crud_with_warnings(api, lines, marco, luca):
    created = api.post(
        "/assignment-rules",
        {
            "name": "Nord-Ovest",
            "regions": ["Lombardia"],
            "product_lines": ["ricambi"],
            "reps": ["marco@officinarossi.it"],
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["reps"] == [marco.pk] and rule["warnings"] == []
    second = api.post(
        "/assignment-rules",
        {"name": "Milano", "provinces": ["MI"], "product_lines": ["ricambi"], "reps": [luca.pk]},
    )
    assert second.status_code == 201
    assert second.json()["warnings"] == [
        {
            "field": "territory",
            "message": "overlaps 'Nord-Ovest' on MI for ricambi; "
            "the rule with the lower position wins",
        }
    ]
    assert [r["name"] for r in api.get("/assignment-rules").json()] == ["Nord-Ovest", "Milano"]
    got = api.get(f"/assignment-rules/{rule['id']}").json()
    assert got["warnings"][0]["message"].startswith("overlaps 'Milano' on MI")
    updated = api.put(
        f"/assignment-rules/{rule['id']}",
        {"name": "Nord-Ovest", "regions": ["Piemonte"], "reps": [marco.pk], "position": 3},
    )
    assert updated.status_code == 200
    assert updated.json()["regions"] == ["Piemonte"] and updated.json()["warnings"] == []
    assert api.delete(f"/assignment-rules/{rule['id']}").status_code == 204
    assert api.get(f"/assignment-rules/{rule['id']}").status_code == 404


def test_invalid_rules_are_422_naming_the_fields(api, lines, marco):
    response = api.post(
        "/assignment-rules",
        {"name": "", "regions": ["Atlantide"], "cap_ranges": ["2o121"], "reps": []},
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["error"]["errors"]]
    assert fields == ["name", "regions", "cap_ranges", "reps"]
    unknown = api.post("/assignment-rules", {"name": "X", "reps": [marco.pk], "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "colour"


def test_settings(api, marco):
    assert api.get("/handoff/settings").json() == {
        "fallback_owner": None,
        "fallback_owner_email": None,
        "sla_hours": 8,
        "work_start": 9,
        "work_end": 18,
    }
    saved = api.put(
        "/handoff/settings", {"fallback_owner": "marco@officinarossi.it", "sla_hours": 4}
    )
    assert saved.status_code == 200
    assert saved.json()["fallback_owner"] == marco.pk and saved.json()["sla_hours"] == 4
    bad = api.put("/handoff/settings", {"sla_hours": 500, "work_start": 20, "work_end": 19})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["error"]["errors"]] == ["sla_hours", "work_end"]


def test_the_rep_lists_accepts_and_rejects(officina, lombardia_rule, anna, marco, marco_api, api):
    from .conftest import sql_contact

    first = services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    bea = sql_contact(officina, email="bea@cliente.it", province="MI")
    services.lead_assign(workspace=officina, contact_id=bea.pk, product_line="ricambi")
    mine = marco_api.get("/assignments", mine=1, status="pending").json()
    assert [a["contact_name"] for a in mine] == ["Anna Bianchi"]
    assert len(api.get("/assignments").json()) == 2

    accepted = marco_api.post(f"/assignments/{first.pk}/accept", {})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    no_reason = marco_api.post(f"/assignments/{first.pk}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["field"] == "reason"
    rejected = marco_api.post(f"/assignments/{first.pk}/reject", {"reason": "Già cliente"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "Già cliente"
    # Giulia is a marketer, not the rep nor an admin
    other = api.get("/assignments", status="pending").json()[0]
    assert api.post(f"/assignments/{other['id']}/accept", {}).status_code == 403


def test_notifications(officina, lombardia_rule, anna, marco_api):
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    reactions_run_pending()  # the rep is notified after commit
    notes = marco_api.get("/notifications").json()
    assert [n["title"] for n in notes] == ["New qualified lead: Anna Bianchi (Ricambi)"]
    assert marco_api.post(f"/notifications/{notes[0]['id']}/read", {}).status_code == 204
    assert marco_api.get("/notifications", unread=1).json() == []


def test_another_workspace_sees_and_changes_nothing(
    officina, lombardia_rule, anna, marco, bruno_api
):
    assignment = services.lead_assign(
        workspace=officina, contact_id=anna.pk, product_line="ricambi"
    )
    note_id = note_of(assignment).pk
    rule_id = lombardia_rule.pk
    assert bruno_api.get("/assignment-rules").json() == []
    assert bruno_api.get(f"/assignment-rules/{rule_id}").status_code == 404
    assert (
        bruno_api.put(
            f"/assignment-rules/{rule_id}", {"name": "Mia", "reps": ["bruno@ferramentabianchi.it"]}
        ).status_code
        == 404
    )
    assert bruno_api.delete(f"/assignment-rules/{rule_id}").status_code == 404
    assert bruno_api.get("/assignments").json() == []
    assert bruno_api.post(f"/assignments/{assignment.pk}/accept", {}).status_code == 404
    assert (
        bruno_api.post(f"/assignments/{assignment.pk}/reject", {"reason": "x"}).status_code == 404
    )
    assert bruno_api.get("/notifications").json() == []
    assert bruno_api.post(f"/notifications/{note_id}/read", {}).status_code == 404
    assert bruno_api.get("/handoff/settings").json()["fallback_owner"] is None
    bad_owner = bruno_api.put("/handoff/settings", {"fallback_owner": marco.pk})
    assert bad_owner.status_code == 422
    assignment.refresh_from_db()
    assert assignment.status == "pending"
