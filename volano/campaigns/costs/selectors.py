"""Reads of costs: totals grouped by campaign, channel, platform, day or month, and the costs
entered by hand. One aggregate query each, in the workspace currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from volano.campaigns.channels import DEFAULT_RULES, channel_group_of, workspace_rules
from volano.campaigns.models import ChannelGroup, CostEntry, CostKind, CostPlatform
from volano.campaigns.utm import PRESETS
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


# A cost's channel column often names a platform or an ad account (a weekly spend series such as
# `google_ads`, `meta_ads`, `fiere`) rather than a channel group; its money goes where that
# platform's own links land: the UTM preset's source / medium through the workspace's rules.
PLATFORM_PRESETS = {
    "google_ads": "google_ads",
    "google": "google_ads",
    "adwords": "google_ads",
    "bing_ads": "bing_ads",
    "microsoft_ads": "bing_ads",
    "meta": "meta_ads",
    "meta_ads": "meta_ads",
    "facebook_ads": "meta_ads",
    "instagram_ads": "meta_ads",
    "linkedin": "linkedin_ads",
    "linkedin_ads": "linkedin_ads",
    "display": "display",
    "gdn": "display",
    "newsletter": "newsletter",
    "fiera": "fair_qr",
    "fiere": "fair_qr",
    "eventi": "fair_qr",
    "stampa": "fair_qr",
    "print": "fair_qr",
}
_PRESETS = {preset.key: preset for preset in PRESETS}
_GROUP_VALUES = {str(value) for value in ChannelGroup.values}


def _norm(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def cost_channel_group(
    *, campaign_group: str, channel: str, platform: str, kind: str, rules: tuple = DEFAULT_RULES
) -> str:
    """The workspace's channel group a cost belongs to, so that spend meets the revenue the
    attribution credits to the same group: the campaign's channel group first; then the row's
    channel when it is a channel group (its value or its English name); then the platform the
    channel or the row names (`meta_ads`, a Meta export…), as the workspace's rules classify
    that platform's UTM source / medium; fairs and print are Offline/Events; anything else as
    the rules read the channel text as a source and medium (Unassigned when no rule matches)."""
    if campaign_group:
        return campaign_group
    raw = (channel or "").strip()
    if raw in _GROUP_VALUES:
        return raw
    if _norm(raw) in _GROUP_VALUES:
        return _norm(raw)
    labels = {str(label).lower(): str(value) for value, label in ChannelGroup.choices}
    if raw.lower() in labels:
        return labels[raw.lower()]
    preset = _PRESETS.get(PLATFORM_PRESETS.get(_norm(raw), "")) or _PRESETS.get(
        PLATFORM_PRESETS.get(platform, "")
    )
    if preset is not None:
        return channel_group_of(preset.source, preset.medium, rules=rules)
    if kind in (CostKind.FAIR, CostKind.PRINT):
        return ChannelGroup.OFFLINE
    if raw:
        return channel_group_of(raw, raw, rules=rules)
    return ChannelGroup.UNASSIGNED


def _row_group(row: dict, rules: tuple) -> str:
    """`cost_channel_group` of a grouped costs row (its campaign's group, channel, platform and
    kind columns)."""
    return str(
        cost_channel_group(
            campaign_group=row["campaign__channel_group"] or "",
            channel=row["channel"] or "",
            platform=row["platform"] or "",
            kind=row["kind"] or "",
            rules=rules,
        )
    )


def costs_by_channel_group(
    workspace: Workspace, start: dt.date | None, end: dt.date | None
) -> dict[str, Decimal]:
    """Cost per channel group of the workspace in [start, end] (`cost_channel_group`), in one
    grouped query (a few distinct channel / platform / kind combinations)."""
    rules = workspace_rules(workspace)
    result: dict[str, Decimal] = {}
    rows = (
        costs_in(workspace, start, end)
        .values("campaign__channel_group", "channel", "platform", "kind")
        .annotate(total=Coalesce(Sum("amount"), Decimal(0)))
        .order_by()
    )
    for row in rows:
        group = _row_group(row, rules)
        result[group] = result.get(group, Decimal(0)) + row["total"]
    return result


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


# the campaign key of a weekly spend row (`services.WEEKLY_KEY`): no campaign, one channel
CHANNEL_LEVEL_PREFIX = "channel:"


def costs_overview(
    *, workspace: Workspace, start: dt.date | None = None, end: dt.date | None = None
) -> dict:
    """The costs page's two worlds, kept apart and then added up per channel group and month:
    {"total", "months": [{"key", "campaigns", "channel_level"}], "campaigns": {"total", "rows": [{"key", "label", "cost", "known"}]},
    "channel_level": {"total", "rows": [{"key", "label", "group", "group_label", "cost"}]},
    "by_group": [{"key", "label", "campaigns", "channel_level", "cost"}]}.
    Campaign costs are those on a campaign, imported under a campaign name (`known` False when no
    campaign has that name yet) or entered by hand (on no campaign: one row keyed ""). Channel-level
    spend is a weekly spend file's rows (campaign key `channel:…`): money spent on a channel as
    a whole, which the response curves read and no campaign owns. Two grouped queries."""
    rules = workspace_rules(workspace)
    labels = {str(value): str(label) for value, label in ChannelGroup.choices}
    found = (
        costs_in(workspace, start, end)
        .values(
            "campaign_id",
            "campaign__name",
            "campaign__channel_group",
            "campaign_key",
            "campaign_name",
            "channel",
            "platform",
            "kind",
        )
        .annotate(cost=Sum("amount"))
        .order_by()
    )
    campaigns: dict[str, dict] = {}
    channel_level: dict[str, dict] = {}
    groups: dict[str, dict] = {}
    for item in found:
        group = _row_group(item, rules)
        slot = groups.setdefault(
            group,
            {
                "key": group,
                "label": labels.get(group, group),
                "campaigns": Decimal(0),
                "channel_level": Decimal(0),
                "cost": Decimal(0),
            },
        )
        slot["cost"] += item["cost"]
        key = item["campaign_key"] or ""
        if not item["campaign_id"] and key.startswith(CHANNEL_LEVEL_PREFIX):
            slot["channel_level"] += item["cost"]
            name = item["channel"] or key[len(CHANNEL_LEVEL_PREFIX) :]
            row = channel_level.setdefault(
                name,
                {
                    "key": name,
                    "label": name,
                    "group": group,
                    "group_label": labels.get(group, group),
                    "cost": Decimal(0),
                },
            )
            row["cost"] += item["cost"]
            continue
        slot["campaigns"] += item["cost"]
        if item["campaign_id"]:
            key, label, known = str(item["campaign_id"]), item["campaign__name"], True
        elif key.startswith("manual:"):
            key, label, known = "", "", True
        else:
            key, label, known = key, item["campaign_name"] or key, False
        row = campaigns.setdefault(
            key, {"key": key, "label": label, "known": known, "cost": Decimal(0)}
        )
        row["cost"] += item["cost"]

    def ordered(rows: dict[str, dict]) -> list[dict]:
        return sorted(rows.values(), key=lambda r: (-r["cost"], r["key"]))

    campaign_rows, channel_rows = ordered(campaigns), ordered(channel_level)
    weekly = Q(campaign__isnull=True, campaign_key__startswith=CHANNEL_LEVEL_PREFIX)
    months = (
        costs_in(workspace, start, end)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(
            campaigns=Coalesce(Sum("amount", filter=~weekly), Decimal(0)),
            channel_level=Coalesce(Sum("amount", filter=weekly), Decimal(0)),
        )
        .order_by("month")
    )
    return {
        "total": sum((g["cost"] for g in groups.values()), Decimal(0)),
        "campaigns": {
            "total": sum((r["cost"] for r in campaign_rows), Decimal(0)),
            "rows": campaign_rows,
        },
        "channel_level": {
            "total": sum((r["cost"] for r in channel_rows), Decimal(0)),
            "rows": channel_rows,
        },
        "by_group": ordered(groups),
        "months": [
            {
                "key": row["month"].isoformat()[:7],
                "campaigns": row["campaigns"],
                "channel_level": row["channel_level"],
            }
            for row in months
        ],
    }


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
