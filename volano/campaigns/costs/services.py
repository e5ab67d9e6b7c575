"""Writes of costs: importing an ad platform's cost file, and costs entered by hand.

`costs_import` reads a file (`parsers.parse_cost_file`, or `weekly.parse_weekly_file` for weekly
spend per channel), links each row to a campaign by name or UTM campaign (case-insensitively),
spreads a row covering a date range evenly over its days (cents distributed so the total is
exact) and writes one `CostEntry` per (platform, campaign key, day): a re-import of the same
platform, campaign and day replaces what was there, never adds to it. It returns the
foundation's `ImportReport`, so the CLI, the API and the page show it as they show any import.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from volano.campaigns.costs.parsers import PLATFORMS, UnknownLayout, norm, parse_cost_file
from volano.campaigns.costs.weekly import parse_weekly_file
from volano.campaigns.models import Campaign, ChannelGroup, CostEntry, CostKind, CostPlatform
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound
from volano.core.facts import CostsImported
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.imports.rows import ImportReport

# where a platform's money goes when its campaign has no channel of its own
PLATFORM_CHANNEL = {
    CostPlatform.GOOGLE_ADS: ChannelGroup.PAID_SEARCH,
    CostPlatform.META: ChannelGroup.PAID_SOCIAL,
    CostPlatform.LINKEDIN: ChannelGroup.PAID_SOCIAL,
}
WEEKLY_KEY = "channel:"  # the campaign key of a weekly row: no campaign, one channel


def editor_check(workspace: Workspace, actor: User | None) -> None:
    from volano.campaigns.services import editor_check as check

    check(workspace, actor)


def spread(amount: Decimal, start: dt.date, end: dt.date) -> list[tuple[dt.date, Decimal]]:
    """`amount` over the days from `start` to `end`, in whole cents, the first days taking the
    cents left over: the parts add up to `amount` exactly."""
    days = (end - start).days + 1
    cents = int((amount * 100).to_integral_value())
    base, extra = divmod(cents, days)
    return [
        (start + dt.timedelta(days=n), Decimal(base + (1 if n < extra else 0)) / 100)
        for n in range(days)
    ]


def campaigns_by_key(workspace: Workspace) -> dict[str, Campaign]:
    """The workspace's campaigns by their lower-cased name and UTM campaign."""
    found: dict[str, Campaign] = {}
    for campaign in Campaign.objects.for_workspace(workspace).order_by("archived_at", "-pk"):
        for key in (norm(campaign.name), norm(campaign.utm_campaign)):
            if key:
                found.setdefault(key, campaign)
    return found


def costs_link(*, workspace: Workspace, campaign: Campaign) -> int:
    """Costs imported before `campaign` existed, under its name or UTM campaign, now count for
    it (one UPDATE). Called when a campaign is created or renamed."""
    utm = norm(campaign.utm_campaign)
    keys = {
        k for k in (norm(campaign.name), utm, utm.replace("-", " "), utm.replace("_", " ")) if k
    }
    if not keys:
        return 0
    return (
        CostEntry.objects.for_workspace(workspace)
        .filter(campaign__isnull=True, campaign_key__in=keys)
        .update(campaign=campaign)
    )


