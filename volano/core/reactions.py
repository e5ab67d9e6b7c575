"""Facts and reactions: how the consequences of a change reach the domains that care.

A service that changes something announces a fact (`volano.core.facts`) and never calls another
domain to "refresh", "rescore" or "hand off". Each domain registers, in its own `reactions.py`
(loaded when the apps are ready), what it does about the facts it cares for:

    @reacts_to(ContactsChanged, phase="after_commit")
    def segments_follow_contacts(fact: ContactsChanged) -> None: ...

- phase "transaction": runs at once, inside the writer's transaction (every domain moves its own
  rows when contacts merge; a won deal makes its contact a customer). It fails with the writer.
- phase "after_commit": the fact is written to the outbox (`ReactionOutbox`) inside the writer's
  transaction, so it commits or rolls back with the change. On commit one task per outbox row
  runs the reactions and marks the row done; a row whose task was lost (a crash, a broker that
  dropped it) is still pending, and the sweeper enqueues it again (`outbox_redispatch`). So no
  reaction is lost, and a reaction may run twice: every reaction is idempotent.

Each announce writes one small outbox row; the rows of one transaction go to one task, which
merges facts of one type (their id sets unioned) before running the reactions, so a loop that
announces per contact still gets one set-based reaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from volano.core.facts import Fact, fact_from_payload
from volano.core.models import OutboxStatus, ReactionOutbox, Workspace

logger = logging.getLogger(__name__)

Phase = Literal["transaction", "after_commit"]
TRANSACTION: Phase = "transaction"
AFTER_COMMIT: Phase = "after_commit"

# A pending row whose task has not claimed it this long after it was dispatched is dispatched
# again; a running row whose task has not finished in STALLED_AFTER is taken back.
REDISPATCH_AFTER = dt.timedelta(minutes=1)
STALLED_AFTER = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5
TASK_ROWS = 2_000  # outbox rows per task (their ids are the task's argument)
KEEP_DONE = dt.timedelta(days=7)


@dataclass(frozen=True)
class Reaction:
    fact_type: type[Fact]
    phase: Phase
    func: Callable[[Any], Any]
    # For ContactsMerging: the foreign keys to Contact this reaction moves ("deals.Deal.contact").
    handles: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def domain(self) -> str:
        return self.func.__module__.split(".")[1]


_REACTIONS: dict[type[Fact], list[Reaction]] = defaultdict(list)


def reacts_to(
    fact_type: type[Fact], *, phase: Phase, handles: tuple[str, ...] = ()
) -> Callable[[Callable], Callable]:
    """Register the decorated function as a reaction to `fact_type`."""
    if phase not in (TRANSACTION, AFTER_COMMIT):
        raise ValueError(f"unknown phase {phase!r}")
    if phase == AFTER_COMMIT and fact_type.transaction_only:
        raise ValueError(f"{fact_type.__name__} is handled in the transaction only")

    def register(func: Callable) -> Callable:
        reaction = Reaction(fact_type=fact_type, phase=phase, func=func, handles=handles)
        known = _REACTIONS[fact_type]
        if all(r.name != reaction.name for r in known):
            known.append(reaction)
        return func

    return register


def workspace_of(fact: Fact) -> Workspace | None:
    """The fact's workspace (None once it was deleted: a reaction then has nothing to do)."""
    return Workspace.objects.filter(pk=fact.workspace_id).first()


def reactions_for(fact_type: type[Fact], phase: Phase | None = None) -> list[Reaction]:
    return [r for r in _REACTIONS.get(fact_type, []) if phase is None or r.phase == phase]


def reactions_all() -> list[Reaction]:
    return [r for reactions in _REACTIONS.values() for r in reactions]


def announce(fact: Fact) -> dict[str, Any]:
    """Announce `fact`: run its in-transaction reactions now, and leave it in the outbox for its
    after-commit ones. Returns what the in-transaction reactions returned (merged dicts)."""
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return announce(fact)
    results: dict[str, Any] = {}
    for reaction in reactions_for(type(fact), TRANSACTION):
        value = reaction.func(fact)
        if isinstance(value, dict):
            results.update(value)
    if reactions_for(type(fact), AFTER_COMMIT):
        _outbox_add(fact)
    return results


# -- the outbox, inside the writer's transaction ----------------------------------------------


@dataclass(eq=False)
class _Dispatch:
    """The outbox rows one transaction wrote. On commit it enqueues one task for all of them
    (in chunks), which merges their facts; it is registered again with every announce so that
    it always runs with the latest on-commit callbacks (tests capture those)."""

    row_ids: list[int] = field(default_factory=list)
    done: bool = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        _enqueue(self.row_ids)


def _open_dispatch() -> _Dispatch:
    """This transaction's dispatch: found among the connection's on-commit callbacks, which
    Django discards with a rolled-back transaction or savepoint, so a dispatch never outlives
    the transaction of its rows (a row id of a rolled-back savepoint is simply not found)."""
    connection = transaction.get_connection()
    for _sids, func, _robust in reversed(connection.run_on_commit):
        if isinstance(func, _Dispatch):
            if not func.done:
                return func
            break
    return _Dispatch()


