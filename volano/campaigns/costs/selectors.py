"""Reads of costs: totals grouped by campaign, channel, platform, day or month, and the costs
entered by hand. One aggregate query each, in the workspace currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from volano.campaigns.models import CostEntry, CostPlatform
from volano.core.errors import ApplicationError
from volano.core.models import Workspace

GROUPS = ("campaign", "channel", "platform", "day", "month", "kind")


def costs_in(workspace: Workspace, start: dt.date | None, end: dt.date | None) -> QuerySet:
    costs = CostEntry.objects.for_workspace(workspace)
    if start:
        costs = costs.filter(day__gte=start)
    if end:
        costs = costs.filter(day__lte=end)
    return costs


def costs_summary(
    *,
    workspace: Workspace,
    start: dt.date | None = None,
    end: dt.date | None = None,
    group: str = "campaign",
) -> dict:
    """{"total", "rows": [{"key", "label", "cost"}]}: rows by cost, largest first (by date for
    day and month). A cost of no campaign is keyed by what it was imported under."""
    if group not in GROUPS:
        raise ApplicationError(
            f"group must be one of {', '.join(GROUPS)} / il raggruppamento deve essere uno di "
            f"{', '.join(GROUPS)}",
            field="group",
        )
    costs = costs_in(workspace, start, end)
    rows: list[dict] = []
    if group == "campaign":
        found = (
            costs.values("campaign_id", "campaign__name", "campaign_key", "campaign_name")
            .annotate(cost=Sum("amount"))
            .order_by()
        )
        merged: dict[str, dict] = {}
        for item in found:
            if item["campaign_id"]:
                key, label = str(item["campaign_id"]), item["campaign__name"]
            elif item["campaign_key"].startswith(("manual:", "channel:")):
                key, label = "", ""
            else:
                key, label = item["campaign_key"], item["campaign_name"] or item["campaign_key"]
            slot = merged.setdefault(key, {"key": key, "label": label, "cost": Decimal(0)})
            slot["cost"] += item["cost"]
        rows = sorted(merged.values(), key=lambda r: -r["cost"])
    elif group in ("day", "month"):
        column = F("day") if group == "day" else TruncMonth("day")
        found = costs.annotate(g=column).values("g").annotate(cost=Sum("amount")).order_by("g")
        for item in found:
            value = item["g"]
            text = value.isoformat()[: 10 if group == "day" else 7] if value else ""
            rows.append({"key": text, "label": text, "cost": item["cost"]})
    else:
        found = costs.values(group).annotate(cost=Sum("amount")).order_by("-cost")
        labels = dict(CostPlatform.choices) if group == "platform" else {}
        if group == "kind":
            from volano.campaigns.models import CostKind

            labels = dict(CostKind.choices)
        if group == "channel":
            from volano.campaigns.models import ChannelGroup

            labels = dict(ChannelGroup.choices)
        for item in found:
            key = item[group] or ""
            rows.append({"key": key, "label": str(labels.get(key, key)), "cost": item["cost"]})
    total = costs.aggregate(total=Coalesce(Sum("amount"), Decimal(0)))["total"]
    return {"total": total, "rows": rows}


def manual_costs(*, workspace: Workspace, limit: int = 200) -> QuerySet:
    return (
        CostEntry.objects.for_workspace(workspace)
        .filter(platform=CostPlatform.MANUAL)
        .select_related("campaign")
        .order_by("-day", "-pk")[:limit]
    )


def imports_seen(*, workspace: Workspace) -> list[dict]:
    """The cost files imported, newest first: file, platform, days covered, total."""
    return list(
        CostEntry.objects.for_workspace(workspace)
        .exclude(platform=CostPlatform.MANUAL)
        .values("import_id", "source_file", "platform")
        .annotate(days=Count("pk"), total=Sum("amount"))
        .order_by("-import_id")[:20]
    )
