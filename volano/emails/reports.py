"""What a mailing (or a broadcast's mailings) did, counted from its outbox rows and events.

Minimal version (session bcast): `mailings_report` with the keys the broadcasts API pins. The
reports session replaces this file with the full reports (hard/soft bounces, unique and total
clicks, revenue); the keys below and their meaning stay."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from volano.core.models import Workspace
from volano.emails.models import Delivery, DeliveryStatus, Mailing, SkipReason
from volano.events.models import Event, EventType


def mailings_report(*, workspace: Workspace, mailings: QuerySet[Mailing]) -> dict:
    """{"sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained",
    "skipped": {"no_consent", "suppressed", "capped", …}, "queued", "failed"} over the
    mailings' deliveries. sent: messages a server accepted (a later DSN bounce included);
    delivered: sent and not bounced since; bounced: refused at send time or bounced later;
    opened / clicked: contacts with a human open / click; unsubscribed / complained: contacts
    who did so from one of these messages."""
    mailing_ids = list(mailings.filter(workspace=workspace).values_list("pk", flat=True))
    rows = Delivery.objects.for_workspace(workspace).filter(mailing_id__in=mailing_ids)
    sent_q = Q(sent_at__isnull=False)
    totals = rows.aggregate(
        sent=Count("pk", filter=sent_q),
        delivered=Count("pk", filter=sent_q & ~Q(status=DeliveryStatus.BOUNCED)),
        bounced=Count("pk", filter=Q(status=DeliveryStatus.BOUNCED)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        queued=Count("pk", filter=Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED])),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
    )
    skipped = {reason: 0 for reason in SkipReason.values}
    for row in rows.filter(status=DeliveryStatus.SKIPPED).values("reason").annotate(n=Count("pk")):
        skipped[row["reason"]] = row["n"]
    events = Event.objects.for_workspace(workspace).filter(properties__mailing__in=mailing_ids)
    by_type = (
        events.filter(type__in=[EventType.EMAIL_UNSUBSCRIBED, EventType.EMAIL_COMPLAINED])
        .values("type")
        .annotate(n=Count("contact_id", distinct=True))
    )
    people = {row["type"]: row["n"] for row in by_type}
    return {
        **totals,
        "unsubscribed": people.get(EventType.EMAIL_UNSUBSCRIBED, 0),
        "complained": people.get(EventType.EMAIL_COMPLAINED, 0),
        "skipped": skipped,
    }
