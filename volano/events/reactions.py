"""What the events domain does when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

import datetime as dt

from volano.core.facts import ConsentDecided, ContactMergeRecorded, ContactsMerging
from volano.core.models import Workspace
from volano.core.reactions import reacts_to
from volano.events.models import Event, EventType, Visitor
from volano.events.services import system_event_append


@reacts_to(
    ContactsMerging,
    phase="transaction",
    handles=("events.Event.contact", "events.Visitor.contact"),
)
def timeline_merge(fact: ContactsMerging) -> dict:
    """The duplicate's timeline and website visitors move to the survivor, one UPDATE each."""
    moved = (
        Event.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    Visitor.objects.for_workspace(fact.workspace_id).filter(
        contact_id__in=fact.duplicate_ids
    ).update(contact_id=fact.survivor_id)
    return {"events_moved": moved}


@reacts_to(ConsentDecided, phase="transaction")
def timeline_consent(fact: ConsentDecided) -> None:
    """A consent decision reads on the contact's timeline (`consent_changed`)."""
    system_event_append(
        workspace=Workspace.objects.get(pk=fact.workspace_id),
        contact_id=fact.contact_id,
        type=EventType.CONSENT_CHANGED,
        occurred_at=dt.datetime.fromisoformat(fact.at) if fact.at else None,
        properties={
            "purpose": fact.purpose,
            "from": fact.previous,
            "to": fact.status,
            "source": fact.source,
        },
    )


@reacts_to(ContactMergeRecorded, phase="transaction")
def timeline_merged(fact: ContactMergeRecorded) -> None:
    """A merge reads on the survivor's timeline (`contact_merged`, with what it took and moved)."""
    system_event_append(
        workspace=Workspace.objects.get(pk=fact.workspace_id),
        contact_id=fact.survivor_id,
        type=EventType.CONTACT_MERGED,
        properties=fact.summary,
    )
