"""Provider webhooks through django-anymail: an ESP's tracking events feed bounces, complaints,
deliveries, opens and clicks (docs/emails.md, "Providers and their webhooks").

Anymail serves `/anymail/<esp>/tracking/` (Postmark, Mailgun, SendGrid, Brevo, …), checks the
HTTP basic-auth `WEBHOOK_SECRET` (a wrong one is a 400) and turns each ESP's payload into one
normalised `AnymailTrackingEvent`; `tracking_event_handle` (connected to anymail's `tracking`
signal in `emails/reactions.py`) finds the delivery and acts:

| anymail event | Volano |
|---|---|
| bounced, rejected (bounced or invalid address) | hard bounce: the delivery bounced, the address suppressed, an `email_bounced` event |
| complained | complaint: the address suppressed, an `email_complained` event |
| deferred | one more soft bounce in a row (suppressed after 3) |
| delivered | `delivered_at`, an `email_delivered` event, the soft-bounce count reset |
| opened, clicked | an `email_opened`/`email_clicked` event, only when Volano's own pixel or redirect recorded none for that delivery |
| unsubscribed | the contact's email-marketing consent revoked, as Volano's own unsubscribe does |

The delivery is found by the `volano_delivery` metadata every message carries (`build_message`),
else by the provider's message id, else by Volano's Message-ID. An event for a message Volano
does not know is logged and ignored; nothing here answers the provider with a 500 (it would
only send the same event again), except a database that is away: then the provider retries. Without a `WEBHOOK_SECRET` the URLs are a 404: an open
webhook would let anyone suppress addresses.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import Http404
from django.urls import URLPattern, path
from django.utils import timezone

from volano.core.facts import EventsAppended
from volano.core.permissions import public
from volano.core.reactions import announce
from volano.emails import tracking
from volano.emails.models import Delivery, DeliveryStatus
from volano.emails.suppression import soft_bounce_record, soft_bounces_reset, suppression_add
from volano.events.models import Channel, Event, EventType

logger = logging.getLogger(__name__)

METADATA_KEY = "volano_delivery"
HARD_REJECTS = {"bounced", "invalid"}


# -- the URLs ----------------------------------------------------------------------------------


def webhook_secret_set() -> bool:
    return bool((getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"))


def _guarded(view):
    """Anymail's view, answered only when a WEBHOOK_SECRET is configured (404 otherwise)."""

    @functools.wraps(view)  # keeps csrf_exempt and login_not_required
    def guarded(request, *args, **kwargs):
        if not webhook_secret_set():
            raise Http404("no anymail webhook secret configured")
        return view(request, *args, **kwargs)

    return public(guarded)


def urlpatterns() -> list[URLPattern]:
    """`anymail/<esp>/tracking/` for every ESP anymail knows (its tracking views only)."""
    from anymail import urls as anymail_urls

    patterns = []
    for entry in anymail_urls.urlpatterns:
        name = getattr(entry, "name", "") or ""
        route = str(entry.pattern)
        if isinstance(entry, URLPattern) and name.endswith("_tracking_webhook"):
            patterns.append(
                path(f"anymail/{route}", _guarded(entry.callback), name=f"anymail_{name}")
            )
    return patterns


# -- the events --------------------------------------------------------------------------------


def _delivery_for(event: Any) -> Delivery | None:
    metadata = getattr(event, "metadata", None) or {}
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    rows = Delivery.all_workspaces.select_related("mailing", "mailing__workspace")
    if raw is not None and str(raw).strip().isdigit():
        found = rows.filter(pk=int(str(raw).strip())).first()
        if found is not None:
            return found
    message_id = str(getattr(event, "message_id", "") or "").strip()
    if message_id:
        found = rows.filter(provider_message_id=message_id[:200]).first()
        if found is not None:
            return found
        bracketed = message_id if message_id.startswith("<") else f"<{message_id}>"
        return rows.filter(message_id=bracketed[:200]).first()
    return None


def _event(delivery: Delivery, type: str, esp: str, properties: dict | None = None) -> None:
    Event.objects.create(
        workspace_id=delivery.workspace_id,
        contact_id=delivery.contact_id,
        type=type,
        occurred_at=timezone.now(),
        channel=Channel.EMAIL,
        source=f"anymail:{esp}"[:60],
        campaign=delivery.mailing.campaign[:100],
        properties={"delivery": delivery.pk, "mailing": delivery.mailing_id, **(properties or {})},
    )
    announce(
        EventsAppended(
            workspace_id=delivery.workspace_id,
            contact_ids={delivery.contact_id},
            event_types={type},
        )
    )


def _has_event(delivery: Delivery, type: str) -> bool:
    return (
        Event.objects.for_workspace(delivery.workspace_id)
        .filter(contact_id=delivery.contact_id, type=type, properties__delivery=delivery.pk)
        .exists()
    )


