"""The visual builder: a marketer creates a workflow and edits its draft with forms, no JSON;
every change goes through workflow_update, and refusals name the step."""

from __future__ import annotations

import json

import pytest

from volano.workflows import builder, services
from volano.workflows.models import Workflow
from volano.workflows.tests.test_engine import NEW_CONTACT


def _draft(workflow):
    workflow.refresh_from_db()
    return workflow.draft


def _post(client, workflow, **data):
    return client.post(f"/workflows/{workflow.pk}/builder/", data)


@pytest.fixture
def draft(client, officina, giulia, templates):
    client.force_login(giulia)
    response = client.post(
        "/workflows/new/",
        {"name": "Benvenuto", "kind": "form_submitted", "form": "", "create": "1"},
    )
    workflow = Workflow.objects.for_workspace(officina).get(name="Benvenuto")
    assert response.status_code == 302 and response["Location"].endswith(
        f"/workflows/{workflow.pk}/builder/"
    )
    return workflow


@pytest.mark.django_db
def test_a_marketer_builds_the_new_contact_workflow_with_forms(client, officina, draft):
    workflow = draft
    assert _draft(workflow)["trigger"] == {"kind": "form_submitted"}
    # the thank-you first, then a week's wait (the first step, edited), then the second email
    _post(client, workflow, action="save_step", add="steps", at="0", kind="send_email",
          template="grazie", subject="")  # fmt: skip
    _post(client, workflow, action="save_step", edit="steps[1]", amount="7", unit="days")
    _post(client, workflow, action="save_step", add="steps", at="2", kind="send_email",
          template="secondo")  # fmt: skip
    _post(client, workflow, action="save_step", add="steps", at="3", kind="wait",
          amount="7", unit="days")  # fmt: skip
    _post(client, workflow, action="save_step", add="steps", at="4", kind="branch", mode="on",
          on_steps=["send-email-1", "send-email-2"], did="clicked")  # fmt: skip
    _post(client, workflow, action="save_step", add="steps[4].then", at="0", kind="send_email",
          template="newsletter")  # fmt: skip
    _post(client, workflow, action="save_step", add="steps[4].else", at="0", kind="send_email",
          template="social")  # fmt: skip
    response = _post(client, workflow, action="save_step", add="steps[4].else", at="0",
                     kind="wait", amount="3", unit="days")  # fmt: skip
    assert response.status_code == 302
    steps = _draft(workflow)["steps"]
    assert [s["kind"] for s in steps] == ["send_email", "wait", "send_email", "wait", "branch"]
    assert steps[1] == {"key": "wait-1", "kind": "wait", "days": 7}
    assert steps[4]["on"] == {"steps": ["send-email-1", "send-email-2"], "did": "clicked"}
    assert [s["template"] for s in steps[4]["then"]] == ["newsletter"]
    assert [s["kind"] for s in steps[4]["else"]] == ["wait", "send_email"]
    page = client.get(f"/workflows/{workflow.pk}/builder/").content.decode()
    assert "Ready to publish" in page
    assert "If they clicked the email of step send-email-1, send-email-2" in page
    assert "If yes" in page and "If no" in page
    # publish from the builder; the engine runs this version
    client.post(f"/workflows/{workflow.pk}/builder/publish/")
    workflow.refresh_from_db()
    assert workflow.status == "published" and workflow.published_version.number == 1
    assert workflow.published_version.definition["steps"][0]["template"] == "grazie"
    client.post(f"/workflows/{workflow.pk}/builder/pause/")
    workflow.refresh_from_db()
    assert workflow.status == "paused"


@pytest.mark.django_db
def test_move_and_remove_steps(client, draft):
    workflow = draft
    _post(client, workflow, action="save_step", add="steps", at="1", kind="send_email",
          template="grazie")  # fmt: skip
    assert [s["kind"] for s in _draft(workflow)["steps"]] == ["wait", "send_email"]
    _post(client, workflow, action="up", path="steps[1]")
    assert [s["kind"] for s in _draft(workflow)["steps"]] == ["send_email", "wait"]
    _post(client, workflow, action="save_step", add="steps", at="2", kind="exit", reason="fine")
    # an exit before a step makes it unreachable: refused, named, and the draft is unchanged
    response = client.post(
        f"/workflows/{workflow.pk}/builder/", {"action": "up", "path": "steps[2]"}, follow=True
    )
    assert "Not saved: Step 3 “wait-1”" in response.content.decode()
    assert "can never be reached" in response.content.decode()
    assert [s["kind"] for s in _draft(workflow)["steps"]] == ["send_email", "wait", "exit"]
    _post(client, workflow, action="remove", path="steps[2]")
    _post(client, workflow, action="remove", path="steps[0]")
    _post(client, workflow, action="remove", path="steps[1]")
    assert [s["kind"] for s in _draft(workflow)["steps"]] == ["wait"]
    response = client.post(
        f"/workflows/{workflow.pk}/builder/", {"action": "remove", "path": "steps[0]"}, follow=True
    )
    assert "a workflow needs at least one step" in response.content.decode()
    assert len(_draft(workflow)["steps"]) == 1