def costs_import(
    *,
    workspace: Workspace,
    actor: User | None,
    content: bytes,
    filename: str = "",
    platform: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import a cost file. Raises ApplicationError (UnknownLayout) when no layout fits; a bad
    row lands in the report's errors and every good row is kept."""
    editor_check(workspace, actor)
    if platform and platform not in PLATFORMS:
        raise ApplicationError(
            _("unknown platform %(platform)s: use one of %(platforms)s")
            % {"platform": platform, "platforms": ", ".join(PLATFORMS)},
            field="platform",
        )
    report = ImportReport(kind="costs", dry_run=dry_run)
    currency = (workspace.currency or "EUR").upper()
    try:
        weekly = parse_weekly_file(content, filename) if platform in (None, "generic") else None
        parsed = None if weekly is not None else parse_cost_file(content, filename, platform)
    except (UnicodeError, csv.Error) as error:
        raise UnknownLayout(
            _("the file cannot be read as CSV or Excel: %(error)s") % {"error": error},
            field="file",
        ) from None
    # (key, day) -> [amount, impressions, clicks]; rows of one file for the same day add up
    amounts: dict[tuple[str, dt.date], list[Any]] = defaultdict(lambda: [Decimal(0), None, None])
    about: dict[
        str, tuple[Campaign | None, str, str, str]
    ] = {}  # key -> campaign, name, utm, channel
    linked: set[int] = set()
    if weekly is not None:
        used = "generic"
        report.rows = len(weekly.rows) + len(weekly.problems)
        problems = weekly.problems
        for week in weekly.rows:
            if week.currency and week.currency != currency:
                report.error(
                    week.row, week.currency_column, week.currency, _other_currency(currency)
                )
                continue
            key = (WEEKLY_KEY + norm(week.channel))[:200]
            about[key] = (None, "", "", week.channel[:100])
            for day, part in spread(week.amount, week.start, week.end):
                amounts[(key, day)][0] += part
    else:
        assert parsed is not None
        used = parsed.platform
        report.rows = len(parsed.rows) + len(parsed.problems)
        problems = parsed.problems
        campaigns = campaigns_by_key(workspace)
        natural = PLATFORM_CHANNEL.get(CostPlatform(used), "")
        for row in parsed.rows:
            if row.currency and row.currency != currency:
                report.error(row.row, row.currency_column, row.currency, _other_currency(currency))
                continue
            key = norm(row.campaign)[:200]
            campaign = campaigns.get(key) or campaigns.get(slugify(row.campaign)[:100])
            if campaign is None:
                report.warning(
                    row.row,
                    row.campaign_column,
                    row.campaign,
                    _(
                        "no campaign is called so (by name or UTM campaign): the cost is kept and "
                        "counts for the campaign once it exists"
                    ),
                )
            else:
                linked.add(campaign.pk)
            channel = (campaign.channel_group if campaign else "") or natural
            about[key] = (campaign, row.campaign[:200], "", str(channel))
            parts = spread(row.amount, row.start, row.end)
            for day, part in parts:
                slot = amounts[(key, day)]
                slot[0] += part
                if len(parts) == 1:
                    for index, value in ((1, row.impressions), (2, row.clicks)):
                        if value is not None:
                            slot[index] = (slot[index] or 0) + value
    for problem in problems:
        report.error(problem.row, problem.column, problem.value, problem.message)
    if not amounts:
        report.notes.append(_("no cost was read from the file"))
        return _finish(report, workspace, actor, used, filename, [], linked, dry_run)
    days = [day for _key, day in amounts]
    existing = {
        (key, day): amount
        for key, day, amount in CostEntry.objects.for_workspace(workspace)
        .filter(
            platform=used,
            kind=CostKind.MEDIA,
            campaign_key__in={key for key, _day in amounts},
            day__gte=min(days),
            day__lte=max(days),
        )
        .values_list("campaign_key", "day", "amount")
    }
    import_id = uuid.uuid4().hex
    now = timezone.now()
    entries = []
    for (key, day), (amount, impressions, clicks) in amounts.items():
        campaign, name, utm, channel = about[key]
        before = existing.get((key, day))
        if before is None:
            report.created += 1
        elif before == amount:
            report.unchanged += 1
        else:
            report.updated += 1
        entries.append(
            CostEntry(
                workspace=workspace,
                campaign=campaign,
                campaign_name=name,
                utm_campaign=utm,
                campaign_key=key,
                channel=channel,
                platform=used,
                kind=CostKind.MEDIA,
                day=day,
                amount=amount,
                currency=currency,
                impressions=impressions,
                clicks=clicks,
                source_file=(filename or "")[:255],
                import_id=import_id,
                created_by=actor,
                created_at=now,
            )
        )
    if not dry_run:
        with transaction.atomic():
            CostEntry.objects.for_workspace(workspace).bulk_create(
                entries,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["workspace", "platform", "campaign_key", "day", "kind"],
                update_fields=[
                    "campaign",
                    "campaign_name",
                    "channel",
                    "amount",
                    "currency",
                    "impressions",
                    "clicks",
                    "source_file",
                    "import_id",
                ],
            )
    return _finish(report, workspace, actor, used, filename, entries, linked, dry_run)


def _other_currency(currency: str) -> str:
    return _("the amount is in another currency than the workspace's (%(currency)s)") % {
        "currency": currency
    }


def _finish(
    report: ImportReport,
    workspace: Workspace,
    actor: User | None,
    platform: str,
    filename: str,
    entries: list[CostEntry],
    linked: set[int],
    dry_run: bool,
) -> ImportReport:
    report.errors.sort(key=lambda e: e["row"])
    report.warnings.sort(key=lambda e: e["row"])
    report.notes.insert(0, _("layout: %(platform)s") % {"platform": CostPlatform(platform).label})
    if dry_run or not entries:
        return report
    total = sum((e.amount for e in entries), Decimal(0))
    first, last = min(e.day for e in entries), max(e.day for e in entries)
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="costs.imported",
            object_type="costs",
            changes={
                "file": filename,
                "platform": platform,
                "days": len(entries),
                "total": str(total),
                "from": first.isoformat(),
                "to": last.isoformat(),
                "created": report.created,
                "updated": report.updated,
            },
        )
        announce(
            CostsImported(
                workspace_id=workspace.pk,
                platform=platform,
                start=first.isoformat(),
                end=last.isoformat(),
                campaign_ids=linked,
            )
        )
    return report


