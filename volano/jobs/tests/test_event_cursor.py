"""The sweeper's pass over tracked page views: its cursor is kept in the database (a restart
resumes), steps over any gap in the ids, never passes a hit that may still be committing, and
one sweeper works at a time however many workers run."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from volano.conftest import database_is_postgres
from volano.contacts.services import contact_create
from volano.core.models import ReactionOutbox
from volano.events.identity import visitor_identify
from volano.events.models import Event
from volano.events.services import SETTLE
from volano.events.tracking import Hit, hit_record
from volano.jobs.models import SweeperState
from volano.jobs.sweeper import CURSOR, LEASE, Sweeper

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(officina):
    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@agri.it"})
    visitor_identify(workspace=officina, anonymous_id="v-anna-0001", contact=anna)
    return anna


def page_view(workspace, n: int = 0) -> Event:
    hit = Hit(
        key=workspace.tracking_key,
        type="page_view",
        anonymous_id="v-anna-0001",
        hit_id=f"hit-{n}",
        url="https://officinarossi.it/prezzi",
    )
    hit_record(workspace_id=workspace.pk, hit=hit)
    return Event.objects.for_workspace(workspace).order_by("-pk").first()


def announced(contact) -> int:
    """How many EventsAppended facts name the contact's page views."""
    return sum(
        1
        for row in ReactionOutbox.objects.filter(fact_type="EventsAppended")
        if row.payload["event_types"] == ["page_view"] and contact.pk in row.payload["contact_ids"]
    )


def later(seconds: float = 0) -> dt.datetime:
    return timezone.now() + SETTLE + dt.timedelta(seconds=seconds)


def test_page_views_stored_while_the_worker_was_down_are_announced_after_a_restart(officina, anna):
    first = Sweeper()
    first.sweep(later())  # finds where the event store ends
    page_view(officina)  # the worker is down now
    restarted = Sweeper()  # a new process: nothing in memory
    assert restarted.sweep(later(LEASE.total_seconds()))["page_views"] == 1
    assert announced(anna) == 1
    assert restarted.sweep(later(LEASE.total_seconds() + 1))["page_views"] == 0  # once


def test_a_gap_of_more_than_fifty_thousand_ids_does_not_stall_the_pass(officina, anna):
    sweeper = Sweeper()
    sweeper.sweep(later())
    view = page_view(officina)
    # the ids between were taken by a batch that rolled back (PostgreSQL does not reuse them)
    SweeperState.objects.filter(name=CURSOR).update(event_cursor=view.pk - 60_000)
    assert sweeper.sweep(later(1))["page_views"] == 1
    assert SweeperState.objects.get(name=CURSOR).event_cursor == view.pk


def test_the_cursor_never_passes_a_hit_that_may_still_be_committing(officina, anna):
    sweeper = Sweeper()
    sweeper.sweep(later())
    before = SweeperState.objects.get(name=CURSOR).event_cursor
    view = page_view(officina)
    assert sweeper.sweep(view.received_at + SETTLE / 2)["page_views"] == 0  # too fresh
    assert SweeperState.objects.get(name=CURSOR).event_cursor == before
    assert sweeper.sweep(view.received_at + SETTLE * 2)["page_views"] == 1
    assert announced(anna) == 1


def test_one_sweeper_works_at_a_time_and_another_takes_over_when_it_stops(officina, anna):
    now = later()
    first, second = Sweeper(), Sweeper()
    first.sweep(now)  # takes the lease, finds where the event store ends
    assert not second.lease_take(now)
    page_view(officina)
    assert second.sweep(now + dt.timedelta(seconds=1)) == {
        "imports": 0,
        "reactions": 0,
        "page_views": 0,
    }
    assert first.sweep(now + dt.timedelta(seconds=2))["page_views"] == 1
    # the first one stops: once its lease has run out, the second sweeps
    assert not second.lease_take(now + LEASE / 2)
    assert second.lease_take(now + LEASE * 2)

    stop = threading.Event()
    stop.set()
    second.run_forever(interval=0, stop=stop)  # stopping gives the lease back at once
    assert first.lease_take(now + LEASE * 2)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_pass_skips_a_cursor_another_sweeper_has_locked(officina, anna):
    if not database_is_postgres():
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    sweeper = Sweeper()
    sweeper.sweep(later())
    page_view(officina)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                SweeperState.objects.select_for_update().get(name=CURSOR)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    try:
        assert sweeper.sweep(later(1))["page_views"] == 0  # skipped, not blocked
    finally:
        release.set()
        holder.join()
    assert sweeper.sweep(later(2))["page_views"] == 1
    assert connection.vendor == "postgresql"


def test_a_fresh_install_handles_page_views_stored_before_any_worker_ran(officina, anna):
    # the migration left the cursor at the install: the test database was empty then
    assert SweeperState.objects.get(name=CURSOR).event_cursor == 0
    page_view(officina)  # tracked before the first worker started
    assert Sweeper().sweep(later())["page_views"] == 1
    assert announced(anna) == 1


def test_with_the_cursor_row_gone_the_first_pass_reads_what_is_stored(officina, anna):
    SweeperState.objects.filter(name=CURSOR).delete()
    view = page_view(officina)
    assert Sweeper().sweep(later())["page_views"] == 1
    assert SweeperState.objects.get(name=CURSOR).event_cursor == view.pk


def test_an_upgraded_install_starts_at_its_last_event_and_does_not_replay_history(officina, anna):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("volano.jobs.migrations.0002_tasks_cursor_from_install")
    history = page_view(officina)  # stored by the version before the upgrade
    SweeperState.objects.filter(name=CURSOR).delete()
    migration.cursor_from_install(apps, None)
    assert SweeperState.objects.get(name=CURSOR).event_cursor == history.pk
    sweeper = Sweeper()
    assert sweeper.sweep(later())["page_views"] == 0  # the history is not announced again
    page_view(officina, 1)  # after the upgrade, with no worker yet
    assert sweeper.sweep(later(1))["page_views"] == 1
    assert announced(anna) == 1
