"""What the email domain does when other domains announce a change (volano/core/reactions.py),
and what it does with the tracking events of an anymail provider (its `tracking` signal)."""

from __future__ import annotations

from anymail.signals import tracking as anymail_tracking
from django.db.models import Count

from volano.core.facts import ConsentConfirmationRequested, ContactsMerging
from volano.core.reactions import reacts_to, workspace_of
from volano.emails import optin
from volano.emails.models import Delivery, DeliveryStatus, OptInConfirmation
from volano.emails.webhooks import tracking_signal_receiver


@reacts_to(ConsentConfirmationRequested, phase="after_commit")
def optin_confirmation_send(fact: ConsentConfirmationRequested) -> None:
    """A form asked for a consent with double opt-in: send the confirmation email (at most one
    per contact per resend window, so a second run of this reaction sends nothing)."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    optin.confirmation_request(
        workspace=workspace,
        contact_id=fact.contact_id,
        purpose=fact.purpose,
        form=fact.form,
        ip=fact.ip,
    )


@reacts_to(
    ContactsMerging,
    phase="transaction",
    handles=("emails.Delivery.contact", "emails.OptInConfirmation.contact"),
)
def deliveries_merge(fact: ContactsMerging) -> dict:
    """The duplicate's messages move to the survivor, so their history, the frequency cap and
    "never twice" still count them. A mailing both were written to keeps one row, the one that
    went furthest (a message already sent beats one still queued; the survivor's when both
    did): the person gets that message once. The duplicate's opt-in confirmations move too."""
    people = {fact.survivor_id, *fact.duplicate_ids}
    deliveries = Delivery.objects.for_workspace(fact.workspace_id).filter(contact_id__in=people)
    shared = (
        deliveries.values("mailing_id").annotate(n=Count("id")).filter(n__gt=1).values("mailing_id")
    )
    keep: dict[int, tuple[bool, bool, int]] = {}  # mailing → (went further, survivor's, id)
    drop: list[int] = []
    for row in deliveries.filter(mailing_id__in=shared).values(
        "id", "mailing_id", "contact_id", "status"
    ):
        rank = (
            row["status"] != DeliveryStatus.QUEUED,
            row["contact_id"] == fact.survivor_id,
            row["id"],
        )
        best = keep.get(row["mailing_id"])
        if best is None or rank[:2] > best[:2]:
            if best is not None:
                drop.append(best[2])
            keep[row["mailing_id"]] = rank
        else:
            drop.append(row["id"])
    Delivery.objects.for_workspace(fact.workspace_id).filter(pk__in=drop).delete()
    moved = (
        Delivery.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    OptInConfirmation.objects.for_workspace(fact.workspace_id).filter(
        contact_id__in=fact.duplicate_ids
    ).update(contact_id=fact.survivor_id)
    return {"deliveries_moved": moved} if moved else {}


anymail_tracking.connect(tracking_signal_receiver, dispatch_uid="volano.emails.anymail_tracking")