# --- costs entered by hand ---------------------------------------------------------------------

MANUAL_FIELDS = ("campaign", "kind", "day", "amount", "channel", "note")


def _manual_clean(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    campaign = data.get("campaign")
    if campaign not in (None, "", 0):
        campaign_id = campaign.pk if isinstance(campaign, Campaign) else campaign
        found = Campaign.objects.for_workspace(workspace).filter(pk=campaign_id).first()
        if found is None:
            raise ApplicationError(_("no such campaign"), field="campaign")
        clean["campaign"] = found
    else:
        clean["campaign"] = None
    kind = data.get("kind") or CostKind.OTHER
    if kind not in CostKind.values:
        raise ApplicationError(
            _("unknown kind: use one of %(kinds)s") % {"kinds": ", ".join(CostKind.values)},
            field="kind",
        )
    clean["kind"] = kind
    day = data.get("day")
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            raise ApplicationError(_("not a date (YYYY-MM-DD)"), field="day") from None
    if not isinstance(day, dt.date):
        raise ApplicationError(_("a day is needed"), field="day")
    clean["day"] = day
    try:
        amount = Decimal(str(data.get("amount"))).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise ApplicationError(_("not an amount"), field="amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ApplicationError(
            _("the amount must be between 0 and 999,999,999,999"), field="amount"
        )
    clean["amount"] = amount
    channel = str(data.get("channel") or "")[:100]
    if not channel:
        channel = (clean["campaign"].channel_group if clean["campaign"] else "") or (
            ChannelGroup.OFFLINE if kind in (CostKind.FAIR, CostKind.PRINT) else ""
        )
    clean["channel"] = channel
    clean["note"] = str(data.get("note") or "")[:500]
    return clean


@transaction.atomic
def cost_create(*, workspace: Workspace, actor: User | None, data: dict[str, Any]) -> CostEntry:
    """A cost entered by hand: an agency fee, print, a fair stand, a tool."""
    editor_check(workspace, actor)
    clean = _manual_clean(workspace, data)
    campaign = clean["campaign"]
    entry = CostEntry.objects.create(
        workspace=workspace,
        platform=CostPlatform.MANUAL,
        campaign_key=f"manual:{uuid.uuid4().hex}",
        campaign_name=campaign.name if campaign else "",
        utm_campaign=campaign.utm_campaign if campaign else "",
        currency=(workspace.currency or "EUR").upper(),
        created_by=actor,
        **clean,
    )
    activity_record(
        workspace=workspace,
        actor=actor,
        verb="cost.created",
        obj=entry,
        changes={"amount": str(entry.amount), "kind": entry.kind, "day": entry.day.isoformat()},
    )
    return entry


def _manual(workspace: Workspace, actor: User | None, cost_id: int) -> CostEntry:
    editor_check(workspace, actor)
    entry = (
        CostEntry.objects.for_workspace(workspace)
        .filter(pk=cost_id, platform=CostPlatform.MANUAL)
        .select_for_update()
        .first()
    )
    if entry is None:
        raise NotFound(_("no such manual cost"), field="cost")
    return entry


@transaction.atomic
def cost_update(
    *, workspace: Workspace, actor: User | None, cost_id: int, data: dict[str, Any]
) -> CostEntry:
    entry = _manual(workspace, actor, cost_id)
    current = {name: getattr(entry, name) for name in MANUAL_FIELDS}
    clean = _manual_clean(workspace, {**current, **data})
    changes = {}
    for name, value in clean.items():
        if getattr(entry, name) != value:
            changes[name] = str(value.pk if isinstance(value, Campaign) else value)
            setattr(entry, name, value)
    entry.campaign_name = entry.campaign.name if entry.campaign else ""
    entry.save()
    activity_record(
        workspace=workspace, actor=actor, verb="cost.updated", obj=entry, changes=changes
    )
    return entry


@transaction.atomic
def cost_delete(*, workspace: Workspace, actor: User | None, cost_id: int) -> None:
    entry = _manual(workspace, actor, cost_id)
    activity_record(
        workspace=workspace,
        actor=actor,
        verb="cost.deleted",
        obj=entry,
        changes={"amount": str(entry.amount), "kind": entry.kind, "day": entry.day.isoformat()},
    )
    entry.delete()


__all__ = ["UnknownLayout", "cost_create", "cost_delete", "cost_update", "costs_import"]
