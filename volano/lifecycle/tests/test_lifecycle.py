"""Lifecycle stages: every change recorded with who, what, when and why; rules; the funnel."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from volano.conftest import ApiClient
from volano.contacts.services import contact_create
from volano.events.models import Event
from volano.events.services import event_append
from volano.lifecycle.models import StageChange
from volano.lifecycle.selectors import funnel_report
from volano.lifecycle.services import stage_set, threshold_rule_save, thresholds_apply


@pytest.fixture
def anna(officina, giulia):
    return contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "anna@agri.it", "first_name": "Anna", "region": "Lombardia"},
    )


def test_patch_records_the_change_on_the_timeline(api, anna):
    response = api.patch(
        f"/contacts/{anna.pk}",
        {"lifecycle_stage": "disqualified", "lifecycle_reason": "studente"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["lifecycle_stage"] == "disqualified"
    change = StageChange.objects.for_workspace(anna.workspace_id).get(contact=anna)
    assert (change.from_stage, change.to_stage, change.source, change.reason) == (
        "lead",
        "disqualified",
        "api",
        "studente",
    )
    assert change.actor.email == "giulia@officinarossi.it"
    event = Event.objects.for_workspace(anna.workspace_id).get(type="lifecycle_changed")
    assert event.properties == {
        "from": "lead",
        "to": "disqualified",
        "source": "api",
        "reason": "studente",
        "by": "giulia@officinarossi.it",
    }
    history = api.get(f"/contacts/{anna.pk}/stage-changes").json()
    assert [(h["from_stage"], h["to_stage"], h["actor"]) for h in history] == [
        ("lead", "disqualified", "giulia@officinarossi.it")
    ]


def test_an_unknown_stage_is_refused_and_nothing_changes(api, anna):
    response = api.patch(
        f"/contacts/{anna.pk}", {"lifecycle_stage": "hot", "first_name": "Annalisa"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "lifecycle_stage"
    anna.refresh_from_db()
    assert (anna.first_name, anna.lifecycle_stage) == ("Anna", "lead")


def test_setting_the_same_stage_records_nothing(officina, giulia, anna):
    assert stage_set(workspace=officina, actor=giulia, contact=anna, stage="lead") is False
    assert not StageChange.objects.for_workspace(officina).exists()


def test_rules_climb_lead_to_sql_in_one_pass(officina, giulia, anna):
    """Seed 002's example: "MQL and attended a webinar or asked for a quote → SQL"."""
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Lombardia → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "region", "op": "eq", "value": "Lombardia"},
        },
    )
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "MQL + webinar o preventivo → SQL",
            "from_stages": ["mql"],
            "to_stage": "sql",
            "product_line": "ricambi",
            "condition": {
                "any": [
                    {"event": "webinar_attended"},
                    {"event": "form_submitted", "where": {"form": "preventivo"}},
                ]
            },
        },
    )
    assert thresholds_apply(workspace=officina) == {
        "Lombardia → MQL": 1,
        "MQL + webinar o preventivo → SQL": 0,
    }
    event_append(workspace=officina, type="webinar_attended", contact_id=anna.pk)
    assert (
        thresholds_apply(workspace=officina, contact_ids=[anna.pk])[
            "MQL + webinar o preventivo → SQL"
        ]
        == 1
    )
    anna.refresh_from_db()
    assert anna.lifecycle_stage == "sql"
    assert list(anna.stage_changes.order_by("pk").values_list("to_stage", "source")) == [
        ("mql", "rule"),
        ("sql", "rule"),
    ]


def test_invalid_rules_name_every_problem_and_save_nothing(api):
    response = api.post(
        "/threshold-rules",
        {
            "name": "x",
            "from_stages": ["lead", "tiepido"],
            "to_stage": "lead",
            "condition": {"field": "score.nessuno", "op": "gte", "value": 60},
        },
    )
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["error"]["errors"]}
    assert "unknown stage 'tiepido'" in errors["from_stages[1]"]
    assert "itself" in errors["to_stage"]
    assert "unknown score model 'nessuno'" in errors["conditions.field"]
    assert api.get("/threshold-rules").json() == []


def test_threshold_rules_api_round_trip_and_isolation(api, client, bruno_token):
    rule = {
        "name": "Score ≥ 60 → MQL",
        "from_stages": ["lead", "recycled"],
        "to_stage": "mql",
        "condition": {"field": "lifecycle_stage", "op": "in", "value": ["lead", "recycled"]},
    }
    created = api.post("/threshold-rules", rule)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert api.get(f"/threshold-rules/{rule_id}").json()["name"] == "Score ≥ 60 → MQL"
    other = client.get(f"/threshold-rules/{rule_id}", HTTP_AUTHORIZATION=f"Bearer {bruno_token}")
    assert other.status_code == 404


def test_stages_can_be_renamed_per_workspace(api, client, bruno_token):
    # renaming a stage is an administrator's (docs/roles.md): Giulia, a marketer, may not
    assert api.put("/lifecycle/stages/mql", {"name": "Lead caldo"}).status_code == 403
    api = ApiClient(client, bruno_token)
    response = api.put("/lifecycle/stages/mql", {"name": "Lead caldo"})
    assert response.status_code == 200, response.content
    stages = {s["stage"]: s["name"] for s in api.get("/lifecycle/stages").json()}
    assert stages["mql"] == "Lead caldo"
    assert list(stages)[:5] == ["lead", "mql", "sql", "opportunity", "customer"]


