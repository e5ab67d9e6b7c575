"""The segments and lists API, as an integrator uses it."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.events.services import event_append

pytestmark = pytest.mark.django_db

LOMBARDI = {"field": "region", "op": "eq", "value": "Lombardia"}


@pytest.fixture
def people(officina):
    made = {}
    for email, province in [("anna@a.it", "MI"), ("bea@b.it", "BG"), ("carlo@c.it", "RM")]:
        made[email] = contact_services.contact_create(
            workspace=officina, actor=None, data={"email": email, "province": province}
        )
    return made


def test_segment_crud_members_count_and_preview(api, people, officina):
    response = api.post(
        "/segments", {"slug": "lombardi", "name": "Lombardi", "definition": LOMBARDI}
    )
    assert response.status_code == 201, response.content
    assert response.json()["size"] == 2
    assert api.get("/segments").json()["count"] == 1
    members = api.get("/segments/lombardi/members").json()
    assert members["count"] == 2
    assert {m["email"] for m in members["items"]} == {"anna@a.it", "bea@b.it"}
    assert api.get("/segments/lombardi/count").json()["count"] == 2

    preview = api.post(
        "/segments/preview", {"definition": {"field": "province", "op": "eq", "value": "rm"}}
    )
    assert preview.status_code == 200
    assert preview.json()["count"] == 1
    assert preview.json()["description"]["en"] == "province is rm"

    bad = api.post(
        "/segments/preview",
        {"definition": {"all": [LOMBARDI, {"field": "citta", "op": "eq", "value": "x"}]}},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "definition.all[1].field"
    assert "unknown field 'citta'" in bad.json()["error"]["message"]

    changed = api.put(
        "/segments/lombardi",
        {"name": "Milanesi", "definition": {"field": "province", "op": "eq", "value": "MI"}},
    )
    assert changed.status_code == 200 and changed.json()["size"] == 1
    assert (
        api.post("/segments", {"slug": "lombardi", "name": "x", "definition": LOMBARDI}).status_code
        == 400
    )
    assert api.delete("/segments/lombardi").status_code == 204
    assert api.get("/segments/lombardi").status_code == 404


def test_a_new_event_then_refresh_moves_a_contact_and_the_count_agrees(api, people, officina):
    api.post(
        "/segments",
        {"slug": "clic", "name": "Clic", "definition": {"event": "email_clicked"}},
    )
    event_append(workspace=officina, contact_id=people["bea@b.it"].pk, type="email_clicked")
    assert api.get("/segments/clic/count").json() == {
        "count": 1,
        "size": 0,
        "refreshed_at": api.get("/segments/clic").json()["refreshed_at"],
    }


def test_lists_by_ids_emails_and_snapshot(api, people, officina):
    assert api.post("/lists", {"slug": "fiera-2025", "name": "Fiera 2025"}).status_code == 201
    added = api.post(
        "/lists/fiera-2025/members",
        {"contact_ids": [people["anna@a.it"].pk], "emails": [" BEA@b.it ", "nessuno@x.it"]},
    ).json()
    assert added == {"added": 2, "not_found": ["nessuno@x.it"], "size": 2}
    again = api.post("/lists/fiera-2025/members", {"contact_ids": [people["anna@a.it"].pk]})
    assert again.json()["added"] == 0
    assert api.get("/lists/fiera-2025/members").json()["count"] == 2
    removed = api.delete("/lists/fiera-2025/members")
    assert removed.status_code == 200 and removed.json()["removed"] == 0
    response = api.client.delete(
        "/api/v1/lists/fiera-2025/members",
        {"emails": ["anna@a.it"]},
        content_type="application/json",
        headers=api.headers,
    )
    assert response.json()["removed"] == 1
    api.post("/segments", {"slug": "lombardi", "name": "Lombardi", "definition": LOMBARDI})
    snap = api.post(
        "/lists", {"slug": "lombardi-oggi", "name": "Lombardi oggi", "from_segment": "lombardi"}
    )
    assert snap.status_code == 201 and snap.json()["size"] == 2
    # a segment over the list
    fiera = api.post(
        "/segments", {"slug": "in-fiera", "name": "In fiera", "definition": {"list": "fiera-2025"}}
    )
    assert fiera.json()["size"] == 1
    assert api.delete("/lists/fiera-2025").status_code == 400  # used by in-fiera
    assert api.patch("/lists/lombardi-oggi", {"name": "Snapshot"}).json()["name"] == "Snapshot"
    assert api.get("/lists").json()["count"] == 2


def test_another_workspace_sees_nothing(client, bruno_token, api, people, officina):
    from volano.conftest import ApiClient

    api.post("/segments", {"slug": "lombardi", "name": "Lombardi", "definition": LOMBARDI})
    api.post("/lists", {"slug": "fiera-2025", "name": "Fiera 2025"})
    bruno = ApiClient(client, bruno_token)
    assert bruno.get("/segments/lombardi").status_code == 404
    assert bruno.get("/segments/lombardi/members").status_code == 404
    assert bruno.get("/lists/fiera-2025").status_code == 404
    assert bruno.get("/segments").json()["count"] == 0
    # ferramenta's segment over a list it does not have is an error, not officina's list
    bad = bruno.post("/segments/preview", {"definition": {"list": "fiera-2025"}})
    assert bad.status_code == 422 and "unknown list" in bad.json()["error"]["message"]
    added = bruno.post("/lists", {"slug": "mia", "name": "Mia"})
    assert added.status_code == 201
    sneaky = bruno.post("/lists/mia/members", {"contact_ids": [people["anna@a.it"].pk]})
    assert sneaky.json()["added"] == 0
