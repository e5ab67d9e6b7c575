"""The builder's forms for the later step kinds (wait until, wait for, task, webhook, section
read longest, adjust a score) and the date trigger; "new from a template"; the adjust-score
step through the engine; the replay of those kinds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from volano.contacts.services import custom_field_create
from volano.events.services import event_append
from volano.scoring.models import Score
from volano.scoring.services import score_model_save, scores_recompute
from volano.workflows import builder, services
from volano.workflows.models import Workflow
from volano.workflows.replay import SIMULATIONS, workflow_replay
from volano.workflows.tests.test_engine import NEW_CONTACT


def _draft(workflow):
    workflow.refresh_from_db()
    return workflow.draft


def _round_trip(choices, kind, step):
    form_class = builder.STEP_FORMS[kind]
    unbound = form_class(choices=choices, step=step)
    data = {}
    for name, field in unbound.fields.items():
        value = unbound.initial.get(name, field.initial)
        if value is not None:
            data[name] = value
    bound = form_class(data, choices=choices, step=step)
    assert bound.is_valid(), (kind, bound.errors)
    return bound.to_step("a")


@pytest.fixture
def rules_model(officina, giulia):
    return score_model_save(
        workspace=officina,
        actor=giulia,
        data={"slug": "ricambi", "name": "Ricambi", "rules": [
            {"kind": "fit", "when": {"field": "city", "op": "eq", "value": "Brescia"},
             "points": 15}]},
    )  # fmt: skip


@pytest.mark.django_db
def test_every_kind_of_the_step_registry_has_a_form_that_round_trips(
    officina, giulia, templates, rules_model
):
    from volano.workflows.definition import STEP_KINDS

    assert set(STEP_KINDS) == set(builder.STEP_FORMS), "a step kind without a builder form"
    custom_field_create(workspace=officina, key="scadenza", label="Scadenza", type="date")
    custom_field_create(workspace=officina, key="materiale", label="Materiale", type="text")
    choices = builder.choices_for(officina, NEW_CONTACT)
    nested = [{"key": "n", "kind": "exit"}]
    samples = [
        {"key": "a", "kind": "wait_until", "weekdays": [0, 3], "time": "08:30"},
        {"key": "a", "kind": "wait_until", "field": "custom.scadenza", "offset_days": -30,
         "time": "09:00"},
        {"key": "a", "kind": "wait_for", "on": {"steps": ["grazie"], "did": "clicked"},
         "timeout_days": 7, "then": nested, "else": []},
        {"key": "a", "kind": "wait_for", "event": {"event": "page_view",
         "where": {"url": {"contains": "/prezzi"}}}, "timeout_minutes": 90, "then": [],
         "else": nested},
        {"key": "a", "kind": "wait_for", "event": {"event": "form_submitted",
         "where": {"form": "report"}}, "timeout_days": 3, "then": [], "else": []},
        {"key": "a", "kind": "create_task", "to": "owner", "title": "Richiama",
         "body": "Ha risposto", "due_days": 2},
        {"key": "a", "kind": "webhook", "url": "https://crm.example.it/hook",
         "secret": "s" * 20, "payload": {"origine": "volano"}},
        {"key": "a", "kind": "set_top_section", "field": "custom.materiale",
         "sections": [{"url_contains": "/export", "value": "https://x.it/export.pdf"},
                      {"url_contains": "/prezzi", "value": "https://x.it/prezzi.pdf"}],
         "default": "https://x.it/report.pdf"},
        {"key": "a", "kind": "adjust_score", "model": "ricambi", "points": -10},
    ]  # fmt: skip
    for step in samples:
        assert _round_trip(choices, step["kind"], step) == step, step


@pytest.mark.django_db
def test_a_marketer_adds_the_later_kinds_and_the_date_trigger_without_json(
    client, officina, giulia, templates, rules_model
):
    custom_field_create(workspace=officina, key="scadenza", label="Scadenza", type="date")
    client.force_login(giulia)
    client.post("/workflows/new/", {"name": "Rinnovi", "kind": "manual", "create": "1"})
    workflow = Workflow.objects.for_workspace(officina).get(name="Rinnovi")
    url = f"/workflows/{workflow.pk}/builder/"

    page = client.get(f"{url}?trigger=1&kind=date_property").content.decode()
    assert "Scadenza (custom.scadenza)" in page
    client.post(url, {"action": "trigger", "trigger": "1", "kind": "date_property",
                      "field": "custom.scadenza", "offset_days": "-30"})  # fmt: skip
    assert _draft(workflow)["trigger"] == {
        "kind": "date_property", "field": "custom.scadenza", "offset_days": -30,
    }  # fmt: skip

    client.post(url, {"action": "save_step", "add": "steps", "at": "0", "kind": "send_email",
                      "template": "grazie"})  # fmt: skip
    response = client.post(url, {"action": "save_step", "add": "steps", "at": "2",
                                 "kind": "wait_for", "mode": "on", "on_steps": ["send-email-1"],
                                 "did": "clicked", "timeout": "7", "timeout_unit": "days"})  # fmt: skip
    assert response.status_code == 302
    client.post(url, {"action": "save_step", "add": "steps[2].then", "at": "0",
                      "kind": "adjust_score", "model": "ricambi", "points": "10"})  # fmt: skip
    client.post(url, {"action": "save_step", "add": "steps[2].else", "at": "0",
                      "kind": "create_task", "to": "owner", "title": "Chiamalo",
                      "body": "", "due_days": ""})  # fmt: skip
    step = _draft(workflow)["steps"][2]
    assert step["kind"] == "wait_for" and step["timeout_days"] == 7
    assert step["then"][0] == {"key": "adjust-score-1", "kind": "adjust_score",
                               "model": "ricambi", "points": 10}  # fmt: skip
    assert step["else"][0]["title"] == "Chiamalo"
    page = client.get(url).content.decode()
    assert "If it happened" in page and "Add 10 points to the score “ricambi”" in page
    assert "Ready to publish" in page

    # a bad line in a webhook's extra fields stays in the form, named
    response = client.post(url, {"action": "save_step", "add": "steps", "at": "3",
                                 "kind": "webhook", "url": "https://crm.example.it/h",
                                 "secret": "x" * 20, "payload": "origine volano"})  # fmt: skip
    assert response.status_code == 422
    assert "line 1: write “name | value”" in response.content.decode()
    # the webhook form offers a fresh secret, so no one has to invent one
    form = client.get(f"{url}?add=steps&at=3&kind=webhook").content.decode()
    assert 'name="secret"' in form and 'value="' in form.split('name="secret"')[1][:80]


@pytest.mark.django_db
def test_new_from_a_template_fills_its_parameters_in_a_form(client, officina, giulia):
    from volano.events.models import Form

    Form.objects.create(workspace=officina, slug="report", name="Report 2026")
    client.force_login(giulia)
    listing = client.get("/workflows/templates/").content.decode()
    for slug in ("nuovo-contatto", "contatto-non-convertito", "cliente-perso"):
        assert f"/workflows/templates/{slug}/" in listing
    page = client.get("/workflows/templates/nuovo-contatto/").content.decode()
    assert "Report 2026 (report)" in page and 'name="sections"' in page

    bad = client.post("/workflows/templates/nuovo-contatto/", {
        "name": "Nuovo contatto", "form": "report",
        "sections": "/export | non-un-indirizzo",
    })  # fmt: skip
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "Report sections" in text and "[0].material_url" in text
    assert not Workflow.objects.for_workspace(officina).exists()

    response = client.post("/workflows/templates/nuovo-contatto/", {
        "name": "Nuovo contatto", "form": "report",
        "sections": "/export | https://x.it/export.pdf\n\n/ricambi | https://x.it/ricambi.pdf | "
                    "https://x.it/ricambi-2.pdf",
        "newsletter_url": "https://x.it/newsletter", "video_url": "https://x.it/video",
        "video_image_url": "https://x.it/video.jpg", "social_url": "https://x.it/social",
    })  # fmt: skip
    workflow = Workflow.objects.for_workspace(officina).get()
    assert response.status_code == 302 and response["Location"].endswith(
        f"/workflows/{workflow.pk}/builder/"
    )
    assert workflow.draft["trigger"] == {"kind": "form_submitted", "form": "report"}
    builder_page = client.get(response["Location"]).content.decode()
    assert "Ready to publish" in builder_page
    assert "Remember the section read longest" not in builder_page  # a label, not a kind name


@pytest.mark.django_db
def test_the_adjust_score_step_adds_points_that_stay(officina, giulia, person, rules_model):
    anna = person("anna@example.it", "Anna")
    definition = {
        "name": "Premio",
        "trigger": {"kind": "manual"},
        "steps": [{"key": "premio", "kind": "adjust_score", "model": "ricambi", "points": 12.5}],
    }
    workflow = services.workflow_create(workspace=officina, actor=giulia, definition=definition)
    workflow = services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    services.workflow_enrol_ids(
        workspace=officina, actor=giulia, workflow=workflow, contact_ids=[anna.pk], source="api"
    )
    services.workflows_run_due(workspace=officina)
    score = Score.objects.for_workspace(officina).get(contact=anna, model=rules_model)
    assert score.points == 12.5
    # a full recompute of the model keeps the points given (they are events of the timeline)
    scores_recompute(workspace=officina)
    score.refresh_from_db()
    assert score.points == 12.5
    from volano.events.models import Event

    adjusted = Event.objects.for_workspace(officina).get(contact=anna, type="score_adjusted")
    assert adjusted.properties["points"] == 12.5
    assert adjusted.properties["source"] == f"workflow:{workflow.slug}:premio"
    # the contact's page explains the points: no rule gave them, a workflow did
    from volano.scoring.selectors import score_explanations

    explained = score_explanations(workspace=officina, contact=anna, language="en")[0]
    assert explained["points"] == 12.5
    assert explained["rules"] == [{"label": "Points given by workflows", "kind": "adjustment",
                                   "points": 12.5, "events": []}]  # fmt: skip
    # a model that is not there is refused at publish, naming the step
    from volano.core.errors import ApplicationError

    bad = services.workflow_create(workspace=officina, actor=giulia, definition={
        **definition, "steps": [{"key": "p", "kind": "adjust_score", "model": "manca",
                                 "points": 5}]})  # fmt: skip
    with pytest.raises(ApplicationError) as error:
        services.workflow_publish(workspace=officina, actor=giulia, workflow=bad)
    assert error.value.field == "steps[0].model"


@pytest.mark.django_db
def test_replay_simulates_the_later_kinds(officina, giulia, templates, person, rules_model):
    now = timezone.now()
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    for contact, days in ((anna, 20), (bruno, 2)):
        event_append(workspace=officina, type="form_submitted", contact_id=contact.pk,
                     occurred_at=now - dt.timedelta(days=days), properties={"form": "report"})  # fmt: skip
    event_append(workspace=officina, type="page_view", contact_id=anna.pk,
                 occurred_at=now - dt.timedelta(days=19),
                 properties={"url": "https://x.it/prezzi"})  # fmt: skip
    definition = {
        "name": "Prezzi",
        "trigger": {"kind": "form_submitted", "form": "report"},
        "steps": [
            {"key": "lunedi", "kind": "wait_until", "weekdays": [0], "time": "09:00"},
            {"key": "attende", "kind": "wait_for", "timeout_days": 5,
             "event": {"event": "page_view", "where": {"url": {"contains": "/prezzi"}}},
             "then": [{"key": "premio", "kind": "adjust_score", "model": "ricambi",
                       "points": 10},
                      {"key": "compito", "kind": "create_task", "title": "Chiama"}],
             "else": [{"key": "hook", "kind": "webhook", "url": "https://x.it/h",
                       "secret": "s" * 16}]},
        ],
    }  # fmt: skip
    workflow = services.workflow_create(workspace=officina, actor=giulia, definition=definition)
    result = workflow_replay(workspace=officina, workflow=workflow, now=now)
    rows = {row["key"]: row for row in result["steps"]}
    assert result["entered"] == 2
    assert all(row.get("simulated", True) for row in rows.values())
    # Bruno entered 2 days ago: the Monday wait (its longest, 7 days) holds him
    assert rows["attende"]["count"] == 1
    assert rows["attende"]["outcomes"] == {"then": 1, "else": 0}
    assert rows["premio"]["count"] == 1 and rows["compito"]["count"] == 1
    assert rows["hook"]["count"] == 0
    assert any("longest wait (7 days)" in note for note in result["notes"])
    assert {"wait_until", "wait_for", "create_task", "webhook", "set_top_section",
            "adjust_score"} <= set(SIMULATIONS)  # fmt: skip