def test_funnel_counts_conversion_and_time_in_stage(officina, giulia):
    start = timezone.now() - dt.timedelta(days=30)
    people = [
        contact_create(workspace=officina, actor=giulia, data={"email": f"p{i}@x.it"})
        for i in range(4)
    ]
    from volano.contacts.models import Contact

    Contact.objects.for_workspace(officina).update(created_at=start)
    for person in people[:2]:
        StageChange.objects.create(
            workspace=officina,
            contact=person,
            from_stage="lead",
            to_stage="mql",
            changed_at=start + dt.timedelta(days=4),
            source="rule",
        )
    StageChange.objects.create(
        workspace=officina,
        contact=people[0],
        from_stage="mql",
        to_stage="sql",
        changed_at=start + dt.timedelta(days=10),
        source="rule",
    )
    today = timezone.localdate()
    report = funnel_report(workspace=officina, start=today - dt.timedelta(days=60), end=today)
    stages = {row["stage"]: row for row in report["stages"]}
    assert (stages["lead"]["entered"], stages["lead"]["advanced"]) == (4, 2)
    assert stages["lead"]["rate"] == 0.5
    assert stages["lead"]["median_days"] == 4.0
    assert (stages["mql"]["entered"], stages["mql"]["advanced"], stages["mql"]["rate"]) == (
        2,
        1,
        0.5,
    )
    assert stages["mql"]["median_days"] == 6.0
    assert stages["customer"]["rate"] is None


def test_funnel_counts_a_contact_that_skipped_stages_in_every_stage_it_passed(
    api, officina, giulia
):
    """A lead made a customer in one step (a first order) never was MQL, SQL or opportunity in
    its history, but it passed them: no later stage may count more than an earlier one."""
    start = timezone.now() - dt.timedelta(days=30)
    people = [
        contact_create(workspace=officina, actor=giulia, data={"email": f"s{i}@x.it"})
        for i in range(3)
    ]
    from volano.contacts.models import Contact
    from volano.lifecycle.services import contacts_become_customers, stages_move

    Contact.objects.for_workspace(officina).update(created_at=start)
    stages_move(
        workspace=officina,
        contacts=Contact.objects.for_workspace(officina).filter(pk=people[0].pk),
        to_stage="mql",
        source="rule",
        now=start + dt.timedelta(days=2),
    )
    contacts_become_customers(workspace=officina, contact_ids=[people[1].pk], source="order")
    assert list(
        StageChange.objects.for_workspace(officina)
        .filter(contact=people[1])
        .values_list("from_stage", "to_stage")
    ) == [("lead", "customer")]

    today = timezone.localdate()
    report = funnel_report(workspace=officina, start=today - dt.timedelta(days=60), end=today)
    counted = {row["stage"]: (row["entered"], row["advanced"]) for row in report["stages"]}
    assert counted == {
        "lead": (3, 2),
        "mql": (2, 1),
        "sql": (1, 1),
        "opportunity": (1, 1),
        "customer": (1, 0),
    }
    entered = [row["entered"] for row in report["stages"]]
    assert entered == sorted(entered, reverse=True)

    body = api.get("/reports/funnel").json()
    assert [row["entered"] for row in body["stages"]] == [3, 2, 1, 1, 1]


def test_funnel_counts_a_contact_created_before_the_period_that_moves_in_it(officina, giulia):
    """Reaching SQL in the period means passing Lead and MQL in it too, wherever it started."""
    long_ago = timezone.now() - dt.timedelta(days=400)
    contact = contact_create(workspace=officina, actor=giulia, data={"email": "old@x.it"})
    from volano.contacts.models import Contact

    Contact.objects.for_workspace(officina).update(created_at=long_ago)
    StageChange.objects.create(
        workspace=officina,
        contact=contact,
        from_stage="lead",
        to_stage="mql",
        changed_at=long_ago + dt.timedelta(days=1),
        source="rule",
    )
    StageChange.objects.create(
        workspace=officina,
        contact=contact,
        from_stage="mql",
        to_stage="sql",
        changed_at=timezone.now() - dt.timedelta(days=5),
        source="rule",
    )
    today = timezone.localdate()
    report = funnel_report(workspace=officina, start=today - dt.timedelta(days=30), end=today)
    counted = {row["stage"]: (row["entered"], row["advanced"]) for row in report["stages"]}
    assert counted["lead"] == (1, 1)
    assert counted["mql"] == (1, 1)
    assert counted["sql"] == (1, 0)
    assert counted["opportunity"] == (0, 0)


def test_scoring_cli_saves_a_model_and_recomputes(officina, giulia, anna, tmp_path, capsys):
    model = {
        "slug": "lombardia",
        "name": "Lombardia",
        "rules": [
            {
                "kind": "fit",
                "when": {"field": "region", "op": "eq", "value": "Lombardia"},
                "points": 20,
            }
        ],
    }
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    call_command("scoring", "model", "save", "--workspace", "officina-rossi", "--file", str(path))
    assert "lombardia: saved, 1 contacts scored (1 changed)" in capsys.readouterr().out
    call_command("scoring", "recompute", "--workspace", "officina-rossi")
    assert "lombardia: 1 contacts scored (0 changed)" in capsys.readouterr().out
