"""Triggers reach the engine the way segments and scoring hear of a change: facts after commit,
through the outbox and the worker."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.lifecycle.services import stage_set
from volano.segments import services as segment_services
from volano.workflows import services
from volano.workflows.models import Enrolment, StepRun


def _published(officina, giulia, trigger, steps):
    workflow = services.workflow_create(
        workspace=officina,
        actor=giulia,
        definition={"name": f"Su {trigger['kind']}", "trigger": trigger, "steps": steps},
    )
    return services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)


@pytest.mark.django_db(transaction=True)
def test_entering_a_segment_starts_the_workflow_and_leaving_another(officina, giulia):
    segment_services.segment_save(
        workspace=officina, actor=giulia, slug="bergamaschi", name="Bergamaschi",
        definition={"field": "city", "op": "eq", "value": "Bergamo"},
    )  # fmt: skip
    _published(
        officina, giulia, {"kind": "segment_entered", "segment": "bergamaschi"},
        [{"key": "segna", "kind": "update_property", "field": "job_title", "value": "Bergamasco"}],
    )  # fmt: skip
    _published(
        officina, giulia, {"kind": "segment_left", "segment": "bergamaschi"},
        [{"key": "via", "kind": "update_property", "field": "source", "value": "trasferito"}],
    )  # fmt: skip
    anna = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "anna@example.it", "city": "Bergamo"}
    )
    contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "luca@example.it", "city": "Brescia"}
    )
    worker_run_once()
    titles = dict(Contact.objects.for_workspace(officina).values_list("email", "job_title"))
    assert titles == {"anna@example.it": "Bergamasco", "luca@example.it": ""}

    contact_services.contact_update(
        workspace=officina, actor=giulia, contact=anna, data={"city": "Milano"}
    )
    worker_run_once()
    anna.refresh_from_db()
    assert anna.source == "trasferito"
    assert Enrolment.objects.for_workspace(officina).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_stage_change_starts_the_workflow_of_that_stage_only(officina, giulia, marco):
    _published(
        officina, giulia, {"kind": "stage_changed", "stage": "customer"},
        [{"key": "avvisa", "kind": "notify", "to": "marco@officinarossi.it",
          "title": "Nuovo cliente"}],
    )  # fmt: skip
    anna = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "anna@example.it"}
    )
    stage_set(workspace=officina, actor=giulia, contact=anna, stage="mql")
    worker_run_once()
    assert not Enrolment.objects.for_workspace(officina).exists()
    stage_set(workspace=officina, actor=giulia, contact=anna, stage="customer")
    worker_run_once()
    from volano.notifications.models import Notification

    note = Notification.objects.for_workspace(officina).get(kind="workflow")
    assert note.recipient_id == marco.pk and note.title == "Nuovo cliente"
    assert "anna@example.it" in note.body
    run = StepRun.objects.for_workspace(officina).get()
    assert run.outcome == "notified"
