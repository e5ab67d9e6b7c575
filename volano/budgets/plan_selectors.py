"""Reads of budget plans: lines and totals per quarter and kind, the 70/20/10 split (seed 003
§10), planned vs actual vs forecast per line, the pipeline and revenue of lines shared with
sales (§8), the versions and what changed between them.

**Actuals.** Costs (imported ad costs and costs entered by hand, `volano.campaigns` CostEntry,
read through `campaigns.costs.selectors.costs_in`) are summed in one grouped query by campaign,
channel, kind of cost and month, then each group goes to a line of the plan:
1. a line linked to the cost's campaign (of the matching kind when the campaign has several);
2. else a line without campaign on the cost's channel (the channel the import wrote, else the
   campaign's channel group);
3. else the first line without campaign nor channel of the matching kind (agency fees to the
   agency line, tools to the tools line, fairs to training and events, media and print to paid
   media);
4. else it is shown as spent outside the plan.
People's time is hours × rate from the time logs of the plan's people lines (the log's rate,
else the line's), summed by line and month in one query.

**Forecast** to the end of a period that has begun: what was spent plus the larger of the run
rate for the days left (spend so far ÷ days so far, over the period when 30 days or more have
passed, else over the year) and what is committed and not yet spent (the line's `committed`
less its actuals for the year, spread evenly over the rest of the year). A period that has not
begun is forecast as planned; one that is over as spent. A line is flagged when its forecast is
off the plan by more than 10% (and €50)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, IntegerField, Sum, Value
from django.db.models.functions import Coalesce, ExtractMonth
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.budgets.plan_models import (
    CostKind,
    Maturity,
    Plan,
    PlanLine,
    PlanReview,
    PlanVersion,
    Team,
    TimeLog,
)
from volano.campaigns.costs.selectors import costs_in
from volano.campaigns.models import ChannelGroup
from volano.campaigns.reports.selectors import grouped_by_first_campaign
from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.core.tenancy import access_in_workspace
from volano.deals.models import Deal
from volano.orders.models import Order

TARGETS = {Maturity.PROVEN.value: 0.7, Maturity.NEW.value: 0.2, Maturity.EXPERIMENT.value: 0.1}
DRIFT = 0.05  # five points off a target share: the gauge warns
VARIANCE_SHARE = Decimal("0.10")
VARIANCE_FLOOR = Decimal("50")
PERIODS = ("year", "q1", "q2", "q3", "q4")
MONTH_NAMES = (
    gettext_lazy("January"),
    gettext_lazy("February"),
    gettext_lazy("March"),
    gettext_lazy("April"),
    gettext_lazy("May"),
    gettext_lazy("June"),
    gettext_lazy("July"),
    gettext_lazy("August"),
    gettext_lazy("September"),
    gettext_lazy("October"),
    gettext_lazy("November"),
    gettext_lazy("December"),
)
COST_KIND_TO_PLAN = {
    "media": CostKind.MEDIA.value,
    "print": CostKind.MEDIA.value,
    "fair": CostKind.TRAINING.value,
    "agency": CostKind.AGENCY.value,
    "tools": CostKind.TOOLS.value,
    "other": "",
}
ZERO = Decimal(0)
CENT = Decimal("0.01")


def money_text(value: Any) -> str:
    return f"€ {formats.number_format(Decimal(str(value or 0)), 2, force_grouping=True)}"


def number_text(value: Any) -> str:
    return formats.number_format(Decimal(str(value or 0)), 2, force_grouping=True)


def channels_known(workspace: Workspace) -> set[str]:
    """The channels a line may name: GA4's channel groups and the channels costs were imported
    under (a weekly spend file's channel column)."""
    imported = (
        costs_in(workspace, None, None)
        .exclude(channel="")
        .values_list("channel", flat=True)
        .distinct()
    )
    return set(ChannelGroup.values) | set(imported)


def channel_label(key: str) -> str:
    if key in ChannelGroup.values:
        return str(ChannelGroup(key).label)
    return key


# -- plans and lines -------------------------------------------------------------------------


def plan_list(*, workspace: Workspace, year: int | None = None) -> Any:
    plans = Plan.objects.for_workspace(workspace).filter(deleted_at__isnull=True)
    if year:
        plans = plans.filter(year=year)
    return plans.order_by("-year", "name", "pk")


def plan_get(*, workspace: Workspace, plan_id: Any, deleted: bool = False) -> Plan:
    plan = access_in_workspace(Plan, workspace=workspace, pk=plan_id)
    if plan.deleted_at is not None and not deleted:
        raise NotFound(_("no such budget plan in this workspace"), field="plan")
    return plan


def plan_lines(plan: Plan) -> list[PlanLine]:
    return list(
        PlanLine.objects.for_workspace(plan.workspace_id)
        .filter(plan=plan)
        .select_related("campaign")
        .order_by("position", "pk")
    )


def line_get(*, plan: Plan, line_id: Any) -> PlanLine:
    try:
        return (
            PlanLine.objects.for_workspace(plan.workspace_id)
            .select_related("campaign")
            .get(plan=plan, pk=line_id)
        )
    except (PlanLine.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such line in this plan"), field="line") from None


def line_any(*, workspace: Workspace, line_id: Any) -> PlanLine:
    try:
        return (
            PlanLine.objects.for_workspace(workspace)
            .select_related("plan")
            .get(pk=line_id, plan__deleted_at__isnull=True)
        )
    except (PlanLine.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such plan line in this workspace"), field="line") from None


def time_log_get(*, workspace: Workspace, log_id: Any) -> TimeLog:
    return access_in_workspace(TimeLog, workspace=workspace, pk=log_id)


def time_logs(*, workspace: Workspace, plan: Plan | None = None, limit: int = 200) -> Any:
    logs = TimeLog.objects.for_workspace(workspace).select_related("line")
    if plan is not None:
        logs = logs.filter(line__plan=plan)
    return logs.order_by("-day", "-pk")[:limit]


def people_lines(plan: Plan) -> list[PlanLine]:
    return [line for line in plan_lines(plan) if line.kind == CostKind.PEOPLE]


def versions(plan: Plan) -> Any:
    return (
        PlanVersion.objects.for_workspace(plan.workspace_id).filter(plan=plan).order_by("-number")
    )


def version_get(plan: Plan, number: Any) -> PlanVersion:
    try:
        return PlanVersion.objects.for_workspace(plan.workspace_id).get(
            plan=plan, number=int(number)
        )
    except (PlanVersion.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("no such version of this plan"), field="version") from None


def reviews(plan: Plan) -> Any:
    return (
        PlanReview.objects.for_workspace(plan.workspace_id)
        .filter(plan=plan)
        .select_related("created_by")
        .order_by("-reviewed_on", "-pk")
    )


# -- totals and the 70/20/10 split -----------------------------------------------------------


def quarter_of(month_index: int) -> int:
    return month_index // 3


def plan_totals(plan: Plan, lines: list[PlanLine] | None = None) -> dict:
    """Totals per month, per quarter, per kind, per kind and quarter, and the grand total."""
    lines = plan_lines(plan) if lines is None else lines
    months = [ZERO] * 12
    by_kind: dict[str, list[Decimal]] = {k: [ZERO] * 4 for k in CostKind.values}
    for line in lines:
        for index, amount in enumerate(line.months):
            months[index] += amount
            by_kind[line.kind][quarter_of(index)] += amount
    quarters = [sum(months[q * 3 : q * 3 + 3], ZERO) for q in range(4)]
    total = sum(months, ZERO)
    kinds = [
        {
            "kind": kind,
            "label": str(CostKind(kind).label),
            "quarters": by_kind[kind],
            "total": sum(by_kind[kind], ZERO),
            "share": float(sum(by_kind[kind], ZERO) / total) if total else 0.0,
        }
        for kind in CostKind.values
    ]
    return {
        "months": months,
        "quarters": quarters,
        "kinds": [k for k in kinds if k["total"]],
        "total": total,
        "over_budget": bool(plan.budget and total > plan.budget),
        "left": (plan.budget - total) if plan.budget else None,
    }


def plan_mix(plan: Plan, lines: list[PlanLine] | None = None) -> dict:
    """The split among proven, new and experiment lines (the reserve aside), against 70/20/10.
    `warning` when a share is more than five points off its target."""
    lines = plan_lines(plan) if lines is None else lines
    amounts = {m: ZERO for m in TARGETS}
    reserve = ZERO
    for line in lines:
        if line.kind == CostKind.RESERVE:
            reserve += line.total
        else:
            amounts[line.maturity] += line.total
    total = sum(amounts.values(), ZERO)
    shares = {m: float(amounts[m] / total) if total else 0.0 for m in TARGETS}
    drift = {m: shares[m] - TARGETS[m] for m in TARGETS}
    warning = bool(total) and any(abs(d) > DRIFT for d in drift.values())
    parts = "/".join(str(round(shares[m] * 100)) for m in TARGETS)
    message = ""
    if warning:
        off = [
            _("%(what)s %(share)s%% (target %(target)s%%)")
            % {
                "what": Maturity(m).label,
                "share": round(shares[m] * 100),
                "target": round(TARGETS[m] * 100),
            }
            for m in TARGETS
            if abs(drift[m]) > DRIFT
        ]
        message = _("The split is %(parts)s, off the 70/20/10 rule: %(off)s.") % {
            "parts": parts,
            "off": "; ".join(off),
        }
    return {
        "amounts": amounts,
        "shares": shares,
        "targets": dict(TARGETS),
        "drift": drift,
        "total": total,
        "reserve": reserve,
        "warning": warning,
        "split": parts,
        "message": message,
    }


# -- actuals ---------------------------------------------------------------------------------


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def period_bounds(year: int, period: str) -> tuple[dt.date, dt.date, range]:
    """First and last day of the period and its months (0-based)."""
    if period == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31), range(12)
    quarter = int(period[1]) - 1
    first_month = quarter * 3 + 1
    last_month = first_month + 2
    return (
        dt.date(year, first_month, 1),
        dt.date(year, last_month, calendar.monthrange(year, last_month)[1]),
        range(quarter * 3, quarter * 3 + 3),
    )


def _pick(candidates: list[PlanLine], kind: str) -> PlanLine:
    for line in candidates:
        if line.kind == kind:
            return line
    return candidates[0]


def actuals(plan: Plan, lines: list[PlanLine], *, today: dt.date) -> dict:
    """{line id: 12 monthly actuals} and "unplanned": 12 monthly amounts spent outside the plan,
    with `outside`: the unplanned cost groups (campaign or channel, kind, amount)."""
    start, end = _year_bounds(plan.year)
    end = min(end, today)
    result: dict[Any, list[Decimal]] = {line.pk: [ZERO] * 12 for line in lines}
    unplanned = [ZERO] * 12
    outside: dict[tuple, Decimal] = {}
    if start > end:
        return {"lines": result, "unplanned": unplanned, "outside": []}
    by_campaign: dict[int, list[PlanLine]] = {}
    by_channel: dict[str, list[PlanLine]] = {}
    by_kind: dict[str, list[PlanLine]] = {}
    for line in lines:
        if line.kind in (CostKind.PEOPLE, CostKind.RESERVE):
            continue
        if line.campaign_id:
            by_campaign.setdefault(line.campaign_id, []).append(line)
        elif line.channel:
            by_channel.setdefault(line.channel, []).append(line)
        else:
            by_kind.setdefault(line.kind, []).append(line)
    groups = (
        costs_in(plan.workspace, start, end)
        .annotate(month=ExtractMonth("day"))
        .values(
            "campaign_id", "campaign__name", "channel", "campaign__channel_group", "kind", "month"
        )
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in groups:
        kind = COST_KIND_TO_PLAN.get(row["kind"], "")
        channel = row["channel"] or row["campaign__channel_group"] or ""
        month = int(row["month"]) - 1
        amount = row["total"] or ZERO
        if row["campaign_id"] in by_campaign:
            target: PlanLine | None = _pick(by_campaign[row["campaign_id"]], kind)
        elif channel in by_channel:
            target = _pick(by_channel[channel], kind)
        elif kind and kind in by_kind:
            target = by_kind[kind][0]
        else:
            target = None
        if target is None:
            unplanned[month] += amount
            key = (row["campaign__name"] or channel_label(channel) or _("no campaign"), row["kind"])
            outside[key] = outside.get(key, ZERO) + amount
        else:
            result[target.pk][month] += amount
    rate = Coalesce(F("hourly_rate"), F("line__hourly_rate"), Value(ZERO))
    logged = (
        TimeLog.objects.for_workspace(plan.workspace_id)
        .filter(line__plan=plan, day__gte=start, day__lte=end)
        .annotate(
            month=ExtractMonth("day"),
            cost=ExpressionWrapper(
                F("hours") * rate, output_field=DecimalField(max_digits=16, decimal_places=4)
            ),
        )
        .values("line_id", "month")
        .annotate(total=Sum("cost"))
        .order_by()
    )
    for row in logged:
        if row["line_id"] in result:
            result[row["line_id"]][int(row["month"]) - 1] += Decimal(
                str(row["total"] or 0)
            ).quantize(CENT)
    return {
        "lines": result,
        "unplanned": unplanned,
        "outside": [
            {"name": name, "kind": kind, "amount": amount}
            for (name, kind), amount in sorted(outside.items(), key=lambda kv: -kv[1])
        ],
    }


def plan_actuals_by_month(plan: Plan, *, today: dt.date) -> dict[Any, list[Decimal]]:
    return actuals(plan, plan_lines(plan), today=today)["lines"]


def _forecast(
    *,
    planned: Decimal,
    actual: Decimal,
    actual_year: Decimal,
    committed: Decimal,
    start: dt.date,
    end: dt.date,
    year_start: dt.date,
    today: dt.date,
) -> Decimal:
    if today < start:
        return planned
    if today >= end:
        return actual
    elapsed = (today - start).days + 1
    left = (end - today).days
    # over the period once a month of it has passed, else over the year so far
    days = elapsed if elapsed >= 30 else (today - year_start).days + 1
    rate = (actual if elapsed >= 30 else actual_year) / days
    year_left = (dt.date(start.year, 12, 31) - today).days
    committed_left = max(committed - actual_year, ZERO)
    committed_here = committed_left * left / year_left if year_left else ZERO
    return (actual + max(rate * left, committed_here)).quantize(CENT)


def _flag(planned: Decimal, forecast: Decimal) -> str:
    variance = forecast - planned
    limit = max(planned * VARIANCE_SHARE, VARIANCE_FLOOR)
    if variance > limit:
        return "over"
    if variance < -limit:
        return "under"
    return ""


def plan_figures(plan: Plan, *, period: str = "year", today: dt.date) -> dict:
    """Planned, actual and forecast per line and kind for a period (the year or a quarter), the
    variance (forecast − planned) flagged, and the costs spent outside the plan."""
    if period not in PERIODS:
        period = "year"
    lines = plan_lines(plan)
    start, end, months = period_bounds(plan.year, period)
    year_start = dt.date(plan.year, 1, 1)
    found = actuals(plan, lines, today=today)
    rows = []
    kinds: dict[str, dict] = {}
    totals: dict[str, Any] = {
        "planned": ZERO,
        "actual": ZERO,
        "forecast": ZERO,
        "planned_to_date": ZERO,
    }
    for line in lines:
        monthly = found["lines"][line.pk]
        planned = sum((line.months[m] for m in months), ZERO)
        actual = sum((monthly[m] for m in months), ZERO)
        to_date = _planned_to_date(line.months, months, plan.year, today)
        forecast = _forecast(
            planned=planned,
            actual=actual,
            actual_year=sum(monthly, ZERO),
            committed=line.committed,
            start=start,
            end=end,
            year_start=year_start,
            today=today,
        )
        if line.kind == CostKind.RESERVE:
            forecast = max(actual, ZERO) if today >= end else planned
        row = {
            "line": line,
            "id": line.pk,
            "name": line.name,
            "kind": line.kind,
            "kind_label": str(CostKind(line.kind).label),
            "maturity": line.maturity,
            "planned": planned,
            "planned_to_date": to_date,
            "actual": actual,
            "forecast": forecast,
            "variance": forecast - planned,
            "variance_pct": float((forecast - planned) / planned * 100) if planned else None,
            "flag": _flag(planned, forecast) if line.kind != CostKind.RESERVE else "",
        }
        rows.append(row)
        k = kinds.setdefault(
            line.kind,
            {
                "kind": line.kind,
                "label": str(CostKind(line.kind).label),
                "planned": ZERO,
                "actual": ZERO,
                "forecast": ZERO,
            },
        )
        for key in ("planned", "actual", "forecast"):
            k[key] += row[key]  # type: ignore[operator]
            totals[key] += row[key]  # type: ignore[operator]
        totals["planned_to_date"] += to_date
    unplanned = sum((found["unplanned"][m] for m in months), ZERO)
    totals["actual"] += unplanned
    totals["forecast"] += unplanned
    totals["variance"] = totals["forecast"] - totals["planned"]
    totals["flag"] = _flag(totals["planned"], totals["forecast"])
    return {
        "period": period,
        "start": start,
        "end": end,
        "today": today,
        "rows": rows,
        "kinds": list(kinds.values()),
        "unplanned": unplanned,
        "outside": found["outside"] if unplanned else [],
        "totals": totals,
    }


def _planned_to_date(months: list[Decimal], period: range, year: int, today: dt.date) -> Decimal:
    total = ZERO
    for m in period:
        first = dt.date(year, m + 1, 1)
        days = calendar.monthrange(year, m + 1)[1]
        if today < first:
            continue
        if today >= dt.date(year, m + 1, days):
            total += months[m]
        else:
            total += (months[m] * today.day / days).quantize(CENT)
    return total


def _json_figures(figures: dict) -> dict:
    def amount(v: Decimal) -> str:
        return str(Decimal(v).quantize(CENT))

    return {
        "period": figures["period"],
        "rows": [
            {
                "id": r["id"],
                "name": r["name"],
                "kind": r["kind"],
                "maturity": r["maturity"],
                "planned": amount(r["planned"]),
                "actual": amount(r["actual"]),
                "forecast": amount(r["forecast"]),
                "variance": amount(r["variance"]),
                "flag": r["flag"],
            }
            for r in figures["rows"]
        ],
        "unplanned": amount(figures["unplanned"]),
        "totals": {
            k: (amount(v) if isinstance(v, Decimal) else v) for k, v in figures["totals"].items()
        },
    }


def review_figures(plan: Plan, *, today: dt.date) -> dict:
    """What a review keeps: the year's and the quarter's figures on the day, and the split."""
    quarter = f"q{(today.month - 1) // 3 + 1}" if today.year == plan.year else "year"
    mix = plan_mix(plan)
    return {
        "date": today.isoformat(),
        "year": _json_figures(plan_figures(plan, period="year", today=today)),
        "quarter": _json_figures(plan_figures(plan, period=quarter, today=today)),
        "split": {m: round(mix["shares"][m], 4) for m in TARGETS},
        "budget": str(plan.budget),
    }


# -- versions --------------------------------------------------------------------------------

DIFF_FIELDS = (
    "name",
    "kind",
    "item",
    "channel",
    "campaign",
    "maturity",
    "team",
    "hours",
    "hourly_rate",
    "committed",
    "total",
)


def lines_diff(old: list[dict], new: list[dict]) -> list[dict]:
    """What changed from one version's lines to another's: lines added, removed, and for each
    line kept, the fields that changed (the months when they moved but the total did not)."""
    before = {line["id"]: line for line in old}
    after = {line["id"]: line for line in new}
    changes: list[dict] = []
    for key, line in after.items():
        if key not in before:
            changes.append({"what": "added", "line": line["name"], "after": line["total"]})
    for key, line in before.items():
        if key not in after:
            changes.append({"what": "removed", "line": line["name"], "before": line["total"]})
    for key, line in after.items():
        if key not in before:
            continue
        was = before[key]
        for field in DIFF_FIELDS:
            if str(was.get(field, "")) != str(line.get(field, "")):
                changes.append(
                    {
                        "what": "changed",
                        "line": line["name"],
                        "field": field,
                        "before": was.get(field),
                        "after": line.get(field),
                    }
                )
        if was.get("total") == line.get("total") and was.get("months") != line.get("months"):
            changes.append(
                {
                    "what": "changed",
                    "line": line["name"],
                    "field": "months",
                    "before": was.get("months"),
                    "after": line.get("months"),
                }
            )
    return changes


def change_text(change: dict) -> str:
    """A change in words, for the history page."""
    what = change.get("what")
    if what == "budget":
        return _("Budget: %(before)s → %(after)s") % {
            "before": money_text(change["before"]),
            "after": money_text(change["after"]),
        }
    if what == "added":
        return _("Added “%(line)s” (%(after)s)") % {
            "line": change["line"],
            "after": money_text(change["after"]),
        }
    if what == "removed":
        return _("Removed “%(line)s” (%(before)s)") % {
            "line": change["line"],
            "before": money_text(change["before"]),
        }
    field = change.get("field", "")
    labels = {
        "total": _("total"),
        "maturity": _("maturity"),
        "months": _("months"),
        "name": _("name"),
        "kind": _("kind"),
        "hours": _("hours"),
        "hourly_rate": _("hourly rate"),
        "committed": _("committed"),
        "team": _("team"),
        "channel": _("channel"),
        "campaign": _("campaign"),
        "item": _("item"),
    }
    before: Any = change.get("before")
    after: Any = change.get("after")
    if field in ("total", "hourly_rate", "committed"):
        before, after = money_text(before), money_text(after)
    elif field == "maturity":
        before, after = Maturity(before).label, Maturity(after).label
    elif field == "team":
        before, after = Team(before).label, Team(after).label
    elif field == "kind":
        before, after = CostKind(before).label, CostKind(after).label
    elif field == "months":
        return _("“%(line)s”: moved between months") % {"line": change["line"]}
    return _("“%(line)s”, %(field)s: %(before)s → %(after)s") % {
        "line": change["line"],
        "field": labels.get(field, field),
        "before": before if before not in (None, "") else "—",
        "after": after if after not in (None, "") else "—",
    }


# -- shared with sales: pipeline and revenue -------------------------------------------------


def shared_returns(plan: Plan, lines: list[PlanLine] | None = None) -> dict[int, dict]:
    """Per campaign of the plan's lines: the pipeline (open deals' amount) and revenue (won
    deals and orders) of the plan's year from contacts whose first campaign-linked touch before
    the deal or order was that campaign. Two statements, whatever the number of contacts."""
    lines = plan_lines(plan) if lines is None else lines
    campaign_ids = {line.campaign_id for line in lines if line.campaign_id}
    result = {
        pk: {"pipeline": ZERO, "won": ZERO, "orders": ZERO, "revenue": ZERO} for pk in campaign_ids
    }
    if not campaign_ids:
        return result
    workspace = plan.workspace
    low = dt.datetime(plan.year, 1, 1, tzinfo=dt.UTC)
    high = dt.datetime(plan.year + 1, 1, 1, tzinfo=dt.UTC)
    deals = grouped_by_first_campaign(
        workspace,
        Deal.objects.for_workspace(workspace)
        .filter(contact__isnull=False, created_at__gte=low, created_at__lt=high)
        .annotate(
            rk=F("pk"),
            ct=F("contact_id"),
            until=F("created_at"),
            bucket=Value(1, output_field=IntegerField()),
        )
        .values("rk", "ct", "until", "bucket", "amount", "stage"),
        [
            "SUM(CASE WHEN b.stage NOT IN ('won', 'lost') THEN b.amount ELSE 0 END)",
            "SUM(CASE WHEN b.stage = 'won' THEN b.amount ELSE 0 END)",
        ],
    )
    for _bucket, campaign_id, pipeline, won in deals:
        if campaign_id in result:
            result[campaign_id]["pipeline"] = Decimal(str(pipeline or 0)).quantize(CENT)
            result[campaign_id]["won"] = Decimal(str(won or 0)).quantize(CENT)
    orders = grouped_by_first_campaign(
        workspace,
        Order.objects.for_workspace(workspace)
        .filter(contact__isnull=False, ordered_at__gte=low, ordered_at__lt=high)
        .exclude(status__in=["cancelled", "canceled", "refunded"])
        .annotate(
            rk=F("pk"),
            ct=F("contact_id"),
            until=F("ordered_at"),
            bucket=Value(1, output_field=IntegerField()),
        )
        .values("rk", "ct", "until", "bucket", "total"),
        ["SUM(b.total)"],
    )
    for _bucket, campaign_id, total in orders:
        if campaign_id in result:
            result[campaign_id]["orders"] = Decimal(str(total or 0)).quantize(CENT)
    for figures in result.values():
        figures["revenue"] = figures["won"] + figures["orders"]
    return result


def shared_report(plan: Plan, *, today: dt.date) -> list[dict]:
    """The lines that belong to sales too (shared or sales): their cost so far this year and,
    through their campaign, the pipeline and revenue they returned."""
    lines = plan_lines(plan)
    returns = shared_returns(plan, lines)
    found = actuals(plan, lines, today=today)["lines"]
    rows = []
    for line in lines:
        if line.team == Team.MARKETING:
            continue
        back = returns.get(line.campaign_id) if line.campaign_id else None
        spent = sum(found[line.pk], ZERO)
        rows.append(
            {
                "line": line,
                "id": line.pk,
                "name": line.name,
                "team": line.team,
                "campaign": line.campaign.name if line.campaign else "",
                "planned": line.total,
                "actual": spent,
                "pipeline": back["pipeline"] if back else None,
                "revenue": back["revenue"] if back else None,
                "return": float(back["revenue"] / spent) if back and spent else None,
            }
        )
    return rows


# -- export ----------------------------------------------------------------------------------


def export_table(plan: Plan, *, today: dt.date) -> list[list[Any]]:
    """Header then one row per line: what a line is, its twelve months, quarters and total,
    then actual and forecast for the year (and, for lines shared with sales, pipeline and
    revenue). Amounts as numbers; the CSV writes them the Italian way when asked."""
    lines = plan_lines(plan)
    figures = {r["id"]: r for r in plan_figures(plan, period="year", today=today)["rows"]}
    returns = shared_returns(plan, lines)
    header = [
        _("Line"),
        _("Kind"),
        _("Item"),
        _("Channel"),
        _("Campaign"),
        _("Maturity"),
        _("Team"),
        _("Role"),
        _("Hours"),
        _("Hourly rate"),
        *[str(m) for m in MONTH_NAMES],
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        _("Planned"),
        _("Actual"),
        _("Forecast"),
        _("Variance"),
        _("Pipeline"),
        _("Revenue"),
    ]
    table: list[list[Any]] = [[str(h) for h in header]]
    for line in lines:
        months = line.months
        back = (
            returns.get(line.campaign_id)
            if line.campaign_id and line.team != Team.MARKETING
            else None
        )
        row = figures[line.pk]
        table.append(
            [
                line.name,
                str(CostKind(line.kind).label),
                line.get_item_display() if line.item else "",
                channel_label(line.channel),
                line.campaign.name if line.campaign else "",
                str(Maturity(line.maturity).label),
                str(Team(line.team).label),
                line.role,
                line.hours if line.kind == CostKind.PEOPLE else None,
                line.hourly_rate if line.kind == CostKind.PEOPLE else None,
                *months,
                *[sum(months[q * 3 : q * 3 + 3], ZERO) for q in range(4)],
                line.total,
                row["actual"],
                row["forecast"],
                row["variance"],
                back["pipeline"] if back else None,
                back["revenue"] if back else None,
            ]
        )
    return table
