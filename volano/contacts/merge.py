"""Merging a duplicate contact into a survivor, losing nothing.

The rule for conflicts (also in docs/contacts.md):
- a field keeps the survivor's value when it has one; an empty survivor field takes the duplicate's;
- tags are the union; custom fields: survivor's keys win, the duplicate's fill the gaps;
- consent, per purpose: the most recent decision wins (on a tie, the more restrictive one);
- company and owner: the survivor's, or the duplicate's when the survivor has none;
- every other row of the duplicate is moved by the domain that owns it, in the merge's
  transaction (a reaction to `ContactsMerging`): timeline events, website visitors, orders, deals,
  static-list and segment memberships, stage history and hand-off assignments move to the
  survivor; its scores are dropped and the survivor's are recomputed after commit, with its
  segments (a reaction to `ContactsMerged`);
- the oldest `created_at` is kept; the duplicate's email and id go into the `contact_merged` event.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from volano.contacts.models import Consent, ConsentStatus, Contact
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.facts import ContactMergeRecorded, ContactsMerged, ContactsMerging
from volano.core.models import Activity, User, Workspace
from volano.core.reactions import announce

MERGED_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "company_id",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "language",
    "owner_id",
    "source",
)
_RESTRICTIVENESS = {
    ConsentStatus.REVOKED: 3,
    ConsentStatus.DENIED: 2,
    ConsentStatus.PENDING: 1,
    ConsentStatus.GRANTED: 0,
}


def field_taken(survivor: Contact, duplicate: Contact, name: str) -> bool:
    """The rule for one field: an empty survivor field takes the duplicate's value."""
    return not getattr(survivor, name) and bool(getattr(duplicate, name))


def consent_wins(current: Consent | None, theirs: Consent | None) -> bool:
    """The rule for one purpose: does the duplicate's decision replace the survivor's?"""
    if theirs is None:
        return False
    if current is None or theirs.recorded_at > current.recorded_at:
        return True
    return (
        theirs.recorded_at == current.recorded_at
        and _RESTRICTIVENESS[ConsentStatus(theirs.status)]
        > _RESTRICTIVENESS[ConsentStatus(current.status)]
    )


def contact_merge(
    *, workspace: Workspace, actor: User | None, survivor: Contact, duplicate: Contact
) -> Contact:
    if survivor.pk == duplicate.pk:
        raise ApplicationError("cannot merge a contact into itself", field="duplicate_id")
    if survivor.workspace_id != workspace.pk or duplicate.workspace_id != workspace.pk:
        raise ApplicationError("both contacts must belong to this workspace", field="duplicate_id")

    with transaction.atomic():
        survivor = Contact.objects.for_workspace(workspace).select_for_update().get(pk=survivor.pk)
        duplicate = (
            Contact.objects.for_workspace(workspace).select_for_update().get(pk=duplicate.pk)
        )

        taken = []
        for name in MERGED_FIELDS:
            if field_taken(survivor, duplicate, name):
                setattr(survivor, name, getattr(duplicate, name))
                taken.append(name.removesuffix("_id"))
        survivor.tags = list(dict.fromkeys([*survivor.tags, *duplicate.tags]))
        survivor.custom = {**duplicate.custom, **survivor.custom}
        survivor.created_at = min(survivor.created_at, duplicate.created_at)
        survivor.updated_at = timezone.now()

        # Every domain moves (or drops) its own rows of the duplicate: events and visitors,
        # orders, deals, list and segment memberships, stage history, assignments, scores and
        # consents (each in its domain's reactions.py).
        moved = announce(
            ContactsMerging(
                workspace_id=workspace.pk, survivor_id=survivor.pk, duplicate_ids={duplicate.pk}
            )
        )

        duplicate_snapshot = {
            "id": duplicate.pk,
            "email": duplicate.email,
            "name": duplicate.full_name,
        }
        duplicate.delete()
        survivor.save()
        # The survivor's timeline says what the merge did (the events domain writes it).
        announce(
            ContactMergeRecorded(
                workspace_id=workspace.pk,
                survivor_id=survivor.pk,
                summary={
                    "duplicate": duplicate_snapshot,
                    "fields_taken": taken,
                    "consents_taken": moved.get("consents_taken", []),
                    "events_moved": moved.get("events_moved", 0),
                    "orders_moved": moved.get("orders_moved", 0),
                    "deals_moved": moved.get("deals_moved", 0),
                    "by": actor.email if actor else "api",
                },
            )
        )
        # The duplicate's change history reads on the survivor's page from now on.
        Activity.objects.for_workspace(workspace).filter(
            contact_id=duplicate_snapshot["id"]
        ).update(contact_id=survivor.pk)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="contact.merge",
            obj=survivor,
            contact_id=survivor.pk,
            changes={"duplicate_id": duplicate_snapshot["id"], "fields_taken": taken},
        )
        # What is derived from the survivor's data (segments, scores) follows after commit.
        announce(ContactsMerged(workspace_id=workspace.pk, survivor_ids={survivor.pk}))
    return survivor
