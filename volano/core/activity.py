"""The audit trail: every service that changes business data calls `activity_record` inside
its transaction, naming its actor (a user, or None for the system). Through the API the token
the user acted with comes from `volano.core.actors.current_token`.

`changes` is small: {field: [old, new]} for the fields actually changed (scalars as they are,
anything else as text), or counts for a bulk operation ({"contacts": 1200}). Never secrets:
callers pass business fields only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from volano.core.actors import current_token
from volano.core.models import Activity, ActorKind, User, Workspace

SCALARS = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> Any:
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, (list, tuple, set)) and all(isinstance(v, SCALARS) for v in value):
        return list(value)
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def changes_between(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields of `after` whose value differs from `before`."""
    return {
        key: [_jsonable(before.get(key)), _jsonable(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def activity_record(
    *,
    workspace: Workspace,
    actor: User | None,
    verb: str,
    obj: Any = None,
    object_type: str = "",
    object_id: int | None = None,
    contact_id: int | None = None,
    changes: dict | None = None,
) -> Activity:
    """Write one activity row (call it inside the service's transaction.atomic())."""
    token = current_token.get()
    if token is not None and (
        actor is None or token.user_id != actor.pk or token.workspace_id != workspace.pk
    ):
        token = None  # the system acting during an API request, or a token of someone else
    if obj is not None:
        object_type = object_type or obj._meta.label_lower.split(".")[-1]
        object_id = object_id if object_id is not None else obj.pk
    kind = ActorKind.TOKEN if token else ActorKind.USER if actor else ActorKind.SYSTEM
    label = actor.email if actor is not None else ""
    if token is not None:
        label = f"{label} ({token.name or token.prefix})"
    return Activity.objects.create(
        workspace=workspace,
        actor_user=actor,
        actor_token=token,
        actor_kind=kind,
        actor_label=label[:254],
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        contact_id=contact_id,
        changes=_jsonable(changes or {}),
    )


def activity_list(
    *,
    workspace: Workspace,
    contact_id: int | None = None,
    verb: str = "",
    actor_id: int | None = None,
) -> QuerySet[Activity]:
    """Recent activity of the workspace, newest first, optionally of one contact, one verb
    (or verb prefix ending in ".", e.g. "consent.") and one acting user."""
    rows = Activity.objects.for_workspace(workspace).select_related("actor_user", "actor_token")
    if contact_id is not None:
        rows = rows.filter(contact_id=contact_id)
    if verb:
        rows = rows.filter(verb__startswith=verb) if verb.endswith(".") else rows.filter(verb=verb)
    if actor_id is not None:
        rows = rows.filter(actor_user_id=actor_id)
    return rows.order_by("-created_at", "-pk")