@pytest.mark.django_db
def test_a_refused_step_is_named_and_the_form_stays(client, draft):
    workflow = draft
    # a branch on the email of a step that comes later is refused by the definition's check
    _post(client, workflow, action="save_step", add="steps", at="1", kind="send_email",
          template="grazie")  # fmt: skip
    response = _post(client, workflow, action="save_step", add="steps", at="0", kind="branch",
                     mode="on", on_steps=["send-email-1"], did="opened")  # fmt: skip
    assert response.status_code == 422
    page = response.content.decode()
    assert "Not saved: Step 1 “branch-1”" in page
    assert "is not an earlier send_email step of this workflow" in page
    assert 'data-testid="step-form"' in page  # the form is still open, as typed
    assert [s["kind"] for s in _draft(workflow)["steps"]] == ["wait", "send_email"]
    # a form error (no template chosen) stays on the form, nothing saved
    response = _post(client, workflow, action="save_step", add="steps", at="0",
                     kind="send_email", template="")  # fmt: skip
    assert response.status_code == 422 and "This field is required." in response.content.decode()


@pytest.mark.django_db
def test_the_publish_check_names_a_missing_template(client, officina, giulia, draft):
    workflow = draft
    definition = {**_draft(workflow)}
    definition["steps"] = [*definition["steps"], {"key": "x", "kind": "send_email",
                                                  "template": "manca"}]  # fmt: skip
    services.workflow_update(
        workspace=officina, actor=giulia, workflow=workflow, definition=definition
    )
    page = client.get(f"/workflows/{workflow.pk}/builder/").content.decode()
    assert "Cannot be published yet:" in page
    assert "Step 2 “x” (Send the email “manca”)" in page
    assert "no email template &#x27;manca&#x27; in this workspace" in page
    response = client.post(f"/workflows/{workflow.pk}/builder/publish/", follow=True)
    assert "Not published: Step 2 “x”" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.published_version is None


@pytest.mark.django_db
def test_trigger_goal_and_conditions_without_json(client, officina, draft):
    workflow = draft
    page = client.get(f"/workflows/{workflow.pk}/builder/?trigger=1&kind=stage_changed")
    assert page.status_code == 200 and 'name="stage"' in page.content.decode()
    _post(client, workflow, action="trigger", trigger="1", kind="stage_changed", stage="lead")
    assert _draft(workflow)["trigger"] == {"kind": "stage_changed", "stage": "lead"}
    goal = {"field": "lifecycle_stage", "op": "eq", "value": "customer"}
    _post(client, workflow, action="goal", goal=json.dumps(goal))
    assert _draft(workflow)["goal"] == goal
    page = client.get(f"/workflows/{workflow.pk}/builder/").content.decode()
    assert "Moving to the stage lead" in page
    # a condition branch: the condition builder writes the hidden field
    when = {"field": "city", "op": "eq", "value": "Milano"}
    _post(client, workflow, action="save_step", add="steps", at="1", kind="branch",
          mode="when", when=json.dumps(when))  # fmt: skip
    step = _draft(workflow)["steps"][1]
    assert step["when"] == when and step["then"] == [] and step["else"] == []
    edit = client.get(f"/workflows/{workflow.pk}/builder/?edit=steps[1]").content.decode()
    assert "data-condition-builder" in edit and "builder-catalogue" in edit
    _post(client, workflow, action="goal", goal="")
    assert "goal" not in _draft(workflow)


