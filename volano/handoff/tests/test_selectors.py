"""The hand-off report: leads passed to sales, answers, acceptance rate, time to accept."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from volano.conftest import reactions_run_pending
from volano.handoff import selectors, services
from volano.handoff.models import Assignment
from volano.notifications import selectors as notification_selectors

from .conftest import sql_contact

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ROME)


def test_report_counts_answers_and_time_to_accept(officina, lombardia_rule, marco, luca, sara):
    leads = [sql_contact(officina, email=f"l{i}@c.it", province="MI") for i in range(4)]
    made = [
        services.lead_assign(
            workspace=officina, contact_id=c.pk, product_line="ricambi", now=MONDAY_10
        )
        for c in leads
    ]  # marco, luca, sara, marco
    services.assignment_accept(workspace=officina, actor=marco, assignment=made[0])
    services.assignment_accept(workspace=officina, actor=luca, assignment=made[1])
    services.assignment_reject(workspace=officina, actor=sara, assignment=made[2], reason="No")
    rows = Assignment.objects.for_workspace(officina)
    rows.filter(pk=made[0].pk).update(answered_at=MONDAY_10 + dt.timedelta(hours=1))
    rows.filter(pk=made[1].pk).update(answered_at=MONDAY_10 + dt.timedelta(hours=3))

    report = selectors.handoff_report(
        workspace=officina, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 2)
    )
    assert report["assigned"] == 4 and report["leads"] == 4
    assert (report["accepted"], report["rejected"], report["pending"]) == (2, 1, 1)
    assert report["acceptance_rate"] == round(2 / 3, 4)
    assert report["median_hours_to_accept"] == 2.0
    by_rep = {row["rep"]: row for row in report["by_rep"]}
    assert by_rep["marco@officinarossi.it"]["assigned"] == 2
    assert by_rep["marco@officinarossi.it"]["median_hours_to_accept"] == 1.0
    assert by_rep["sara@officinarossi.it"]["acceptance_rate"] == 0.0

    empty = selectors.handoff_report(
        workspace=officina, start=dt.date(2026, 3, 3), end=dt.date(2026, 3, 9)
    )
    assert empty["assigned"] == 0 and empty["acceptance_rate"] is None


def test_reads_stay_in_their_workspace(officina, ferramenta, lombardia_rule, anna, marco, bruno):
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    reactions_run_pending()  # the rep is notified after commit
    assert selectors.assignments_for(workspace=ferramenta).count() == 0
    assert notification_selectors.notifications_for(workspace=ferramenta, user=marco).count() == 0
    assert notification_selectors.unread_count(workspace=officina, user=marco) == 1
    assert list(selectors.assignment_rule_list(workspace=ferramenta)) == []
