"""Identity resolution: from an anonymous website visitor to a known contact."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from volano.contacts.models import Contact
from volano.core.facts import EventsAppended
from volano.core.models import Workspace
from volano.core.reactions import announce
from volano.events.models import Event, Visitor


def visitor_identify(*, workspace: Workspace, anonymous_id: str, contact: Contact) -> int:
    """Link the visitor to the contact and give the contact every earlier anonymous hit.

    The hits move with one set-based UPDATE; hits that already belong to a contact (someone else
    on a shared computer, identified before) stay where they are. From now on the collect
    endpoint finds the contact through the Visitor row. Returns how many hits moved.
    """
    if contact.workspace_id != workspace.pk:
        raise ValueError("the contact belongs to another workspace")
    now = timezone.now()
    with transaction.atomic():
        visitor, created = Visitor.objects.for_workspace(workspace).get_or_create(
            anonymous_id=anonymous_id,
            defaults={"workspace": workspace, "contact": contact, "identified_at": now},
        )
        if not created and visitor.contact_id != contact.pk:
            visitor.contact = contact
            visitor.identified_at = now
            visitor.save(update_fields=["contact", "identified_at"])
        anonymous = Event.objects.for_workspace(workspace).filter(
            anonymous_id=anonymous_id, contact__isnull=True
        )
        types = set(anonymous.values_list("type", flat=True).distinct())
        moved = anonymous.update(contact=contact)
        if moved:  # the contact's timeline grew by its earlier visits
            announce(
                EventsAppended(
                    workspace_id=workspace.pk, contact_ids={contact.pk}, event_types=types
                )
            )
        return moved
