"""The rep accepts or rejects; rejected leads go back to nurturing as Recycled."""

from __future__ import annotations

import pytest

from volano.contacts.models import Contact
from volano.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from volano.events.models import Event
from volano.handoff import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(officina, lombardia_rule, anna):
    return services.lead_assign(
        workspace=officina, contact_id=anna.pk, product_line="ricambi", why="Score 72"
    )


def test_the_rep_accepts(officina, assignment, marco, anna):
    accepted = services.assignment_accept(workspace=officina, actor=marco, assignment=assignment)
    assert accepted.status == "accepted" and accepted.answered_at is not None
    event = Event.objects.for_workspace(officina).get(contact=anna, type="lead_accepted")
    assert event.properties["by"] == "marco@officinarossi.it"
    with pytest.raises(ApplicationError, match="not waiting for an answer any more"):
        services.assignment_accept(workspace=officina, actor=marco, assignment=accepted)


def test_reject_recycles_the_lead_with_the_reason_on_the_timeline(
    officina, assignment, marco, anna
):
    rejected = services.assignment_reject(
        workspace=officina, actor=marco, assignment=assignment, reason="Budget only next year"
    )
    assert rejected.status == "rejected" and rejected.reason == "Budget only next year"
    contact = Contact.objects.for_workspace(officina).get(pk=anna.pk)
    assert contact.lifecycle_stage == "recycled" and contact.owner is None
    events = {
        e.type: e.properties
        for e in Event.objects.for_workspace(officina).filter(
            contact=anna, type__in=["lifecycle_changed", "lead_rejected"]
        )
    }
    assert events["lead_rejected"]["reason"] == "Budget only next year"
    assert events["lifecycle_changed"]["to"] == "recycled"
    assert events["lifecycle_changed"]["source"] == "handoff"
    assert events["lifecycle_changed"]["reason"] == "Budget only next year"


def test_an_accepted_lead_can_still_be_rejected(officina, assignment, marco):
    services.assignment_accept(workspace=officina, actor=marco, assignment=assignment)
    rejected = services.assignment_reject(
        workspace=officina, actor=marco, assignment=assignment, reason="Not a real buyer"
    )
    assert rejected.status == "rejected"


def test_reject_needs_a_reason(officina, assignment, marco):
    with pytest.raises(ValidationFailed) as caught:
        services.assignment_reject(
            workspace=officina, actor=marco, assignment=assignment, reason=" "
        )
    assert caught.value.errors == [{"field": "reason", "message": "say why the lead is rejected"}]
    assignment.refresh_from_db()
    assert assignment.status == "pending"


def test_only_the_rep_or_an_admin_answers(officina, assignment, luca, giulia, paola):
    with pytest.raises(PermissionDenied):
        services.assignment_accept(workspace=officina, actor=luca, assignment=assignment)
    with pytest.raises(PermissionDenied):
        services.assignment_accept(workspace=officina, actor=giulia, assignment=assignment)
    assert (
        services.assignment_accept(workspace=officina, actor=paola, assignment=assignment).status
        == "accepted"
    )


def test_the_work_ends_when_the_lead_moves_on_and_a_new_qualification_is_handed_off_again(
    officina, assignment, marco, anna, giulia
):
    from volano.handoff.selectors import handoff_report
    from volano.lifecycle.services import stage_set

    services.assignment_accept(workspace=officina, actor=marco, assignment=assignment)
    stage_set(workspace=officina, actor=marco, contact=anna, stage="opportunity")
    assignment.refresh_from_db()
    assert assignment.status == "accepted"  # a deal is open: still the rep's lead
    stage_set(workspace=officina, actor=marco, contact=anna, stage="recycled", reason="deal lost")
    assignment.refresh_from_db()
    assert assignment.status == "closed"  # no longer fills marco's capacity
    stage_set(workspace=officina, actor=giulia, contact=anna, stage="sql")
    again = services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    assert again is not None and again.pk != assignment.pk
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    today = timezone.localtime(assignment.assigned_at, ZoneInfo(officina.time_zone)).date()
    report = handoff_report(workspace=officina, start=today, end=today)
    assert (report["assigned"], report["accepted"]) == (2, 1)


def test_the_answers_are_on_the_audit_trail(officina, assignment, marco, anna):
    from volano.core.models import Activity

    services.assignment_accept(workspace=officina, actor=marco, assignment=assignment)
    services.assignment_reject(
        workspace=officina, actor=marco, assignment=assignment, reason="Nessun budget"
    )
    rows = Activity.objects.for_workspace(officina).filter(contact_id=anna.pk, actor_user=marco)
    verbs = {row.verb: row.changes for row in rows}
    assert verbs["assignment.accept"]["status"] == ["pending", "accepted"]
    assert verbs["assignment.reject"]["status"] == ["accepted", "rejected"]
    assert verbs["stage.set"]["lifecycle_stage"][1] == "recycled"
