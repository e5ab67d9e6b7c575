"""Reads over the event store shared by the domains that react to new events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Max, QuerySet

from volano.core.models import Workspace
from volano.events.models import Channel, Event, EventType

ContactsByWorkspace = dict[int, tuple[set[int], set[str]]]


def contacts_with_new_events(
    *,
    after_event_id: int | None,
    limit: int = 50_000,
    sources: Iterable[str] | None = None,
    settled_before: dt.datetime | None = None,
) -> tuple[int, ContactsByWorkspace]:
    """The contacts with events stored after `after_event_id` (the next `limit` events, however
    far apart their ids are), by workspace, with the change tokens of their event types
    ("event:page_view").

    Walks the event primary key. It stops before the first event that arrived at or after
    `settled_before`: an id is taken when the row is inserted, so a row with a smaller id may
    still be committing; the cursor never passes a row that recent, and the next pass reads it.
    Returns the new cursor; with no cursor yet (None) it only finds the current last id.
    """
    events = Event.all_workspaces.all()
    if after_event_id is None:
        last = events.order_by("-pk").values_list("pk", flat=True).first()
        return last or 0, {}
    rows = events.filter(pk__gt=after_event_id)
    if sources is not None:
        rows = rows.filter(source__in=list(sources))
    last = after_event_id
    found: ContactsByWorkspace = {}
    for pk, workspace_id, contact_id, event_type, received_at in rows.order_by("pk").values_list(
        "pk", "workspace_id", "contact_id", "type", "received_at"
    )[:limit]:
        if settled_before is not None and received_at >= settled_before:
            break
        last = pk
        if contact_id is None:
            continue
        ids, types = found.setdefault(workspace_id, (set(), set()))
        ids.add(contact_id)
        types.add(f"event:{event_type}")
    return last, found


def last_activity_by_contact(*, workspace: Any, contact_ids: list[int]) -> dict[int, Any]:
    """{contact id: when the contact last did something} for a page of contacts: the newest
    event that is not Volano's own bookkeeping (score, stage and segment changes). One grouped
    query over the (contact, occurred_at) index, limited to these ids."""
    rows = (
        Event.objects.for_workspace(workspace)
        .filter(contact_id__in=contact_ids)
        .exclude(channel=Channel.SYSTEM)
        .values("contact_id")
        .annotate(last=Max("occurred_at"))
        .values_list("contact_id", "last")
    )
    return dict(rows)


def contact_timeline(*, workspace: Workspace, contact: Any) -> QuerySet[Event]:
    """The contact's events, newest first (served by the (contact, occurred_at) index)."""
    return (
        Event.objects.for_workspace(workspace)
        .filter(contact=contact)
        .order_by("-occurred_at", "-id")
    )


def contacts_imported_by(*, workspace: Workspace, job_id: int) -> QuerySet:
    """The contacts an import job created or updated (its `imported` timeline events), as a
    query of contact ids for `contact_list(within=…)`."""
    return (
        Event.objects.for_workspace(workspace)
        .filter(type=EventType.IMPORTED, properties__job=job_id)
        .values("contact_id")
    )