@pytest.mark.django_db
def test_every_step_kind_has_a_form_that_round_trips(officina, templates):
    choices = builder.choices_for(officina, NEW_CONTACT)
    samples = {
        "send_email": {"key": "a", "kind": "send_email", "template": "grazie"},
        "wait": {"key": "a", "kind": "wait", "minutes": 30},
        "exit": {"key": "a", "kind": "exit", "reason": "basta"},
        "split": {"key": "a", "kind": "split", "paths": [[], [], []], "weights": [1, 2, 1]},
        "notify": {"key": "a", "kind": "notify", "to": "owner", "title": "Chiama"},
        "update_property": {
            "key": "a",
            "kind": "update_property",
            "field": "city",
            "value": "Roma",
        },
    }
    for kind, step in samples.items():
        form_class = builder.STEP_FORMS[kind]
        unbound = form_class(choices=choices, step=step)
        data = {}
        for name, field in unbound.fields.items():
            value = unbound.initial.get(name, field.initial)
            if value is not None:
                data[name] = value
        bound = form_class(data, choices=choices, step=step)
        assert bound.is_valid(), (kind, bound.errors)
        assert bound.to_step("a") == step, kind
    assert set(builder.STEP_FORMS) >= set(
        ["send_email", "wait", "update_property", "branch", "split", "add_to_list",
         "remove_from_list", "change_stage", "notify", "enrol_in_workflow", "exit"]
    )  # fmt: skip


@pytest.mark.django_db
def test_live_counts_and_the_replay_panel(client, officina, giulia, templates, person):
    client.force_login(giulia)
    workflow = services.workflow_create(
        workspace=officina, actor=giulia, definition={**NEW_CONTACT, "trigger": {"kind": "manual"}}
    )
    workflow = services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    anna = person("anna@example.it", "Anna")
    services.workflow_enrol_ids(
        workspace=officina, actor=giulia, workflow=workflow, contact_ids=[anna.pk], source="api"
    )
    services.workflows_run_due(workspace=officina)
    page = client.get(f"/workflows/{workflow.pk}/builder/").content.decode()
    second = page.split('data-step="secondo"')[1].split("</li>")[0]
    assert "1 waiting here" in second
    counts = client.get(f"/workflows/{workflow.pk}/builder/counts/").content.decode()
    assert counts.count('hx-swap-oob="true"') == 8 and "1 waiting here" in counts
    replay = client.post(f"/workflows/{workflow.pk}/builder/replay/", {"days": "90"})
    assert replay.status_code == 200
    text = replay.content.decode()
    assert 'data-testid="replay-entered">0<' in text
    assert "no one would have entered by themselves" in text
    bad = client.post(f"/workflows/{workflow.pk}/builder/replay/", {"days": "0"})
    assert "days: a whole number from 1 to 365" in bad.content.decode()


@pytest.mark.django_db
def test_conversion_by_path_of_a_split(client, officina, giulia, person, giulia_token):
    definition = {
        "name": "A/B",
        "trigger": {"kind": "manual"},
        "steps": [
            {
                "key": "ab",
                "kind": "split",
                "paths": [
                    [{"key": "cliente", "kind": "change_stage", "stage": "customer"}],
                    [{"key": "niente", "kind": "wait", "minutes": 0}],
                ],
            },
            {"key": "fine", "kind": "wait", "minutes": 0},
        ],
        "goal": {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
    }
    workflow = services.workflow_create(workspace=officina, actor=giulia, definition=definition)
    workflow = services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    people = [person(f"p{n}@example.it") for n in range(8)]
    services.workflow_enrol_ids(
        workspace=officina, actor=giulia, workflow=workflow,
        contact_ids=[p.pk for p in people], source="api",
    )  # fmt: skip
    services.workflows_run_due(workspace=officina)
    first = sum(1 for p in people if services.split_path(p.pk, workflow.pk, [1, 1]) == 0)
    body = client.get(
        f"/api/v1/workflows/{workflow.pk}", headers={"Authorization": f"Bearer {giulia_token}"}
    ).json()
    conversion = {row["path"]: row for row in body["conversion"]}
    assert conversion["path-1"]["took"] == first and conversion["path-1"]["goal_reached"] == first
    assert conversion["path-2"]["took"] == 8 - first
    assert conversion["path-2"]["goal_reached"] == 0
    assert conversion["path-2"]["completed"] == 8 - first
    assert body["stats"]["goal_reached"] == first and body["stats"]["enrolled"] == 8
    client.force_login(giulia)
    page = client.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "Conversion by path" in page and 'data-path="ab/path-1"' in page
