"""Sales velocity: how much money the pipeline turns into per day.

    velocity = open opportunities × win rate × average deal value ÷ sales cycle (days)

For a window of days: *open opportunities* are the deals open at its end (created before, not
closed by then); the *win rate* is won ÷ (won + lost) among the deals closed in it; the *average
deal value* is the mean amount of the deals won in it, and the *sales cycle* the mean days from
creation to closing of those. Deals in another currency than the workspace's are counted apart,
never summed. A factor with nothing to compute from is None, and so is the velocity.

By period (each bucket of the dashboard's granularity), and for the whole range by product line
(the line of the deal's largest line), territory (the contact's region, else its company's) and
rep (the deal's owner).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf

from volano.core.models import Workspace
from volano.deals.models import Deal, DealLine, DealStage
from volano.reports.dashboards.figures import Filters, _day, bounds, deal_figures, zone_of
from volano.reports.dashboards.period import Period

DIMENSIONS = ("product_line", "territory", "rep")


def velocity_of(open_deals: int, won: int, lost: int, won_amount: float, cycle_days: float) -> dict:
    """The four factors and the velocity from the window's counts (None where undefined)."""
    win_rate = won / (won + lost) if won + lost else None
    average = won_amount / won if won else None
    cycle = cycle_days / won if won else None
    velocity = (
        open_deals * win_rate * average / cycle
        if win_rate is not None and average is not None and cycle
        else None
    )
    return {
        "open": open_deals,
        "win_rate": win_rate,
        "average": average,
        "cycle_days": cycle,
        "velocity": velocity,
        "won": won,
        "lost": lost,
    }


def _deals(workspace: Workspace, filters: Filters | None, user_id: int | None) -> QuerySet:
    deals = Deal.objects.for_workspace(workspace).filter(currency=workspace.currency)
    scope = filters.contacts(workspace) if filters else None
    if scope is not None:
        deals = deals.filter(contact_id__in=scope)
    if filters and filters.product_line:
        deals = deals.filter(
            pk__in=DealLine.objects.for_workspace(workspace)
            .filter(product__product_line__slug=filters.product_line)
            .values("deal_id")
        )
    if user_id is not None:
        deals = deals.filter(owner_id=user_id)
    return deals


def _window(low: dt.datetime, high: dt.datetime, prefix: str = "") -> dict:
    closed = Q(closed_at__gte=low, closed_at__lt=high)
    won = closed & Q(stage=DealStage.WON)
    still_open = Q(created_at__lt=high) & (
        (Q(closed_at__isnull=True) & ~Q(stage__in=[DealStage.WON, DealStage.LOST]))
        | Q(closed_at__gte=high)
    )
    return {
        f"{prefix}open": Count("id", filter=still_open),
        f"{prefix}won": Count("id", filter=won),
        f"{prefix}lost": Count("id", filter=closed & Q(stage=DealStage.LOST)),
        f"{prefix}won_amount": Sum("amount", filter=won),
        f"{prefix}cycle": Sum(
            ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
            filter=won,
        ),
    }


def _days(value: Any) -> float:
    if isinstance(value, dt.timedelta):
        return max(value.total_seconds(), 0) / 86400
    return max(float(value or 0), 0) / 86400e6  # SQLite: microseconds


def _shaped(row: dict, prefix: str = "") -> dict:
    return velocity_of(
        int(row[f"{prefix}open"] or 0),
        int(row[f"{prefix}won"] or 0),
        int(row[f"{prefix}lost"] or 0),
        float(row[f"{prefix}won_amount"] or 0),
        _days(row[f"{prefix}cycle"]),
    )


def _open_at(deals: QuerySet, moment: dt.datetime) -> int:
    """Deals open at `moment`: created before it and not closed by then."""
    return deals.filter(
        Q(created_at__lt=moment)
        & (
            (Q(closed_at__isnull=True) & ~Q(stage__in=[DealStage.WON, DealStage.LOST]))
            | Q(closed_at__gte=moment)
        )
    ).count()


class _Days:
    """The deals' daily figures with running sums, so a window's total is two look-ups."""

    def __init__(self, days: dict):
        self.series: dict[str, tuple[list[dt.date], list[float]]] = {}
        for figure in ("deals_opened", "deals_won", "deals_lost", "won_amount", "won_cycle_days"):
            points = sorted((d, v) for (d, f), v in days.items() if f == figure)
            running, total = [], 0.0
            for _d, value in points:
                total += value
                running.append(total)
            self.series[figure] = ([d for d, _v in points], running)

    def sum(self, figure: str, first: dt.date, last: dt.date) -> float:
        days, running = self.series[figure]
        high = bisect.bisect_right(days, last)
        low = bisect.bisect_left(days, first)
        if high <= low:
            return 0.0
        return running[high - 1] - (running[low - 1] if low else 0.0)


