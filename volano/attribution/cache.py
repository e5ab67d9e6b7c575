"""Attribution results kept ready: a report's credits are computed once per set of parameters
and kept (`CreditCache`) until something they read changes.

Currency: every write that changes an input announces a fact (events appended, a contact
created, a stage change, a deal or an order, a merge); `reactions.py` raises the workspace's
`InputsGeneration` after that write commits, and a kept result counts only while its
generation is the workspace's current one. A result is stamped with the generation read
*before* its inputs were read, so a change that commits during a computation leaves it stale,
never wrong. Channel rules are part of the signature (read on every request, a few rows).
Costs and campaign names are not kept: they are read on every request (one small query each).

A reader that must not wait (the ROI page and API under Markov, whose result is not additive
over days and takes tens of seconds at 1M contacts) asks `kept_or_stale`: a stale result is
given at once with the moment it was computed, and one background recomputation is enqueued
(`tasks.kept_report_refresh_task`) however many readers see it stale; the page polls until it is current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from volano.attribution.models import CreditCache, InputsGeneration
from volano.core.models import Workspace


def generation(workspace: Workspace | int) -> int:
    found = (
        InputsGeneration.objects.for_workspace(workspace).values_list("value", flat=True).first()
    )
    return int(found or 0)


def generation_raise(workspace: Workspace | int) -> None:
    """The inputs changed: every kept result of the workspace is stale from now on."""
    raised = InputsGeneration.objects.for_workspace(workspace).update(value=F("value") + 1)
    if raised:
        return
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    try:
        with transaction.atomic():
            InputsGeneration.objects.create(workspace_id=workspace_id, value=1)
    except IntegrityError:  # created meanwhile by another writer
        InputsGeneration.objects.for_workspace(workspace).update(value=F("value") + 1)


REFRESH_LEASE = dt.timedelta(minutes=10)  # a recomputation not done by then is enqueued again
# a stale result younger than this is given as it is, with no recomputation: while tracking
# appends touches all the time, a report that is looked at is computed again at most this often
REFRESH_EVERY = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Kept:
    """A kept result as `kept_or_stale` found it: `payload` None while the first computation
    runs in the background; `as_of` when its inputs were read; `stale`: inputs changed since;
    `refreshing`: a recomputation is enqueued or running (a reader may wait for it)."""

    payload: dict[str, Any] | None
    as_of: dt.datetime | None
    stale: bool
    refreshing: bool = False

    @property
    def computing(self) -> bool:
        return self.payload is None

    def state(self) -> dict[str, Any]:
        """What a reply says of it: `as_of` (ISO), `stale`, `refreshing`, `computing`."""
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "stale": self.stale,
            "refreshing": self.refreshing,
            "computing": self.computing,
        }


WAITS = ("always", "if_missing", "never")


def signature(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def kept(
    workspace: Workspace, params: dict[str, Any], compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The result for `params`: the kept one while it is current, else `compute()`d (and kept)."""
    key = signature(params)
    current = generation(workspace)
    row = (
        CreditCache.objects.for_workspace(workspace)
        .filter(signature=key, generation=current)
        .values_list("payload", flat=True)
        .first()
    )
    if row is not None:
        return row
    read_at = timezone.now()  # what "as of" means: the inputs as they were when read
    started = time.perf_counter()
    payload = compute()
    try:
        with transaction.atomic():
            CreditCache.objects.for_workspace(workspace).filter(signature=key).delete()
            CreditCache.objects.create(
                workspace=workspace,
                signature=key,
                params=json.loads(json.dumps(params, default=str)),
                generation=current,
                payload=payload,
                computed_at=read_at,
                seconds=time.perf_counter() - started,
            )
    except IntegrityError:  # the same report, kept meanwhile by another request
        pass
    return payload


def kept_or_stale(
    workspace: Workspace,
    params: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    refresh: Callable[[], None],
    wait_if_missing: bool = True,
) -> Kept:
    """The result for `params` without waiting for a recomputation: the kept one while it is
    current; a stale one as it is, `refresh()` being called (after commit) by the first reader
    to see it stale once it is `REFRESH_EVERY` old, or again once `REFRESH_LEASE` has passed
    without a current result. When nothing is kept: computed now (`wait_if_missing`), or
    `refresh()`ed and `payload` None."""
    key = signature(params)
    current = generation(workspace)
    row = (
        CreditCache.objects.for_workspace(workspace)
        .filter(signature=key)
        .values_list("payload", "generation", "computed_at", "refresh_enqueued_at")
        .first()
    )
    if row is not None and row[1] == current:
        return Kept(payload=row[0], as_of=row[2], stale=False)
    if row is None and wait_if_missing:
        payload = kept(workspace, params, compute)
        return Kept(payload=payload, as_of=timezone.now(), stale=False)
    now = timezone.now()
    if row is None:
        # a placeholder (generation -1: never current) that carries the refresh claim
        try:
            with transaction.atomic():
                CreditCache.objects.create(
                    workspace=workspace,
                    signature=key,
                    params=json.loads(json.dumps(params, default=str)),
                    generation=-1,
                    payload={},
                    computed_at=now,
                    refresh_enqueued_at=now,
                )
            transaction.on_commit(refresh)
        except IntegrityError:  # another reader placed it first: its refresh is enqueued
            pass
        return Kept(payload=None, as_of=None, stale=True, refreshing=True)
    payload, kept_generation, as_of, enqueued_at = row
    placeholder = kept_generation < 0  # the first computation is enqueued or running
    running = enqueued_at is not None and enqueued_at >= now - REFRESH_LEASE
    if not running and (placeholder or as_of <= now - REFRESH_EVERY):
        running = bool(
            CreditCache.objects.for_workspace(workspace)
            .filter(signature=key)
            .filter(
                Q(refresh_enqueued_at__isnull=True) | Q(refresh_enqueued_at__lt=now - REFRESH_LEASE)
            )
            .update(refresh_enqueued_at=now)
        )
        if running:
            transaction.on_commit(refresh)
    if placeholder:
        return Kept(payload=None, as_of=None, stale=True, refreshing=running)
    return Kept(payload=payload, as_of=as_of, stale=True, refreshing=running)


def waited(
    workspace: Workspace,
    params: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    wait: str,
    refresh: Callable[[], None],
) -> Kept:
    """The result for `params` as a reader's `wait` asks: "always" current (`kept`),
    "if_missing" and "never" without waiting for a recomputation (`kept_or_stale`)."""
    if wait not in WAITS:
        raise ValueError(f"wait must be one of {WAITS}")
    if wait == "always":
        return Kept(payload=kept(workspace, params, compute), as_of=timezone.now(), stale=False)
    return kept_or_stale(
        workspace, params, compute, refresh=refresh, wait_if_missing=wait == "if_missing"
    )
