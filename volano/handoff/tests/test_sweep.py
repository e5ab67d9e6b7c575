"""The SLA: a lead not accepted in time goes to the next rep once, then to the fallback owner."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from volano.contacts.models import Contact
from volano.handoff import services
from volano.handoff.models import Assignment
from volano.jobs.sweeper import Sweeper
from volano.notifications.tests.helpers import notes

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ROME)


@pytest.fixture
def sla(officina, paola):
    return services.handoff_settings_save(
        workspace=officina, actor=paola, data={"sla_hours": 3, "fallback_owner": paola.pk}
    )


def test_overdue_leads_are_reassigned_then_escalated(
    officina, sla, lombardia_rule, anna, marco, luca, paola
):
    first = services.lead_assign(
        workspace=officina, contact_id=anna.pk, product_line="ricambi", now=MONDAY_10
    )
    assert first.rep == marco and first.due_at == MONDAY_10 + dt.timedelta(hours=3)
    assert services.assignments_overdue_sweep(now=MONDAY_10 + dt.timedelta(hours=2)) == 0

    late = MONDAY_10 + dt.timedelta(hours=3, minutes=1)
    assert services.assignments_overdue_sweep(now=late) == 1
    first.refresh_from_db()
    assert first.status == "expired"
    second = Assignment.objects.for_workspace(officina).get(status="pending")
    assert second.rep == luca and second.previous == first and not second.escalated
    assert Contact.objects.for_workspace(officina).get(pk=anna.pk).owner == luca
    assert notes(officina, recipient=luca).count() == 1

    assert services.assignments_overdue_sweep(now=late + dt.timedelta(days=1)) == 1
    third = Assignment.objects.for_workspace(officina).get(status="pending")
    assert third.rep == paola and third.escalated and third.previous == second
    note = notes(officina).get(recipient=paola)
    assert note.title == "Lead escalated to you: Anna Bianchi (Ricambi)"
    assert "Luca Gallo did not accept it within 3 working hours." in note.body
    # escalated leads stay with the fallback owner
    assert services.assignments_overdue_sweep(now=late + dt.timedelta(days=30)) == 0


def test_with_no_other_rep_it_is_escalated_at_once(
    officina, giulia, sla, lines, marco, anna, paola
):
    services.assignment_rule_save(
        workspace=officina, actor=giulia, data={"name": "Solo Marco", "reps": [marco.pk]}
    )
    services.lead_assign(workspace=officina, contact_id=anna.pk, now=MONDAY_10)
    assert services.assignments_overdue_sweep(now=MONDAY_10 + dt.timedelta(days=2)) == 1
    escalated = Assignment.objects.for_workspace(officina).get(status="pending")
    assert escalated.rep == paola and escalated.escalated


def test_a_lead_that_moved_on_is_closed_not_reassigned(officina, sla, lombardia_rule, anna):
    services.lead_assign(
        workspace=officina, contact_id=anna.pk, product_line="ricambi", now=MONDAY_10
    )
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(lifecycle_stage="opportunity")
    assert services.assignments_overdue_sweep(now=MONDAY_10 + dt.timedelta(days=2)) == 1
    assert list(Assignment.objects.for_workspace(officina).values_list("status", flat=True)) == [
        "closed"
    ]


def test_the_sweeper_runs_the_sla_sweep(
    officina, sla, lombardia_rule, anna, django_capture_on_commit_callbacks
):
    services.lead_assign(
        workspace=officina,
        contact_id=anna.pk,
        product_line="ricambi",
        now=dt.datetime(2020, 1, 6, 10, 0, tzinfo=ROME),
    )
    Sweeper().sweep()
    assert Assignment.objects.for_workspace(officina).filter(status="expired").count() == 1
