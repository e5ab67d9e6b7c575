"""What the deals domain does when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

from volano.core.facts import ContactsMerging
from volano.core.reactions import reacts_to
from volano.deals.models import Deal


@reacts_to(ContactsMerging, phase="transaction", handles=("deals.Deal.contact",))
def deals_merge(fact: ContactsMerging) -> dict:
    """The duplicate's deals (open or closed) now belong to the survivor."""
    moved = (
        Deal.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    return {"deals_moved": moved}
