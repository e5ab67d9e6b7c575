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

Facts of one type announced in one transaction are merged into one outbox row (their id sets
unioned), so a loop that announces per contact still leaves one row and one set-based reaction.
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
    """The outbox rows one transaction wrote: {merge key: (row id, merged fact)}. It runs on
    commit (enqueues a task per row), and is registered again with every announce so that it
    always runs with the latest on-commit callbacks (tests capture those)."""

    rows: dict[tuple, tuple[int, Fact]] = field(default_factory=dict)
    done: bool = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        for row_id, _fact in self.rows.values():
            _enqueue(row_id)


def _open_dispatch() -> _Dispatch:
    """This transaction's dispatch: found among the connection's on-commit callbacks, which
    Django discards with a rolled-back transaction or savepoint, so a dispatch never outlives
    the rows it knows of (a row written in a rolled-back savepoint is written again)."""
    connection = transaction.get_connection()
    for _sids, func, _robust in reversed(connection.run_on_commit):
        if isinstance(func, _Dispatch):
            if not func.done:
                return func
            break
    return _Dispatch()


def _outbox_add(fact: Fact) -> None:
    dispatch = _open_dispatch()
    key = fact.merge_key()
    known = dispatch.rows.get(key)
    if known is not None:
        row_id, previous = known
        merged = previous.merged_with(fact)
        if ReactionOutbox.objects.filter(pk=row_id, status=OutboxStatus.PENDING).update(
            payload=merged.as_payload()
        ):
            dispatch.rows[key] = (row_id, merged)
            transaction.on_commit(dispatch)
            return
        # No row: it was rolled back with a savepoint, write it again. A row that is not
        # pending any more was run inside this very transaction (a test does that): the new
        # fact gets a row of its own.
        if not ReactionOutbox.objects.filter(pk=row_id).exists():
            fact = merged
    if not fact.dispatch_needed():
        return
    row = ReactionOutbox.objects.create(fact_type=fact.type_name, payload=fact.as_payload())
    dispatch.rows[key] = (row.pk, fact)
    transaction.on_commit(dispatch)


def _enqueue(row_id: int) -> None:
    from volano.core.tasks import reactions_run_task  # (the task module imports this one)

    try:
        reactions_run_task.enqueue(row_id)
    except Exception:  # the row stays pending: the sweeper dispatches it again
        logger.exception("reactions: could not enqueue outbox row %s", row_id)


# -- running an outbox row (the task) and repairing lost ones (the sweeper) -------------------


def outbox_run(*, outbox_id: int, now: dt.datetime | None = None) -> bool:
    """Claim a pending outbox row and run its fact's after-commit reactions (each manages its
    own transactions, as a service does). Returns False when the row was not pending (done, or another worker has it).
    A reaction that fails leaves the row pending for the sweeper, up to MAX_ATTEMPTS."""
    now = now or timezone.now()
    claimed = ReactionOutbox.objects.filter(pk=outbox_id, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    row = ReactionOutbox.objects.get(pk=outbox_id)
    fact = fact_from_payload(row.fact_type, row.payload)
    failures = []
    for reaction in reactions_for(type(fact), AFTER_COMMIT):
        try:
            reaction.func(fact)
        except Exception as error:
            logger.exception("reactions: %s failed on outbox row %s", reaction.name, outbox_id)
            failures.append(f"{reaction.name}: {error!r}"[:500])
    if failures:
        status = OutboxStatus.FAILED if row.attempts >= MAX_ATTEMPTS else OutboxStatus.PENDING
        ReactionOutbox.objects.filter(pk=outbox_id).update(
            status=status, last_error="\n".join(failures)
        )
    else:
        ReactionOutbox.objects.filter(pk=outbox_id).update(
            status=OutboxStatus.DONE, done_at=timezone.now(), last_error=""
        )
    return True


def outbox_redispatch(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The sweeper's pass: rows still pending a minute after they were dispatched (the task was
    lost) or running for too long (the worker died) are dispatched again. Returns how many."""
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
    again = 0
    for row_id in ids:
        with transaction.atomic():
            if ReactionOutbox.objects.filter(Q(pk=row_id) & (lost | stalled)).update(
                status=OutboxStatus.PENDING, claimed_at=now
            ):
                transaction.on_commit(functools.partial(_enqueue, row_id))
                again += 1
    ReactionOutbox.objects.filter(status=OutboxStatus.DONE, done_at__lt=now - KEEP_DONE).delete()
    if again:
        logger.warning("sweeper: %s reaction outbox rows dispatched again", again)
    return again
