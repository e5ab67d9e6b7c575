"""Reports of sent mail: the figures of one mailing or of several (a broadcast with an A/B test
has one mailing per variant), the opens and clicks per hour since the send, and the click map.

Every figure is an aggregate query over the outbox (`Delivery`), the email events the tracking
endpoints, the unsubscribe page and the bounce reader write (`Event.properties` carries
`mailing` and `delivery`), and the workspace's orders: no Python loop over deliveries or
contacts. What each figure means (docs/emails.md, "Reports"):

- sent: messages the SMTP server accepted (a delivery with `sent_at`);
- delivered: sent and not bounced afterwards (a DSN); a 5xx at send time was never sent;
- bounced: hard (5xx at send time, or a permanent DSN) and soft (a temporary DSN);
- opened / clicked: contacts with a human open / click (the first one is on the delivery);
  opens by label (human, privacy proxy, scanner) and human clicks, unique and total, beside;
- unsubscribed: contacts who unsubscribed through one of these messages;
- complained: spam complaints (ARF reports) recorded for these deliveries;
- skipped: rows never sent, by reason (no consent, suppressed, capped, no or bad address);
- revenue: orders (not cancelled or refunded) of the contacts who clicked, dated within
  `revenue_days` days after their first human click.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone
from django.utils.html import escape

from volano.core.models import Workspace
from volano.emails import tracking
from volano.emails.models import Delivery, DeliveryStatus, Mailing, SkipReason
from volano.events.models import Event, EventType
from volano.orders.models import Order

REVENUE_DAYS = 7
TIMELINE_HOURS = 7 * 24  # the chart's span: the first week after the send
OPEN_LABELS = ("human", "privacy_proxy", "scanner")
NOT_REVENUE = ("cancelled", "canceled", "refunded")


def _ids(workspace: Workspace, mailings: QuerySet[Mailing]) -> list[int]:
    """The mailings' ids, only those of this workspace."""
    return list(
        Mailing.all_workspaces.filter(
            workspace=workspace, pk__in=mailings.values("pk")
        ).values_list("pk", flat=True)
    )


