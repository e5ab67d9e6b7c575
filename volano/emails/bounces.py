"""Bounces and complaints that come back after the send: delivery status notifications (RFC
3464, and the many non-standard formats flufl.bounce knows) and ARF complaint reports (RFC 5965)
read from the bounce mailbox over IMAP (`VOLANO_BOUNCE_IMAP_URL`, e.g.
`imaps://bounces:secret@mail.example.it:993/INBOX`).

A report is tied to its delivery by the original Message-ID it quotes (`<volano.<mailing>.
<delivery>@…>`, checked against the stored one), or else by the address's latest delivery.
Hard bounces and complaints suppress the address in that delivery's workspace; soft bounces
count, and suppress after SOFT_BOUNCES_IN_A_ROW in a row (a delivery resets the count)."""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import logging
import os
import re
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote, urlsplit

from django.db import transaction
from django.utils import timezone
from flufl.bounce import all_failures

from volano.core.facts import EventsAppended
from volano.core.reactions import announce
from volano.emails.models import Delivery, DeliveryStatus
from volano.emails.suppression import normalise, soft_bounce_record, suppression_add
from volano.events.models import Channel, Event, EventType

logger = logging.getLogger(__name__)

OUR_MESSAGE_ID = re.compile(r"<volano\.(\d+)\.(\d+)@[^>\s]+>")


@dataclass
class BounceResult:
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    unmatched: list[str] = field(default_factory=list)


def _delivery_for(raw: str, address: str | None) -> Delivery | None:
    for match in OUR_MESSAGE_ID.finditer(raw):
        delivery = (
            Delivery.all_workspaces.select_related("mailing")
            .filter(pk=int(match.group(2)), mailing_id=int(match.group(1)))
            .first()
        )
        if delivery is not None and delivery.message_id == match.group(0):
            return delivery
    if address:
        return (
            Delivery.all_workspaces.select_related("mailing")
            .filter(address__iexact=address, sent_at__isnull=False)
            .order_by("-sent_at")
            .first()
        )
    return None


def _event(delivery: Delivery, type: str, properties: dict) -> None:
    Event.objects.create(
        workspace_id=delivery.workspace_id,
        contact_id=delivery.contact_id,
        type=type,
        occurred_at=timezone.now(),
        channel=Channel.EMAIL,
        source="volano",
        campaign=delivery.mailing.campaign[:100],
        properties={"delivery": delivery.pk, "mailing": delivery.mailing_id, **properties},
    )
    announce(
        EventsAppended(
            workspace_id=delivery.workspace_id,
            contact_ids={delivery.contact_id},
            event_types={type},
        )
    )


def _is_complaint(message: Message) -> bool:
    return message.get_content_type() == "multipart/report" and (
        str(message.get_param("report-type") or "").lower() == "feedback-report"
    )


def _complaint_address(message: Message) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            text = "".join(str(p) for p in payload) if isinstance(payload, list) else str(payload)
            found = re.search(r"^Original-Rcpt-To:\s*(\S+)", text, re.MULTILINE | re.IGNORECASE)
            if found:
                return found.group(1).strip("<>")
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            found = re.search(r"^To:\s*.*?([\w.+-]+@[\w.-]+)", str(part), re.MULTILINE)
            if found:
                return found.group(1)
    return None


def bounce_message_handle(raw: bytes, *, source: str = "imap") -> BounceResult:
    """Read one report and act on it (idempotent: a report read twice suppresses once and
    counts its delivery once)."""
    result = BounceResult()
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    text = raw.decode("utf-8", errors="replace")
    if _is_complaint(message):
        address = _complaint_address(message)
        delivery = _delivery_for(text, address)
        if delivery is None:
            result.unmatched.append(address or "?")
            return result
        with transaction.atomic():
            suppression_add(
                workspace=delivery.mailing.workspace,
                address=delivery.address or address or "",
                reason="complaint",
                source=f"ARF report ({source}), mailing {delivery.mailing_id}",
            )
            _event(delivery, EventType.EMAIL_COMPLAINED, {"source": source})
        result.complaints += 1
        return result
    temporary, permanent = all_failures(message)
    for kind, addresses in (("hard", permanent), ("soft", temporary)):
        for value in addresses:
            address = normalise(value.decode() if isinstance(value, bytes) else str(value))
            delivery = _delivery_for(text, address)
            if delivery is None:
                result.unmatched.append(address)
                continue
            if delivery.bounce_kind == "hard" or (kind == "soft" and delivery.bounce_kind):
                continue  # this report (or a harder one) was read already
            with transaction.atomic():
                Delivery.all_workspaces.filter(pk=delivery.pk).update(
                    status=DeliveryStatus.BOUNCED, bounce_kind=kind, bounced_at=timezone.now()
                )
                if kind == "hard":
                    suppression_add(
                        workspace=delivery.mailing.workspace,
                        address=address,
                        reason="hard_bounce",
                        source=f"DSN ({source}), mailing {delivery.mailing_id}",
                    )
                    result.hard += 1
                else:
                    soft_bounce_record(
                        workspace=delivery.mailing.workspace,
                        address=address,
                        source=f"DSN ({source})",
                    )
                    result.soft += 1
                _event(delivery, EventType.EMAIL_BOUNCED, {"kind": kind, "source": source})
    return result


def bounces_poll(url: str | None = None) -> BounceResult:
    """Read every unseen message of the bounce mailbox, act on it, and mark it seen. Returns the
    totals; does nothing without `VOLANO_BOUNCE_IMAP_URL` (or `url`)."""
    url = url or os.environ.get("VOLANO_BOUNCE_IMAP_URL", "")
    total = BounceResult()
    if not url:
        return total
    parts = urlsplit(url)
    secure = parts.scheme == "imaps"
    port = parts.port or (993 if secure else 143)
    client = (
        imaplib.IMAP4_SSL(parts.hostname or "localhost", port, timeout=30)
        if secure
        else imaplib.IMAP4(parts.hostname or "localhost", port, timeout=30)
    )
    try:
        client.login(unquote(parts.username or ""), unquote(parts.password or ""))
        client.select(unquote(parts.path.strip("/")) or "INBOX")
        _, found = client.uid("SEARCH", "UNSEEN")
        for raw_uid in (found[0] or b"").split():
            uid = raw_uid.decode() if isinstance(raw_uid, bytes) else str(raw_uid)
            _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is None:
                continue
            try:
                result = bounce_message_handle(raw)
            except Exception:  # one unreadable report never stops the others
                logger.exception("bounce mailbox: message %s could not be read", uid)
                continue
            total.hard += result.hard
            total.soft += result.soft
            total.complaints += result.complaints
            total.unmatched += result.unmatched
            client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return total
