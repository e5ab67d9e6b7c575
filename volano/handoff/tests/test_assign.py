"""Who gets a new SQL: round robin, capacity, absence, territory, fallback, nobody."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from volano.contacts.models import Contact
from volano.core.models import Membership
from volano.events.models import Event
from volano.handoff import services
from volano.handoff.models import Assignment
from volano.notifications import selectors as notification_selectors
from volano.notifications.tests.helpers import notes

from .conftest import sql_contact

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ROME)


def _leads(officina, n, **data):
    return [
        sql_contact(officina, email=f"lead{i}@cliente.it", first_name=f"Lead{i}", **data)
        for i in range(n)
    ]


def _assign(officina, contact, line="ricambi", why="Score above 60", now=MONDAY_10):
    return services.lead_assign(
        workspace=officina, contact_id=contact.pk, product_line=line, why=why, now=now
    )


def test_round_robin_over_three_reps(officina, lombardia_rule, marco, luca, sara):
    reps = [_assign(officina, c).rep for c in _leads(officina, 4, province="MI")]
    assert reps == [marco, luca, sara, marco]


def test_the_assigned_rep_owns_the_lead_and_the_timeline_says_so(
    officina, lombardia_rule, marco, anna
):
    assignment = _assign(officina, anna)
    assert assignment.rep == marco and assignment.rule == lombardia_rule
    assert assignment.status == "pending"
    assert Contact.objects.for_workspace(officina).get(pk=anna.pk).owner == marco
    event = Event.objects.for_workspace(officina).get(contact=anna, type="lead_assigned")
    assert event.properties == {
        "rep": "marco@officinarossi.it",
        "rule": "Lombardia ricambi",
        "product_line": "ricambi",
        "why": "Score above 60",
    }
    note = notes(officina).get(recipient=marco)
    assert note.title == "New qualified lead: Anna Bianchi (Ricambi)"
    assert note.url == f"/contacts/{anna.pk}/"


def test_a_lead_is_assigned_once(officina, lombardia_rule, anna):
    assert _assign(officina, anna) is not None
    assert _assign(officina, anna) is None
    assert Assignment.objects.for_workspace(officina).count() == 1


def test_only_sqls_are_assigned(officina, lombardia_rule, anna):
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(lifecycle_stage="mql")
    assert _assign(officina, anna) is None


def test_a_rep_at_capacity_is_skipped(officina, lombardia_rule, marco, luca, sara):
    Membership.objects.filter(user=luca).update(lead_capacity=1)
    reps = [_assign(officina, c).rep for c in _leads(officina, 5, province="MI")]
    assert reps == [marco, luca, sara, marco, sara]


def test_a_rep_away_today_is_skipped(officina, lombardia_rule, marco, luca, sara):
    Membership.objects.filter(user=marco).update(
        away_from=dt.date(2026, 3, 1), away_until=dt.date(2026, 3, 2)
    )
    reps = [_assign(officina, c).rep for c in _leads(officina, 3, province="MI")]
    assert reps == [luca, sara, luca]
    tuesday = MONDAY_10 + dt.timedelta(days=1)
    later = [sql_contact(officina, email=f"t{i}@cliente.it", province="MI") for i in range(2)]
    assert [_assign(officina, c, now=tuesday).rep for c in later] == [sara, marco]  # back


def test_cap_ranges_and_provinces_pick_their_rule(officina, giulia, lines, marco, luca, sara):
    services.assignment_rule_save(
        workspace=officina,
        actor=giulia,
        data={"name": "Milano centro", "cap_ranges": ["20121-20129"], "reps": [luca.pk]},
    )
    services.assignment_rule_save(
        workspace=officina,
        actor=giulia,
        data={"name": "Bergamo", "provinces": ["BG"], "reps": [sara.pk]},
    )
    services.assignment_rule_save(
        workspace=officina, actor=giulia, data={"name": "Resto d'Italia", "reps": [marco.pk]}
    )
    centro = sql_contact(officina, email="a@c.it", postal_code="20121")
    bergamo = sql_contact(officina, email="b@c.it", province="BG")
    monza = sql_contact(officina, email="c@c.it", postal_code="20900")
    assert _assign(officina, centro).rep == luca
    assert _assign(officina, bergamo).rep == sara
    assert _assign(officina, monza).rep == marco


def test_product_line_must_match(officina, lombardia_rule, paola, anna):
    services.handoff_settings_save(
        workspace=officina, actor=paola, data={"fallback_owner": paola.pk}
    )
    assignment = _assign(officina, anna, line="macchine")
    assert assignment.rep == paola and assignment.rule is None


def test_the_fallback_owner_takes_what_no_rep_can(officina, lombardia_rule, paola, anna):
    services.handoff_settings_save(
        workspace=officina, actor=paola, data={"fallback_owner": "paola@officinarossi.it"}
    )
    Membership.objects.filter(
        user__email__in=["marco@officinarossi.it", "luca@officinarossi.it", "sara@officinarossi.it"]
    ).update(lead_capacity=0)
    assignment = _assign(officina, anna)
    assert assignment.rep == paola
    event = Event.objects.for_workspace(officina).get(contact=anna, type="lead_assigned")
    assert event.properties["rule"] == ""


def test_nobody_to_assign_to_tells_the_admins(officina, giulia, lines, paola, anna):
    assert _assign(officina, anna) is None
    assert not Assignment.objects.for_workspace(officina).exists()
    note = notes(officina).get()
    assert note.recipient == paola
    assert note.title == "Lead could not be assigned: Anna Bianchi"
    assert "No active assignment rule covers Lombardia / MI / 20121" in note.body
    assert "ricambi" in note.body
    assert notification_selectors.unread_count(workspace=officina, user=paola) == 1


def test_due_time_counts_working_hours_only(officina, lombardia_rule, anna, paola):
    services.handoff_settings_save(
        workspace=officina, actor=paola, data={"sla_hours": 4, "work_start": 9, "work_end": 18}
    )
    friday_16 = dt.datetime(2026, 3, 6, 16, 0, tzinfo=ROME)
    assignment = _assign(officina, anna, now=friday_16)
    # 2 hours on Friday, then Monday 9:00 + 2 hours
    assert assignment.due_at == dt.datetime(2026, 3, 9, 11, 0, tzinfo=ROME)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (dt.datetime(2026, 3, 2, 7, 30), 3, dt.datetime(2026, 3, 2, 12, 0)),
        (dt.datetime(2026, 3, 2, 17, 0), 1, dt.datetime(2026, 3, 2, 18, 0)),
        (dt.datetime(2026, 3, 2, 17, 0), 2, dt.datetime(2026, 3, 3, 10, 0)),
        (dt.datetime(2026, 3, 7, 12, 0), 1, dt.datetime(2026, 3, 9, 10, 0)),
        (dt.datetime(2026, 3, 27, 17, 0), 9, dt.datetime(2026, 3, 30, 17, 0)),  # over DST
    ],
)
def test_working_hours_add(start, hours, due):
    result = services.working_hours_add(
        start=start.replace(tzinfo=ROME),
        hours=hours,
        time_zone="Europe/Rome",
        work_start=9,
        work_end=18,
    )
    assert result == due.replace(tzinfo=ROME)