def _events(workspace: Workspace, ids: list[int], types: list[str]) -> QuerySet[Event]:
    """The email events of these mailings, through the (workspace, type, occurred_at) index:
    nothing about a mailing happens before it was created."""
    since = Mailing.all_workspaces.filter(pk__in=ids).aggregate(t=Min("created_at"))["t"]
    return Event.objects.for_workspace(workspace).filter(
        type__in=types,
        occurred_at__gte=since or timezone.now(),
        properties__mailing__in=ids,
    )


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def mailings_report(
    *, workspace: Workspace, mailings: QuerySet[Mailing], revenue_days: int = REVENUE_DAYS
) -> dict[str, Any]:
    """The report of `mailings` (a Mailing queryset; its rows of other workspaces are left out).
    The keys sent, delivered, bounced, opened, clicked, unsubscribed, complained and skipped
    {no_consent, suppressed, capped} are pinned by the API (GET /api/v1/broadcasts/{id})."""
    ids = _ids(workspace, mailings)
    deliveries = Delivery.all_workspaces.filter(workspace=workspace, mailing_id__in=ids)
    sent_q = Q(sent_at__isnull=False)
    bounced_q = Q(status=DeliveryStatus.BOUNCED)
    rows = deliveries.aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=sent_q),
        delivered=Count("id", filter=sent_q & ~bounced_q),
        bounced=Count("id", filter=bounced_q),
        hard=Count("id", filter=bounced_q & Q(bounce_kind="hard")),
        soft=Count("id", filter=bounced_q & ~Q(bounce_kind="hard")),
        refused=Count("id", filter=bounced_q & Q(sent_at__isnull=True)),
        opened=Count("contact_id", filter=Q(opened_at__isnull=False), distinct=True),
        clicked=Count("contact_id", filter=Q(clicked_at__isnull=False), distinct=True),
        queued=Count("id", filter=Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED])),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        **{
            f"skip_{reason}": Count("id", filter=Q(status=DeliveryStatus.SKIPPED, reason=reason))
            for reason in SkipReason.values
        },
    )
    label = KeyTextTransform("label", "properties")
    opens = (
        _events(workspace, ids, [EventType.EMAIL_OPENED])
        .annotate(label=label)
        .values("label")
        .annotate(n=Count("id"), contacts=Count("contact_id", distinct=True))
    )
    opens_by = {name: {"total": 0, "contacts": 0} for name in OPEN_LABELS}
    for row in opens:  # one row per label
        opens_by.setdefault(row["label"] or "human", {"total": 0, "contacts": 0})
        opens_by[row["label"] or "human"] = {"total": row["n"], "contacts": row["contacts"]}
    clicks = _events(workspace, ids, [EventType.EMAIL_CLICKED]).aggregate(
        human=Count("id", filter=Q(properties__label="human")),
        scanner=Count("id", filter=Q(properties__label="scanner")),
    )
    others = _events(
        workspace, ids, [EventType.EMAIL_UNSUBSCRIBED, EventType.EMAIL_COMPLAINED]
    ).aggregate(
        unsubscribed=Count(
            "contact_id", filter=Q(type=EventType.EMAIL_UNSUBSCRIBED), distinct=True
        ),
        complained=Count(
            KeyTextTransform("delivery", "properties"),
            filter=Q(type=EventType.EMAIL_COMPLAINED),
            distinct=True,
        ),
    )
    revenue = mailings_revenue(workspace=workspace, ids=ids, days=revenue_days)
    skipped_by = {reason: rows[f"skip_{reason}"] for reason in SkipReason.values}
    sent, delivered = rows["sent"], rows["delivered"]
    return {
        # pinned by the API
        "sent": sent,
        "delivered": delivered,
        "bounced": rows["bounced"],
        "opened": rows["opened"],
        "clicked": rows["clicked"],
        "unsubscribed": others["unsubscribed"],
        "complained": others["complained"],
        "skipped": {
            "no_consent": skipped_by[SkipReason.NO_CONSENT],
            "suppressed": skipped_by[SkipReason.SUPPRESSED],
            "capped": skipped_by[SkipReason.CAPPED],
        },
        # richer
        "recipients": rows["recipients"],
        "queued": rows["queued"],
        "failed": rows["failed"],
        "bounced_by": {"hard": rows["hard"], "soft": rows["soft"]},
        "opens": opens_by,
        "clicks": {
            "unique": rows["clicked"],
            "total": clicks["human"],
            "scanner": clicks["scanner"],
        },
        "skipped_by": skipped_by,
        "skipped_total": sum(skipped_by.values()),
        "revenue": revenue,
        "rates": {
            "delivered": _rate(delivered, sent),
            # of the messages handed to the server: accepted ones and those refused with a 5xx
            "bounced": _rate(rows["bounced"], sent + rows["refused"]),
            "opened": _rate(rows["opened"], delivered),
            "clicked": _rate(rows["clicked"], delivered),
            "click_to_open": _rate(rows["clicked"], rows["opened"]),
            "unsubscribed": _rate(others["unsubscribed"], delivered),
            "complained": _rate(others["complained"], delivered),
        },
    }


def mailings_revenue(*, workspace: Workspace, ids: list[int], days: int = REVENUE_DAYS) -> dict:
    """Orders of the contacts who clicked (human) in these mailings, dated from their first
    click to `days` days after it: {"days", "orders", "total", "contacts"}. One statement:
    each order is compared with its contact's first click (a correlated subquery)."""
    first_click = Subquery(
        Delivery.all_workspaces.filter(
            workspace=workspace,
            mailing_id__in=ids,
            contact_id=OuterRef("contact_id"),
            clicked_at__isnull=False,
        )
        .order_by("clicked_at")
        .values("clicked_at")[:1],
        output_field=DateTimeField(),
    )
    orders = (
        Order.objects.for_workspace(workspace)
        .filter(contact_id__isnull=False)
        .exclude(status__in=NOT_REVENUE)
        .filter(
            contact_id__in=Delivery.all_workspaces.filter(
                workspace=workspace, mailing_id__in=ids, clicked_at__isnull=False
            ).values("contact_id")
        )
        .annotate(first_click=first_click)
        .annotate(
            until=ExpressionWrapper(
                F("first_click") + Value(dt.timedelta(days=days)), output_field=DateTimeField()
            )
        )
        .filter(ordered_at__gte=F("first_click"), ordered_at__lte=F("until"))
    )
    totals = orders.aggregate(
        orders=Count("id"),
        total=Coalesce(Sum("total"), Value(Decimal("0.00"))),
        contacts=Count("contact_id", distinct=True),
    )
    totals["total"] = Decimal(totals["total"]).quantize(Decimal("0.01"))
    currency = orders.values_list("currency", flat=True).first() or "EUR"
    return {"days": days, "currency": currency, **totals}


