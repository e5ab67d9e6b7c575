"""What the orders domain does when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

from volano.core.facts import ContactsMerging
from volano.core.reactions import reacts_to
from volano.orders.models import Order


@reacts_to(ContactsMerging, phase="transaction", handles=("orders.Order.contact",))
def orders_merge(fact: ContactsMerging) -> dict:
    moved = (
        Order.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    return {"orders_moved": moved}
