"""Writes to the event store (the append-only timeline)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from volano.core.models import Workspace
from volano.events.models import Channel, Event


def event_append(
    *,
    workspace: Workspace,
    type: str,
    contact_id: int | None = None,
    anonymous_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    channel: str = "",
    source: str = "",
    properties: dict | None = None,
) -> Event:
    """Append one event. Callers that change a contact call this inside their own transaction."""
    return Event.objects.create(
        workspace=workspace,
        contact_id=contact_id,
        anonymous_id=anonymous_id,
        type=type,
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        source=source,
        properties=properties or {},
    )


def system_event_append(
    *, workspace: Workspace, contact_id: int, type: str, properties: dict
) -> Event:
    """A change Volano itself made (a merge, a consent change): channel "system"."""
    return event_append(
        workspace=workspace,
        contact_id=contact_id,
        type=type,
        channel=Channel.SYSTEM,
        source="volano",
        properties=properties,
    )
