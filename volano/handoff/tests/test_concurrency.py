"""Two events for one lead at the same moment, or two workers, never assign it twice (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.handoff import services
from volano.handoff.models import Assignment
from volano.handoff.tasks import handoff_assign_task
from volano.lifecycle.services import stage_set
from volano.notifications.tests.helpers import notes

from .test_email import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(n, work):
    """Run `work()` in n threads released together; each thread has its own connection."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.fixture
def mql(officina):
    from volano.contacts import services as contact_services

    contact = contact_services.contact_create(
        workspace=officina,
        actor=None,
        data={
            "email": "anna.bianchi@cliente.it",
            "first_name": "Anna",
            "last_name": "Bianchi",
            "province": "MI",
        },
    )
    Contact.objects.for_workspace(officina).filter(pk=contact.pk).update(lifecycle_stage="mql")
    return contact


def test_two_events_and_two_workers_assign_one_lead_once(
    officina, giulia, lombardia_rule, mql, smtp
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")

    def qualify():
        return stage_set(
            workspace=officina,
            actor=giulia,
            contact=mql,
            stage="sql",
            product_line="ricambi",
            reason="Asked for a quote",
        )

    assert sorted(_in_threads(2, qualify)) == [False, True]

    def assign():
        return services.lead_assign(
            workspace=officina, contact_id=mql.pk, product_line="ricambi", why="Asked for a quote"
        )

    def worker_runs_the_task():
        handoff_assign_task.call(officina.pk, [mql.pk], "ricambi", "Asked for a quote")

    assigned = [a for a in _in_threads(3, assign) if a is not None]
    _in_threads(3, worker_runs_the_task)
    assert len(assigned) == 1
    # the hand-off task stage_set queued, then the email task: the lead is not assigned again
    worker_run_once()
    assert Assignment.objects.for_workspace(officina).count() == 1
    assert notes(officina).count() == 1
    wait_for(smtp)
    assert [m["To"] for m in smtp.messages] == ["marco@officinarossi.it"]


def test_two_leads_at_once_advance_the_round_robin_once_each(
    officina, lombardia_rule, marco, luca, sara
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    from .conftest import sql_contact

    leads = [sql_contact(officina, email=f"l{i}@c.it", province="MI") for i in range(3)]
    pending = list(leads)
    lock = threading.Lock()

    def assign():
        with lock:
            contact = pending.pop()
        return services.lead_assign(
            workspace=officina, contact_id=contact.pk, product_line="ricambi"
        )

    reps = {a.rep_id for a in _in_threads(3, assign)}
    assert reps == {marco.pk, luca.pk, sara.pk}
