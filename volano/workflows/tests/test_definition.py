"""Publish-time validation names the step, and the pinned JSON goes through the API unchanged."""

from __future__ import annotations

import pytest

from volano.contacts.models import Contact
from volano.workflows import services
from volano.workflows.definition import DefinitionError, definition_parse
from volano.workflows.models import Enrolment

PINNED = {
    "name": "Benvenuto",
    "trigger": {"kind": "event", "when": {"event": "form_submitted"}},
    "steps": [
        {"key": "grazie", "kind": "send_email", "template": "grazie"},
        {"key": "attesa", "kind": "wait", "days": 7},
        {"key": "segna", "kind": "update_property", "field": "job_title", "value": "Lettore"},
        {
            "key": "lombardo",
            "kind": "branch",
            "when": {"field": "region", "op": "eq", "value": "Lombardia"},
            "then": [{"key": "vicino", "kind": "send_email", "template": "secondo"}],
            "else": [],
        },
    ],
    "goal": {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
}


def _with_steps(steps):
    return {"name": "Prova", "trigger": {"kind": "manual"}, "steps": steps}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (_with_steps([{"key": "a", "kind": "send_email", "template": "nessuno"}]), "steps[0].template"),
        (_with_steps([{"key": "a", "kind": "wait", "days": 1}, {"key": "a", "kind": "exit"}]), "steps[1]"),
        (_with_steps([{"key": "a", "kind": "exit"}, {"key": "b", "kind": "wait", "days": 1}]), "steps[1]"),
        (_with_steps([{"key": "b", "kind": "branch", "when": {"field": "city", "op": "eq", "value": "x"},
                       "then": []}]), "steps[0]"),
        (_with_steps([{"key": "b", "kind": "branch", "when": {"field": "city", "op": "eq", "value": "x"},
                       "then": [{"key": "c", "kind": "send_email", "template": "manca"}], "else": []}]),
         "steps[0].then[0].template"),
        (_with_steps([{"key": "b", "kind": "branch", "when": {"field": "citta", "op": "eq", "value": "x"},
                       "then": [], "else": []}]), "steps[0].when.field"),
        (_with_steps([{"key": "w", "kind": "wait"}]), "steps[0]"),
        (_with_steps([{"key": "w", "kind": "wait", "days": -1}]), "steps[0].days"),
        (_with_steps([{"key": "l", "kind": "add_to_list", "list": "fiera"}]), "steps[0].list"),
        (_with_steps([{"key": "b", "kind": "branch", "on": {"step": "dopo", "did": "clicked"},
                       "then": [], "else": []},
                      {"key": "dopo", "kind": "send_email", "template": "grazie"}]), "steps[0].on.steps[0]"),
        (_with_steps([{"key": "x", "kind": "teleport"}]), "steps[0].kind"),
        (_with_steps([]), "steps"),
        ({"name": "Prova", "trigger": {"kind": "segment_entered", "segment": "nessuno"},
          "steps": [{"key": "w", "kind": "wait", "days": 1}]}, "trigger.segment"),
    ],
)  # fmt: skip
def test_publishing_refuses_a_bad_definition_naming_the_step(
    officina, giulia, templates, definition, field
):
    with pytest.raises(DefinitionError) as refused:
        definition_parse(definition, workspace=officina)
    assert refused.value.field == field
    assert refused.value.status_code == 422


@pytest.mark.django_db
def test_a_draft_may_name_a_template_made_later_but_publishing_checks_it(officina, giulia):
    draft = _with_steps([{"key": "a", "kind": "send_email", "template": "dopo"}])
    workflow = services.workflow_create(workspace=officina, actor=giulia, definition=draft)
    with pytest.raises(DefinitionError) as refused:
        services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    assert refused.value.field == "steps[0].template"


@pytest.mark.django_db
def test_the_pinned_json_round_trips_through_the_api(api, officina, giulia, templates, person):
    created = api.post("/workflows", PINNED)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["definition"] == PINNED
    assert body["status"] == "draft" and body["published_version"] is None
    workflow_id = body["id"]

    assert api.get(f"/workflows/{workflow_id}").json()["definition"] == PINNED
    changed = {**PINNED, "name": "Benvenuto 2"}
    assert api.put(f"/workflows/{workflow_id}", changed).json()["name"] == "Benvenuto 2"

    published = api.post(f"/workflows/{workflow_id}/publish", {})
    assert published.status_code == 200, published.content
    assert published.json()["published_version"] == 1
    assert published.json()["published_definition"] == changed

    anna = person("anna@example.it", "Anna")
    enrolled = api.post(f"/workflows/{workflow_id}/enrol", {"contact_ids": [anna.pk]})
    assert enrolled.json() == {"enrolled": 1}
    again = api.post(f"/workflows/{workflow_id}/enrol", {"contact_ids": [anna.pk]})
    assert again.json() == {"enrolled": 0}  # one active enrolment per contact

    services.workflows_run_due(workspace=officina)
    got = api.get(f"/workflows/{workflow_id}").json()
    assert got["stats"] == {
        "enrolled": 1, "active": 1, "completed": 0, "exited": 0, "goal_reached": 0,
    }  # fmt: skip
    counts = {row["key"]: (row["waiting"], row["done"]) for row in got["steps"]}
    assert counts == {
        "grazie": (0, 1), "attesa": (0, 1), "segna": (1, 0), "lombardo": (0, 0), "vicino": (0, 0),
    }  # fmt: skip

    paused = api.post(f"/workflows/{workflow_id}/pause", {})
    assert paused.json()["status"] == "paused"


@pytest.mark.django_db
def test_a_bad_definition_through_the_api_is_a_422_naming_the_step(api, templates):
    bad = {**PINNED, "steps": [*PINNED["steps"][:3], {"key": "x", "kind": "wait", "hours": 2}]}
    response = api.post("/workflows", bad)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "steps[3].hours"


@pytest.mark.django_db
def test_enrolling_a_segment_through_the_api(api, officina, giulia, templates):
    from volano.segments import services as segment_services

    Contact.objects.bulk_create(
        [Contact(workspace=officina, email=f"p{i}@example.it", city="Bergamo") for i in range(3)]
    )
    segment_services.segment_save(
        workspace=officina, actor=giulia, slug="bergamo", name="Bergamo",
        definition={"field": "city", "op": "eq", "value": "Bergamo"},
    )  # fmt: skip
    segment = segment_services.Segment.objects.for_workspace(officina).get(slug="bergamo")
    segment_services.segment_refresh(workspace=officina, segment=segment)
    workflow_id = api.post("/workflows", {**PINNED, "trigger": {"kind": "manual"}}).json()["id"]
    api.post(f"/workflows/{workflow_id}/publish", {})
    response = api.post(f"/workflows/{workflow_id}/enrol", {"segment": "bergamo"})
    assert response.json() == {"enrolled": 3}
    assert Enrolment.objects.for_workspace(officina).count() == 3
