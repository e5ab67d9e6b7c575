"""What the events domain does when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

from volano.core.facts import ContactsMerging
from volano.core.reactions import reacts_to
from volano.events.models import Event, Visitor


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
