"""The reactions layer: in-transaction reactions fail with the writer, after-commit ones go through
the outbox, facts merge per transaction, and a lost dispatch is repaired by the sweeper."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from volano.conftest import worker_run_once
from volano.core import reactions
from volano.core.facts import Fact
from volano.core.models import OutboxStatus, ReactionOutbox
from volano.jobs.sweeper import Sweeper


@dataclass(frozen=True)
class ParcelShipped(Fact):
    """A fact of the tests' own, so the real reactions stay out of these tests."""

    contact_ids: frozenset[int] | None
    carrier: str = "bartolini"


SEEN: list[tuple[str, ParcelShipped]] = []
FAIL: list[bool] = []


@pytest.fixture
def parcel_reactions():
    """Two reactions to ParcelShipped, one per phase, removed again after the test."""

    def in_transaction(fact: ParcelShipped) -> dict:
        SEEN.append(("transaction", fact))
        return {"labels_printed": len(fact.contact_ids or ())}

    def after_commit(fact: ParcelShipped) -> None:
        if FAIL:
            raise RuntimeError("the carrier's site is down")
        SEEN.append(("after_commit", fact))

    reactions.reacts_to(ParcelShipped, phase="transaction")(in_transaction)
    reactions.reacts_to(ParcelShipped, phase="after_commit")(after_commit)
    SEEN.clear()
    FAIL.clear()
    yield
    reactions._REACTIONS.pop(ParcelShipped, None)
    SEEN.clear()
    FAIL.clear()


def _after_commit_seen() -> list[ParcelShipped]:
    return [fact for phase, fact in SEEN if phase == "after_commit"]


def test_an_in_transaction_reaction_runs_at_once_and_rolls_back_with_the_writer(
    officina, parcel_reactions
):
    with pytest.raises(RuntimeError), transaction.atomic():
        result = reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[1, 2]))
        assert result == {"labels_printed": 2}
        assert [phase for phase, _ in SEEN] == ["transaction"]
        assert ReactionOutbox.objects.count() == 1
        raise RuntimeError("the writer fails after announcing")
    assert not ReactionOutbox.objects.exists()  # the outbox row went with the writer


@pytest.mark.django_db(transaction=True)
def test_the_facts_of_one_transaction_go_to_one_task_and_merge_into_one_reaction(
    officina, ferramenta, parcel_reactions
):
    with transaction.atomic():
        for contact_id in range(1, 1001):
            reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids={contact_id}))
        reactions.announce(ParcelShipped(workspace_id=ferramenta.pk, contact_ids={7}))
        reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids={5}, carrier="sda"))
    queued = DBTaskResult.objects.filter(task_path="volano.core.tasks.reactions_run_task")
    assert queued.count() == 1
    assert sorted(queued.get().args_kwargs["args"][0]) == sorted(
        ReactionOutbox.objects.values_list("pk", flat=True)
    )
    assert _after_commit_seen() == []  # nothing ran before the worker
    worker_run_once()
    seen = {(fact.workspace_id, fact.carrier): fact.contact_ids for fact in _after_commit_seen()}
    assert seen == {
        (officina.pk, "bartolini"): frozenset(range(1, 1001)),  # one set-based reaction
        (ferramenta.pk, "bartolini"): {7},
        (officina.pk, "sda"): {5},
    }
    assert len(_after_commit_seen()) == 3
    assert set(ReactionOutbox.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}


def test_none_means_every_contact_and_wins_a_merge(officina, parcel_reactions):
    a = ParcelShipped(workspace_id=officina.pk, contact_ids={1})
    every = ParcelShipped(workspace_id=officina.pk, contact_ids=None)
    assert a.merged_with(every).contact_ids is None
    assert ParcelShipped.from_payload(a.as_payload()) == a


