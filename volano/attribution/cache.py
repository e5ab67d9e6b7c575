"""Attribution results kept ready: a report's credits are computed once per set of parameters
and kept (`CreditCache`) until something they read changes.

Currency: every write that changes an input announces a fact (events appended, a contact
created, a stage change, a deal or an order, a merge); `reactions.py` raises the workspace's
`InputsGeneration` after that write commits, and a kept result counts only while its
generation is the workspace's current one. A result is stamped with the generation read
*before* its inputs were read, so a change that commits during a computation leaves it stale,
never wrong. Channel rules are part of the signature (read on every request, a few rows).
Costs and campaign names are not kept: they are read on every request (one small query each).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

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
                seconds=time.perf_counter() - started,
            )
    except IntegrityError:  # the same report, kept meanwhile by another request
        pass
    return payload
