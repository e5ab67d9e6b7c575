"""Reads of campaigns and content, and the per-event resolution reports use.

`events_with_campaign` annotates any Event queryset with the campaign, the content asset and
the channel group each event belongs to, computed in the query (correlated subqueries and a
CASE), so events stored before a campaign or asset existed are linked the moment it does:
there is nothing to backfill. Anonymous visitors' events are moved to their contact when the
visitor is identified (`volano.events.identity.visitor_identify`), so a lead's earlier visits
count as its touches.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Concat, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from volano.campaigns.channels import (
    channel_group_expression,
    touch_campaign,
    touch_medium,
    touch_source,
)
from volano.campaigns.models import Campaign, ContentAsset, CostEntry
from volano.contacts.models import Contact
from volano.core.db import UnicodeLower
from volano.core.models import Workspace
from volano.core.tenancy import access_in_workspace
from volano.events.models import Event, EventType

# The events that are a person's touch with marketing (what attribution and "first touch" read).
TOUCH_TYPES = (
    EventType.PAGE_VIEW,
    EventType.FORM_SUBMITTED,
    EventType.CONTENT_DOWNLOADED,
    EventType.EMAIL_CLICKED,
    EventType.WEBINAR_REGISTERED,
    EventType.WEBINAR_ATTENDED,
    EventType.EVENT_ATTENDED,
)


def _first(queryset: QuerySet, column: str) -> Subquery:
    return Subquery(queryset.order_by("pk").values(column)[:1], output_field=IntegerField())


def campaign_id_expression(workspace: Workspace, prefix: str = "") -> Coalesce:
    """The campaign an Event row belongs to (see docs/campaigns.md): by UTM campaign, else by
    the mailing campaign of the email that carried it, else by the form or downloaded content
    it came from (that asset's campaign). NULL when none resolves."""
    p = prefix
    campaigns = Campaign.objects.for_workspace(workspace).exclude(utm_campaign="")
    assets = ContentAsset.objects.for_workspace(workspace).filter(campaign__isnull=False)
    lowered = UnicodeLower("utm_campaign")
    return Coalesce(
        _first(
            campaigns.annotate(key=lowered).filter(key=UnicodeLower(OuterRef(f"{p}utm_campaign"))),
            "pk",
        ),
        _first(
            campaigns.annotate(key=lowered).filter(key=UnicodeLower(OuterRef(f"{p}campaign"))),
            "pk",
        ),
        _first(
            assets.annotate(
                form=Concat(Value("form:"), F("slug"), output_field=CharField())
            ).filter(form=OuterRef(f"{p}source")),
            "campaign_id",
        ),
        _first(assets.filter(slug=OuterRef(f"{p}content")), "campaign_id"),
        output_field=IntegerField(),
    )


def content_id_expression(workspace: Workspace, prefix: str = "") -> Coalesce:
    """The content asset an Event row belongs to: by UTM content, else the asset named as its
    content (a download), its form, or (an email asset) its mailing campaign."""
    p = prefix
    assets = ContentAsset.objects.for_workspace(workspace)
    return Coalesce(
        _first(
            assets.exclude(utm_content="")
            .annotate(key=UnicodeLower("utm_content"))
            .filter(key=UnicodeLower(OuterRef(f"{p}utm_content"))),
            "pk",
        ),
        _first(assets.filter(slug=OuterRef(f"{p}content")), "pk"),
        _first(
            assets.annotate(
                form=Concat(Value("form:"), F("slug"), output_field=CharField())
            ).filter(form=OuterRef(f"{p}source")),
            "pk",
        ),
        _first(assets.filter(kind="email", slug=OuterRef(f"{p}campaign")), "pk"),
        output_field=IntegerField(),
    )


def events_with_campaign(workspace: Workspace, events: QuerySet | None = None) -> QuerySet:
    """`events` (default: every event of the workspace) annotated with `touch_source`,
    `touch_medium`, `touch_campaign` (the lower-cased UTM/mailing campaign, whether or not a
    Campaign exists for it), `channel_group`, `campaign_id` and `content_id`."""
    if events is None:
        events = Event.objects.for_workspace(workspace)
    return events.annotate(
        touch_source=touch_source(),
        touch_medium=touch_medium(),
        touch_campaign=touch_campaign(),
        channel_group=channel_group_expression(workspace),
        campaign_id=campaign_id_expression(workspace),
        content_id=content_id_expression(workspace),
    )


def touches(workspace: Workspace) -> QuerySet:
    return events_with_campaign(
        workspace, Event.objects.for_workspace(workspace).filter(type__in=TOUCH_TYPES)
    )


def contacts_with_first_touch(workspace: Workspace) -> QuerySet:
    """Contacts annotated with `first_campaign_id` and `first_channel_group`: those of their
    first touch (by time)."""
    first = touches(workspace).filter(contact_id=OuterRef("pk")).order_by("occurred_at", "pk")
    return Contact.objects.for_workspace(workspace).annotate(
        first_campaign_id=Subquery(first.values("campaign_id")[:1], output_field=IntegerField()),
        first_channel_group=Subquery(first.values("channel_group")[:1], output_field=CharField()),
    )


# -- campaigns ---------------------------------------------------------------------------------


def campaign_list(workspace: Workspace, *, archived: bool = False) -> QuerySet:
    return (
        Campaign.objects.for_workspace(workspace)
        .filter(archived_at__isnull=not archived)
        .select_related("owner")
        .order_by(F("starts_on").desc(nulls_last=True), "name")
    )


def campaign_get(*, workspace: Workspace, campaign_id: Any) -> Campaign:
    return access_in_workspace(Campaign, workspace=workspace, pk=campaign_id, related=["owner"])


def content_list(workspace: Workspace, *, campaign: Campaign | None = None) -> QuerySet:
    queryset = (
        ContentAsset.objects.for_workspace(workspace)
        .filter(archived_at__isnull=True)
        .select_related("campaign")
    )
    if campaign is not None:
        queryset = queryset.filter(campaign=campaign)
    return queryset.order_by("name")


def content_get(*, workspace: Workspace, content_id: Any) -> ContentAsset:
    return access_in_workspace(
        ContentAsset, workspace=workspace, pk=content_id, related=["campaign"]
    )


def campaign_status(campaign: Campaign, today: dt.date | None = None) -> str:
    """planned, running, ended or archived."""
    today = today or timezone.localdate()
    if campaign.archived_at:
        return "archived"
    if campaign.starts_on and campaign.starts_on > today:
        return "planned"
    if campaign.ends_on and campaign.ends_on < today:
        return "ended"
    return "running"


def campaign_figures(workspace: Workspace, campaign_ids: list[int]) -> dict[int, dict]:
    """Per campaign: cost so far (CostEntry up to today), leads (contacts whose first touch is
    on the campaign), touches (events linked to it). Three grouped queries, not one per
    campaign."""
    figures: dict[int, dict] = {
        pk: {"cost": Decimal(0), "leads": 0, "touches": 0} for pk in campaign_ids
    }
    if not campaign_ids:
        return figures
    today = timezone.localdate()
    costs = (
        CostEntry.objects.for_workspace(workspace)
        .filter(campaign_id__in=campaign_ids, day__lte=today)
        .values("campaign_id")
        .annotate(total=Sum("amount", output_field=DecimalField()))
    )
    for row in costs:
        figures[row["campaign_id"]]["cost"] = row["total"] or Decimal(0)
    leads = (
        contacts_with_first_touch(workspace)
        .filter(first_campaign_id__in=campaign_ids)
        .values("first_campaign_id")
        .annotate(n=Count("pk"))
    )
    for row in leads:
        figures[row["first_campaign_id"]]["leads"] = row["n"]
    traffic = (
        touches(workspace)
        .filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(n=Count("pk"))
    )
    for row in traffic:
        figures[row["campaign_id"]]["touches"] = row["n"]
    return figures


_TRUNC = {"day": TruncDate, "week": TruncWeek, "month": TruncMonth}


def _bucket(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if value else ""


def campaign_timeline(
    workspace: Workspace, campaign: Campaign, *, granularity: str = "week"
) -> dict[str, Any]:
    """Traffic (touches by type group) and leads over time for one campaign: {"buckets",
    "visits", "forms", "leads"} with one value per bucket."""
    trunc = _TRUNC.get(granularity, TruncWeek)
    tz = timezone.get_current_timezone()
    events = touches(workspace).filter(campaign_id=campaign.pk)
    visits = dict(
        (_bucket(b), n)
        for b, n in events.filter(type=EventType.PAGE_VIEW)
        .annotate(b=trunc("occurred_at", tzinfo=tz))
        .values("b")
        .annotate(n=Count("pk"))
        .values_list("b", "n")
    )
    forms = dict(
        (_bucket(b), n)
        for b, n in events.exclude(type=EventType.PAGE_VIEW)
        .annotate(b=trunc("occurred_at", tzinfo=tz))
        .values("b")
        .annotate(n=Count("pk"))
        .values_list("b", "n")
    )
    leads = dict(
        (_bucket(b), n)
        for b, n in contacts_with_first_touch(workspace)
        .filter(first_campaign_id=campaign.pk)
        .annotate(b=trunc("created_at", tzinfo=tz))
        .values("b")
        .annotate(n=Count("pk"))
        .values_list("b", "n")
    )
    buckets = sorted(set(visits) | set(forms) | set(leads))
    return {
        "buckets": buckets,
        "visits": [visits.get(b, 0) for b in buckets],
        "forms": [forms.get(b, 0) for b in buckets],
        "leads": [leads.get(b, 0) for b in buckets],
    }


def content_figures(workspace: Workspace, content_ids: list[int]) -> dict[int, int]:
    """Touches linked to each content asset (one grouped query)."""
    if not content_ids:
        return {}
    rows = (
        touches(workspace)
        .filter(content_id__in=content_ids)
        .values("content_id")
        .annotate(n=Count("pk"))
    )
    return {row["content_id"]: row["n"] for row in rows}


def channel_breakdown(workspace: Workspace, campaign: Campaign) -> list[dict]:
    rows = (
        touches(workspace)
        .filter(campaign_id=campaign.pk)
        .values("channel_group", "touch_source", "touch_medium")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    return list(rows[:20])