@pytest.mark.django_db(transaction=True)
def test_after_commit_reactions_run_in_the_worker_and_the_row_is_done(officina, parcel_reactions):
    with transaction.atomic():
        reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[3, 4]))
        reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[4, 5]))
    assert _after_commit_seen() == []
    worker_run_once()
    assert _after_commit_seen() == [ParcelShipped(workspace_id=officina.pk, contact_ids={3, 4, 5})]
    rows = list(ReactionOutbox.objects.all())
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.DONE, 1)}
    assert reactions.outbox_run(outbox_ids=[row.pk for row in rows]) == 0  # again: nothing
    assert len(_after_commit_seen()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_row_and_runs_nothing(officina, parcel_reactions):
    with pytest.raises(RuntimeError), transaction.atomic():
        reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[3]))
        raise RuntimeError("rolled back")
    worker_run_once()
    assert not ReactionOutbox.objects.exists()
    assert _after_commit_seen() == []


@pytest.mark.django_db(transaction=True)
def test_a_fact_announced_again_after_its_savepoint_rolled_back_is_kept(officina, parcel_reactions):
    with transaction.atomic():
        try:
            with transaction.atomic():
                reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[1]))
                raise RuntimeError("this part is undone")
        except RuntimeError:
            pass
        reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[2]))
    worker_run_once()
    assert _after_commit_seen() == [ParcelShipped(workspace_id=officina.pk, contact_ids={2})]


@pytest.mark.django_db(transaction=True)
def test_a_lost_dispatch_is_repaired_by_the_sweeper(officina, parcel_reactions):
    """The change commits, then its task is lost (the worker crashed, the broker dropped it):
    the row is still pending, and the sweeper's next pass dispatches it again."""
    reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[8]))
    DBTaskResult.objects.all().delete()  # the dispatch is lost
    worker_run_once()
    assert _after_commit_seen() == []
    row = ReactionOutbox.objects.get()
    assert row.status == OutboxStatus.PENDING

    sweeper = Sweeper()
    assert sweeper.sweep(timezone.now())["reactions"] == 0  # too early: its task may be coming
    later = timezone.now() + dt.timedelta(minutes=2)
    assert sweeper.sweep(later)["reactions"] == 1
    worker_run_once()
    assert _after_commit_seen() == [ParcelShipped(workspace_id=officina.pk, contact_ids={8})]
    row.refresh_from_db()
    assert row.status == OutboxStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_a_failing_reaction_is_retried_by_the_sweeper_then_given_up(officina, parcel_reactions):
    FAIL.append(True)
    reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[9]))
    worker_run_once()
    row = ReactionOutbox.objects.get()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "the carrier's site is down" in row.last_error

    now = timezone.now()
    for _attempt in range(2, reactions.MAX_ATTEMPTS + 1):
        now += dt.timedelta(minutes=2)
        assert Sweeper().sweep(now)["reactions"] == 1
        worker_run_once()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, reactions.MAX_ATTEMPTS)
    assert Sweeper().sweep(now + dt.timedelta(minutes=2))["reactions"] == 0

    FAIL.clear()  # an operator may put a failed row back to pending once the cause is fixed
    ReactionOutbox.objects.filter(pk=row.pk).update(status=OutboxStatus.PENDING)
    assert reactions.outbox_run(outbox_ids=[row.pk]) == 1
    assert _after_commit_seen() == [ParcelShipped(workspace_id=officina.pk, contact_ids={9})]


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_died_while_running_a_row_is_taken_over(officina, parcel_reactions):
    reactions.announce(ParcelShipped(workspace_id=officina.pk, contact_ids=[10]))
    DBTaskResult.objects.all().delete()
    started = timezone.now()
    ReactionOutbox.objects.update(status=OutboxStatus.RUNNING, claimed_at=started, attempts=1)
    assert Sweeper().sweep(started + dt.timedelta(minutes=5))["reactions"] == 0
    assert Sweeper().sweep(started + reactions.STALLED_AFTER * 2)["reactions"] == 1
    worker_run_once()
    assert _after_commit_seen() == [ParcelShipped(workspace_id=officina.pk, contact_ids={10})]


def test_a_transaction_only_fact_refuses_an_after_commit_reaction():
    from volano.core.facts import ContactsMerging

    with pytest.raises(ValueError, match="in the transaction only"):
        reactions.reacts_to(ContactsMerging, phase="after_commit")