def _outbox_add(fact: Fact) -> None:
    """One small row per announce (an INSERT, whatever the transaction announced before), so a
    loop of announces stays linear; the rows of a transaction are merged when they run."""
    if not fact.dispatch_needed():
        return
    dispatch = _open_dispatch()
    row = ReactionOutbox.objects.create(fact_type=fact.type_name, payload=fact.as_payload())
    dispatch.row_ids.append(row.pk)
    transaction.on_commit(dispatch)


def _enqueue(row_ids: list[int]) -> None:
    from volano.core.tasks import reactions_run_task  # (the task module imports this one)

    for start in range(0, len(row_ids), TASK_ROWS):
        part = row_ids[start : start + TASK_ROWS]
        try:
            reactions_run_task.enqueue(part)
        except Exception:  # the rows stay pending: the sweeper dispatches them again
            logger.exception("reactions: could not enqueue outbox rows %s…", part[0])


# -- running outbox rows (the task) and repairing lost ones (the sweeper) ---------------------


def outbox_run(*, outbox_ids: list[int], now: dt.datetime | None = None) -> int:
    """Claim the pending rows among `outbox_ids`, merge their facts (same type and fields: id
    sets unioned) and run each merged fact's after-commit reactions once (each reaction manages
    its own transactions, as a service does). Rows already done, or taken by another worker,
    are left alone. A reaction that fails leaves its rows pending for the sweeper, up to
    MAX_ATTEMPTS. Returns how many rows were claimed."""
    now = now or timezone.now()
    rows = ReactionOutbox.objects.filter(pk__in=outbox_ids)
    # One UPDATE claims; the rows it claimed are those it stamped with this very moment.
    rows.filter(status=OutboxStatus.PENDING).update(
        status=OutboxStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    claimed = list(rows.filter(status=OutboxStatus.RUNNING, claimed_at=now).order_by("pk"))
    merged: dict[tuple, tuple[Fact, list[ReactionOutbox]]] = {}
    for row in claimed:
        fact = fact_from_payload(row.fact_type, row.payload)
        key = fact.merge_key()
        if key in merged:
            previous, group = merged[key]
            merged[key] = (previous.merged_with(fact), [*group, row])
        else:
            merged[key] = (fact, [row])
    for fact, group in merged.values():
        failures = []
        for reaction in reactions_for(type(fact), AFTER_COMMIT):
            try:
                reaction.func(fact)
            except Exception as error:
                logger.exception("reactions: %s failed on %s", reaction.name, fact.type_name)
                failures.append(f"{reaction.name}: {error!r}"[:500])
        ids = [row.pk for row in group]
        if failures:
            why = "\n".join(failures)
            retry = [row.pk for row in group if row.attempts < MAX_ATTEMPTS]
            ReactionOutbox.objects.filter(pk__in=retry).update(
                status=OutboxStatus.PENDING, last_error=why
            )
            ReactionOutbox.objects.filter(pk__in=ids).exclude(pk__in=retry).update(
                status=OutboxStatus.FAILED, last_error=why
            )
        else:
            ReactionOutbox.objects.filter(pk__in=ids).update(
                status=OutboxStatus.DONE, done_at=timezone.now(), last_error=""
            )
    return len(claimed)


def outbox_redispatch(*, now: dt.datetime | None = None, limit: int = 5_000) -> int:
    """The sweeper's pass: rows still pending a minute after they were dispatched (the task was
    lost) or running for too long (the worker died) are dispatched again, together in one task
    (their facts merge). Returns how many."""
    now = now or timezone.now()
    lost = Q(status=OutboxStatus.PENDING) & (
        Q(claimed_at__lt=now - REDISPATCH_AFTER)
        | Q(claimed_at__isnull=True, created_at__lt=now - REDISPATCH_AFTER)
    )
    stalled = Q(status=OutboxStatus.RUNNING, claimed_at__lt=now - STALLED_AFTER)
    ids = list(
        ReactionOutbox.objects.filter(lost | stalled)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        # Stamped with this moment: the rows another sweeper took meanwhile are not ours.
        ReactionOutbox.objects.filter(Q(pk__in=ids) & (lost | stalled)).update(
            status=OutboxStatus.PENDING, claimed_at=now
        )
        again = list(
            ReactionOutbox.objects.filter(
                pk__in=ids, status=OutboxStatus.PENDING, claimed_at=now
            ).values_list("pk", flat=True)
        )
        if again:
            transaction.on_commit(functools.partial(_enqueue, again))
    ReactionOutbox.objects.filter(status=OutboxStatus.DONE, done_at__lt=now - KEEP_DONE).delete()
    if again:
        logger.warning("sweeper: %s reaction outbox rows dispatched again", len(again))
    return len(again)