def _address(delivery: Delivery, event: Any) -> str:
    return delivery.address or str(getattr(event, "recipient", "") or "")


def tracking_event_handle(event: Any, esp_name: str = "") -> str:
    """Act on one normalised anymail tracking event (idempotent: a provider that sends the
    same event again changes nothing more). Returns what was done, for logs and tests."""
    esp = (esp_name or "provider").lower()
    kind = str(getattr(event, "event_type", "") or "")
    delivery = _delivery_for(event)
    if delivery is None:
        logger.info(
            "anymail %s: %s for unknown message %r ignored",
            esp,
            kind,
            getattr(event, "message_id", None),
        )
        return "unknown"
    workspace = delivery.mailing.workspace
    reason = str(getattr(event, "reject_reason", "") or "")
    with transaction.atomic():
        if kind == "bounced" or (kind == "rejected" and reason in HARD_REJECTS):
            if delivery.bounce_kind == "hard":
                return "duplicate"
            Delivery.all_workspaces.filter(pk=delivery.pk).update(
                status=DeliveryStatus.BOUNCED, bounce_kind="hard", bounced_at=timezone.now()
            )
            suppression_add(
                workspace=workspace,
                address=_address(delivery, event),
                reason="hard_bounce",
                source=f"{esp} webhook ({kind}), mailing {delivery.mailing_id}",
            )
            _event(delivery, EventType.EMAIL_BOUNCED, esp, {"kind": "hard", "source": esp})
            return "hard_bounce"
        if kind == "complained":
            if _has_event(delivery, EventType.EMAIL_COMPLAINED):
                return "duplicate"
            suppression_add(
                workspace=workspace,
                address=_address(delivery, event),
                reason="complaint",
                source=f"{esp} webhook, mailing {delivery.mailing_id}",
            )
            _event(delivery, EventType.EMAIL_COMPLAINED, esp, {"source": esp})
            return "complaint"
        if kind == "deferred":
            soft_bounce_record(
                workspace=workspace,
                address=_address(delivery, event),
                source=f"{esp} webhook (deferred)",
            )
            return "soft_bounce"
        if kind == "delivered":
            changed = Delivery.all_workspaces.filter(
                pk=delivery.pk, delivered_at__isnull=True
            ).update(delivered_at=getattr(event, "timestamp", None) or timezone.now())
            soft_bounces_reset(workspace_id=delivery.workspace_id, addresses=[delivery.address])
            if changed:
                _event(delivery, EventType.EMAIL_DELIVERED, esp, {"source": esp})
                return "delivered"
            return "duplicate"
        if kind in ("opened", "clicked"):
            return _engagement(delivery, event, kind, esp)
        if kind == "unsubscribed":
            from volano.emails.unsubscribe import delivery_unsubscribe

            done = delivery_unsubscribe(delivery=delivery, ip=None, how=f"{esp} unsubscribe")
            return "unsubscribed" if done else "duplicate"
    return "ignored"


def _engagement(delivery: Delivery, event: Any, kind: str, esp: str) -> str:
    """A provider's open or click, kept only when Volano's own tracking saw none for this
    delivery (its pixel and redirect are the first source; the two would count one read twice)."""
    type = EventType.EMAIL_OPENED if kind == "opened" else EventType.EMAIL_CLICKED
    first_field = "opened_at" if kind == "opened" else "clicked_at"
    if getattr(delivery, first_field) is not None or _has_event(delivery, type):
        return "duplicate"
    agent = str(getattr(event, "user_agent", "") or "")
    now = timezone.now()
    label = (tracking.open_label if kind == "opened" else tracking.click_label)(
        user_agent=agent, ip=None, sent_at=delivery.sent_at, now=now
    )
    properties: dict[str, Any] = {"label": label, "source": esp}
    if kind == "clicked" and getattr(event, "click_url", None):
        properties["url"] = str(event.click_url)[:2000]
    _event(delivery, type, esp, properties)
    soft_bounces_reset(workspace_id=delivery.workspace_id, addresses=[delivery.address])
    if label == "human":
        Delivery.all_workspaces.filter(pk=delivery.pk, **{f"{first_field}__isnull": True}).update(
            **{first_field: now}
        )
    return kind


def tracking_signal_receiver(sender: Any, event: Any, esp_name: str = "", **kwargs: Any) -> None:
    """anymail's `tracking` signal: one event, never an exception back to the provider."""
    try:
        tracking_event_handle(event, esp_name)
    except DatabaseError:
        raise  # the database is away: a 500 makes the provider send it again later
    except Exception:  # a payload we cannot read would fail the same way every retry
        logger.exception("anymail %s: a tracking event could not be handled", esp_name)
