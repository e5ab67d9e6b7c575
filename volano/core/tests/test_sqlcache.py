"""A compiled statement is reused with other ids, and gives what a fresh one gives."""

import datetime as dt

from django.db import connection

from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core.sqlcache import statement_cached, statement_cached_at


def test_the_statement_is_built_once_and_bound_to_each_call_s_ids(officina, giulia):
    people = [
        contact_create(workspace=officina, actor=giulia, data={"email": f"p{i}@x.it"})
        for i in range(3)
    ]
    builds = []

    def build(slots):
        builds.append(slots)
        query = Contact.objects.for_workspace(officina).filter(pk__in=slots).values_list("email")
        return query.query.sql_with_params()

    found = []
    for person in people:
        statement = statement_cached(("test-emails", officina.pk), 1, build)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.bind([person.pk]))
            found += [row[0] for row in cursor.fetchall()]
    assert found == ["p0@x.it", "p1@x.it", "p2@x.it"]
    assert len(builds) == 1
    two = statement_cached(("test-emails", officina.pk), 2, build)
    with connection.cursor() as cursor:
        cursor.execute(two.sql, two.bind([people[0].pk, people[2].pk]))
        assert sorted(row[0] for row in cursor.fetchall()) == ["p0@x.it", "p2@x.it"]
    assert len(builds) == 2


def test_a_statement_kept_across_moments_reads_each_call_s_own_now(officina, giulia):
    """Built once for the day, bound later with a later `now`: the window moves with it."""
    person = contact_create(workspace=officina, actor=giulia, data={"email": "win@x.it"})
    created = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC)
    Contact.objects.for_workspace(officina).filter(pk=person.pk).update(created_at=created)
    builds = []

    def build(slots, at):
        builds.append(at)
        query = (
            Contact.objects.for_workspace(officina)
            .filter(pk__in=slots, created_at__gte=at - dt.timedelta(hours=1))
            .values_list("email")
        )
        return query.query.sql_with_params()

    found = []
    for at in (created + dt.timedelta(minutes=30), created + dt.timedelta(minutes=90)):
        statement = statement_cached_at(("test-window", officina.pk), 1, at, build)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.bind([person.pk], at))
            found.append([row[0] for row in cursor.fetchall()])
    assert found == [["win@x.it"], []]  # an hour after it was created it is out of the window
    assert len(builds) == 2  # built at the first moment and probed once, then reused
    # the next day: built again (values computed from the day hold for one day)
    statement_cached_at(("test-window", officina.pk), 1, created + dt.timedelta(days=1), build)
    assert len(builds) == 4


def test_a_statement_whose_values_do_not_follow_now_is_kept_for_its_moment_only(officina):
    builds = []

    def build(slots, at):
        builds.append(at)
        start_of_hour = at.replace(minute=0, second=0, microsecond=0)
        query = Contact.objects.for_workspace(officina).filter(
            pk__in=slots, created_at__gte=start_of_hour
        )
        return query.values_list("email").query.sql_with_params()

    at = dt.datetime(2026, 6, 10, 8, 5, tzinfo=dt.UTC)
    statement_cached_at(("test-hour", officina.pk), 1, at, build)
    statement = statement_cached_at(
        ("test-hour", officina.pk), 1, at + dt.timedelta(hours=1), build
    )
    # built again for the later moment: its value is that hour's start, not the first one's
    assert len(builds) == 4
    assert dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC) in [
        _as_datetime(value) for value in statement.bind([1], at)
    ]


def _as_datetime(value):
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
