"""What the contacts domain does when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

from volano.contacts.merge import consent_wins
from volano.contacts.models import Consent
from volano.core.facts import ContactsMerging
from volano.core.reactions import reacts_to


@reacts_to(ContactsMerging, phase="transaction", handles=("contacts.Consent.contact",))
def consents_merge(fact: ContactsMerging) -> dict:
    """Per purpose, the most recent decision wins (on a tie, the more restrictive one)."""
    consents = Consent.objects.for_workspace(fact.workspace_id)
    mine = {c.purpose: c for c in consents.filter(contact_id=fact.survivor_id)}
    taken = []
    for theirs in consents.filter(contact_id__in=fact.duplicate_ids).order_by("recorded_at"):
        current = mine.get(theirs.purpose)
        if not consent_wins(current, theirs):
            continue
        if current is not None:
            current.delete()
        theirs.contact_id = fact.survivor_id
        theirs.save(update_fields=["contact"])
        mine[theirs.purpose] = theirs
        taken.append(theirs.purpose)
    return {"consents_taken": taken}