def mailing_timeline(
    *, workspace: Workspace, mailings: QuerySet[Mailing], hours: int = TIMELINE_HOURS
) -> dict:
    """Human opens and clicks per hour since the send (the first `hours` hours, empty hours
    included): {"start", "hours": [iso…], "opens": [n…], "clicks": [n…]}."""
    ids = _ids(workspace, mailings)
    start = Mailing.all_workspaces.filter(pk__in=ids).aggregate(
        t=Min(Coalesce("started_at", "created_at"))
    )["t"]
    if start is None:
        return {"start": None, "hours": [], "opens": [], "clicks": []}
    start = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(hours=hours)
    buckets = (
        _events(workspace, ids, [EventType.EMAIL_OPENED, EventType.EMAIL_CLICKED])
        .filter(occurred_at__lt=end)
        .filter(properties__label="human")
        .annotate(hour=TruncHour("occurred_at", tzinfo=dt.UTC))
        .values("hour", "type")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[dt.datetime, str], int] = {}
    last = start
    for row in buckets:  # one row per (hour, type): at most 2 × hours
        hour = row["hour"]
        if timezone.is_naive(hour):
            hour = hour.replace(tzinfo=dt.UTC)
        counts[(hour, row["type"])] = row["n"]
        last = max(last, hour)
    # the span shown: up to the last hour with activity (at least a day)
    shown = max(24, int((last - start).total_seconds() // 3600) + 1)
    span = [start + dt.timedelta(hours=h) for h in range(min(shown, hours))]
    return {
        "start": start.isoformat(),
        "hours": [h.isoformat() for h in span],
        "opens": [counts.get((h, EventType.EMAIL_OPENED), 0) for h in span],
        "clicks": [counts.get((h, EventType.EMAIL_CLICKED), 0) for h in span],
    }


def mailing_click_map(*, workspace: Workspace, mailings: QuerySet[Mailing]) -> list[dict]:
    """Per link URL (as tracked: with its UTM tags): human clicks, total and unique contacts,
    and the percent of the contacts who clicked at all; most clicked first."""
    ids = _ids(workspace, mailings)
    rows = list(
        _events(workspace, ids, [EventType.EMAIL_CLICKED])
        .annotate(
            url=KeyTextTransform("url", "properties"),
        )
        .filter(properties__label="human", properties__has_key="url")
        .values("url")
        .annotate(total=Count("id"), unique=Count("contact_id", distinct=True))
        .order_by("-total", "url")
    )
    clickers = (
        Delivery.all_workspaces.filter(
            workspace=workspace, mailing_id__in=ids, clicked_at__isnull=False
        )
        .values("contact_id")
        .distinct()
        .count()
    )
    return [{**row, "percent": _rate(row["unique"], clickers)} for row in rows]


# -- the click map on the rendered email ---------------------------------------------------------

LINK = re.compile(
    r"""(<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\2[^>]*>)(.*?)(</a\s*>)""", re.IGNORECASE | re.DOTALL
)
BADGE_STYLE = (
    "display:inline-block;margin:0 0 0 6px;padding:1px 7px;border-radius:10px;"
    "background:#c0392b;color:#ffffff;font:bold 12px/18px Arial,sans-serif;"
    "text-decoration:none;vertical-align:middle;white-space:nowrap"
)


def click_map_html(html: str, *, campaign: str, clicks: list[dict]) -> tuple[str, list[dict]]:
    """The rendered email with a visible badge after each http(s) link: its human clicks and the
    percent of the contacts who clicked ("12 · 40%"), numbered like the table of links. The
    links are matched as tracking stores them (with the mailing's UTM tags). Returns the HTML
    and the links in the order they appear: [{"n", "url", "text", "total", "unique", "percent"}]."""
    by_url = {row["url"]: row for row in clicks}
    links: list[dict] = []

    def badge(match: re.Match) -> str:
        url = unescape(match.group(3)).strip()
        if not url.lower().startswith(("http://", "https://")):
            return match.group(0)
        tracked = tracking.with_utm(url, campaign)
        row = by_url.get(tracked) or by_url.get(url) or {}
        n = len(links) + 1
        text = " ".join(re.sub(r"<[^>]+>", " ", unescape(match.group(4))).split())
        links.append(
            {
                "n": n,
                "url": url,
                "tracked": tracked,
                "text": text[:120],
                "total": row.get("total", 0),
                "unique": row.get("unique", 0),
                "percent": row.get("percent"),
            }
        )
        percent = "" if row.get("percent") is None else f" · {row['percent']:g}%"
        label = escape(f"#{n}: {row.get('total', 0)}{percent}")
        return f'{match.group(0)}<span data-link="{n}" style="{BADGE_STYLE}">{label}</span>'

    return LINK.sub(badge, html), links