def _sum(days: _Days, figure: str, first: dt.date, last: dt.date) -> float:
    return days.sum(figure, first, last)


def _factors(days: _Days, first: dt.date, last: dt.date, still_open: int) -> dict:
    """The factors of the deals closed from `first` to `last`, with `still_open` at the end."""
    return velocity_of(
        still_open,
        int(_sum(days, "deals_won", first, last)),
        int(_sum(days, "deals_lost", first, last)),
        _sum(days, "won_amount", first, last),
        _sum(days, "won_cycle_days", first, last),
    )


def _open_by(days: _Days, open_start: int, start: dt.date, last: dt.date) -> int:
    """Open at the end of `last`: open at `start`, plus opened, minus won and lost since."""
    moved = sum(
        _sum(days, figure, start, last) * sign
        for figure, sign in (("deals_opened", 1), ("deals_won", -1), ("deals_lost", -1))
    )
    return max(int(open_start + moved), 0)


def velocity_report(
    workspace: Workspace,
    period: Period,
    filters: Filters | None = None,
    *,
    user_id: int | None = None,
) -> dict:
    """{"total", "previous", "buckets": [{start, first, last, factors…}], "by": {dimension:
    [rows]}, "other_currency": n}. The deals' daily figures of the period (and of the one
    compared with) come from two grouped statements; the open deals at each bucket's end are
    those open at the period's start plus the opened minus the closed since."""
    deals = _deals(workspace, filters, user_id)
    zone = zone_of(workspace)
    previous = period.previous()
    span_start = min(period.start, previous.start) if previous else period.start
    raw: dict = defaultdict(float)
    deal_figures(raw, deals, *bounds(workspace, span_start, period.end), zone, workspace.currency)
    days = _Days({(_day(d), f): v for (d, f), v in raw.items()})
    low, high = bounds(workspace, period.start, period.end)
    open_start = _open_at(deals, low)
    buckets = [
        {
            "start": bucket.start,
            "first": bucket.first,
            "last": bucket.last,
            **_factors(
                days,
                bucket.first,
                bucket.last,
                _open_by(days, open_start, period.start, bucket.last),
            ),
        }
        for bucket in period.buckets()
    ]
    total = _factors(
        days, period.start, period.end, _open_by(days, open_start, period.start, period.end)
    )
    prior = None
    if previous:
        prior_start = _open_at(deals, bounds(workspace, previous.start, previous.end)[0])
        prior = _factors(
            days,
            previous.start,
            previous.end,
            _open_by(days, prior_start, previous.start, previous.end),
        )
    by: dict[str, list[dict]] = {}
    largest_line = (
        DealLine.objects.for_workspace(workspace)
        .filter(deal_id=OuterRef("pk"))
        .order_by("-amount", "pk")
        .values("product__product_line__name")[:1]
    )
    keys = {
        "product_line": Coalesce(Subquery(largest_line), Value(""), output_field=CharField()),
        "territory": Coalesce(
            NullIf("contact__region", Value("")),
            NullIf("company__region", Value("")),
            Value(""),
            output_field=CharField(),
        ),
        "rep": Coalesce(
            NullIf("owner__full_name", Value("")),
            NullIf("owner__email", Value("")),
            Value(""),
            output_field=CharField(),
        ),
    }
    for dimension, key in keys.items():
        rows = deals.annotate(key=key).values("key").annotate(**_window(low, high)).order_by("key")
        by[dimension] = [
            {"key": r["key"], **_shaped(r)} for r in rows if r["open"] or r["won"] or r["lost"]
        ]
        by[dimension].sort(key=lambda r: -(r["velocity"] or 0))
    other = (
        Deal.objects.for_workspace(workspace)
        .exclude(currency=workspace.currency)
        .filter(Q(created_at__lt=high) & (Q(closed_at__isnull=True) | Q(closed_at__gte=low)))
        .count()
    )
    return {
        "total": total,
        "previous": prior,
        "buckets": buckets,
        "by": by,
        "other_currency": other,
    }
