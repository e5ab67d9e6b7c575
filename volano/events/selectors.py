"""Reads over the event store shared by the domains that react to new events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Max

from volano.events.models import Channel, Event

ContactsByWorkspace = dict[int, tuple[set[int], set[str]]]


def contacts_with_new_events(
    *,
    after_event_id: int | None,
    limit: int = 50_000,
    exclude_types: Iterable[str] = (),
    sources: Iterable[str] | None = None,
) -> tuple[int, ContactsByWorkspace]:
    """The contacts with events stored after `after_event_id` (at most `limit` ids further),
    by workspace, with the change tokens of their event types ("event:page_view").

    Walks the event primary key (an index: `received_at` has none). Returns the new cursor;
    with no cursor yet (None) it only finds the current last id.
    """
    events = Event.all_workspaces.all()
    if after_event_id is None:
        last = events.order_by("-pk").values_list("pk", flat=True).first()
        return last or 0, {}
    window = events.filter(pk__gt=after_event_id, pk__lte=after_event_id + limit)
    last = window.order_by("-pk").values_list("pk", flat=True).first()
    if last is None:
        return after_event_id, {}
    rows = window.exclude(contact_id__isnull=True).exclude(type__in=list(exclude_types))
    if sources is not None:
        rows = rows.filter(source__in=list(sources))
    found: ContactsByWorkspace = {}
    for workspace_id, contact_id, event_type in rows.values_list(
        "workspace_id", "contact_id", "type"
    ).distinct():
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
