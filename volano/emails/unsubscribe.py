"""Unsubscribing and the preference centre: a consent change with its proof (when, from which
IP, which message) through the contacts domain's consent service, and a timeline event."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.contacts.models import ConsentStatus, Contact, Purpose
from volano.contacts.selectors import contact_consents
from volano.core.facts import EventsAppended
from volano.core.reactions import announce
from volano.emails.models import Delivery
from volano.events.models import Channel, Event, EventType


def _proof(delivery: Delivery, how: str) -> str:
    return f"{how}; message {delivery.message_id or delivery.pk}; mailing {delivery.mailing_id}"


def delivery_unsubscribe(*, delivery: Delivery, ip: str | None, how: str) -> bool:
    """Revoke the contact's email_marketing consent because of this message (one-click POST or
    the page's button). Idempotent; True when the contact was subscribed until now."""
    workspace = delivery.mailing.workspace
    contact = Contact.objects.for_workspace(workspace).get(pk=delivery.contact_id)
    with transaction.atomic():
        current = contact_consents(workspace=workspace, contact=contact)
        consent = current.get(Purpose.EMAIL_MARKETING)
        if consent is not None and consent.status == ConsentStatus.REVOKED:
            return False
        contact_services.consent_set(
            workspace=workspace,
            actor=None,
            contact=contact,
            purpose=Purpose.EMAIL_MARKETING,
            status=ConsentStatus.REVOKED,
            source="email:unsubscribe",
            ip=ip,
            proof=_proof(delivery, how),
        )
        Event.objects.create(
            workspace=workspace,
            contact_id=contact.pk,
            type=EventType.EMAIL_UNSUBSCRIBED,
            occurred_at=timezone.now(),
            channel=Channel.EMAIL,
            source="volano",
            campaign=delivery.mailing.campaign[:100],
            properties={"delivery": delivery.pk, "mailing": delivery.mailing_id, "how": how},
        )
        announce(
            EventsAppended(
                workspace_id=workspace.pk,
                contact_ids={contact.pk},
                event_types={EventType.EMAIL_UNSUBSCRIBED},
            )
        )
    return True


def delivery_preferences_set(
    *, delivery: Delivery, wanted: dict[str, bool], ip: str | None
) -> None:
    """The preference centre: one consent per purpose, granted or revoked as ticked."""
    workspace = delivery.mailing.workspace
    contact = Contact.objects.for_workspace(workspace).get(pk=delivery.contact_id)
    current = contact_consents(workspace=workspace, contact=contact)
    for purpose in Purpose.values:
        if purpose not in wanted:
            continue
        status = ConsentStatus.GRANTED if wanted[purpose] else ConsentStatus.REVOKED
        consent = current.get(purpose)
        if consent is not None and consent.status == status:
            continue
        if consent is None and status == ConsentStatus.REVOKED:
            continue
        if purpose == Purpose.EMAIL_MARKETING and status == ConsentStatus.REVOKED:
            delivery_unsubscribe(delivery=delivery, ip=ip, how="preference centre")
            continue
        contact_services.consent_set(
            workspace=workspace,
            actor=None,
            contact=contact,
            purpose=purpose,
            status=status,
            source="email:preferences",
            ip=ip,
            proof=_proof(delivery, "preference centre"),
        )
