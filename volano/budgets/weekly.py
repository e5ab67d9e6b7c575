"""The weekly series the media-mix model is fitted on, read from the workspace's own data and
checked: spend per channel from the costs (`CostEntry.channel`, else the campaign's channel),
revenue (completed orders plus won deals) or leads (contacts created), and the controls (Italian
public holidays, fairs and promotions from the campaigns).

Every query groups by day in the database (one row per day and channel, about 730 for two years
of six channels); weeks are Monday to Sunday, and only whole weeks inside the range count.
Whatever the data cannot support is refused with a message that says what and where.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import holidays
import numpy as np
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from volano.budgets import mmm
from volano.campaigns.models import Campaign, ChannelGroup, CostEntry, CostPlatform, Objective
from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.deals.models import Deal, DealStage
from volano.orders.models import Order

OUTCOMES = ("revenue", "leads")
MIN_WEEKS = 26
PROMOTION_MAX_DAYS = 31
# A channel whose weekly spend moves less than this (relative to its mean) never varied.
MIN_VARIATION = 0.01
COMPLETED_ORDER = "completed"


class ModelDataError(ApplicationError):
    """The data cannot support a model; the message says what is missing or wrong."""

    status_code = 422


@dataclass(frozen=True)
class WeeklyData:
    outcome: str
    week_starts: tuple[dt.date, ...]
    keys: tuple[str, ...]
    spend: np.ndarray  # weeks × channels
    values: np.ndarray  # weeks
    controls: np.ndarray  # weeks × controls
    control_names: tuple[str, ...]

    @property
    def days_of_year(self) -> np.ndarray:
        return np.array([d.timetuple().tm_yday for d in self.week_starts], dtype=float)


def _monday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def _week_label(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d} ({day.isoformat()})"


def _spend_rows(workspace: Workspace, first: dt.date, last: dt.date) -> list[dict]:
    return list(
        CostEntry.objects.for_workspace(workspace)
        .filter(day__gte=first, day__lte=last)
        .values("day", "channel", "platform", "campaign__channel_group")
        .annotate(total=Sum("amount"))
        .order_by()
    )


def default_range(workspace: Workspace) -> tuple[dt.date, dt.date]:
    """The two years up to the last day with a cost (or up to today)."""
    last = (
        CostEntry.objects.for_workspace(workspace)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    ) or dt.date.today()
    return last - dt.timedelta(days=7 * 104 + 6), last


def weekly_data(
    *,
    workspace: Workspace,
    outcome: str,
    date_from: dt.date,
    date_to: dt.date,
    exclude: tuple[str, ...] = (),
    order_channel: str = "",
) -> WeeklyData:
    """`order_channel` limits the revenue to the completed orders of one sales channel (the
    web shop, say: what media drive), without the won deals; empty: all the revenue."""
    if outcome not in OUTCOMES:
        raise ModelDataError(
            _("outcome must be “revenue” or “leads”, not “%(value)s”") % {"value": outcome},
            field="outcome",
        )
    if date_to < date_from:
        raise ModelDataError(_("“to” is before “from”"), field="to")
    first = _monday_on_or_after(date_from)
    weeks = max(0, ((date_to - first).days + 1) // 7)
    if weeks < MIN_WEEKS:
        raise ModelDataError(
            _(
                "%(weeks)s whole weeks from %(from)s to %(to)s: the model needs at least "
                "%(min)s weeks of spend and outcome (two years are best)"
            )
            % {"weeks": weeks, "from": date_from, "to": date_to, "min": MIN_WEEKS},
            field="from",
        )
    last = first + dt.timedelta(days=7 * weeks - 1)
    week_starts = tuple(first + dt.timedelta(days=7 * w) for w in range(weeks))

    spend_by_key: dict[str, np.ndarray] = {}
    platforms: dict[tuple[str, int], set[str]] = {}
    weeks_with_costs = np.zeros(weeks, dtype=bool)
    for row in _spend_rows(workspace, first, last):
        key = row["channel"] or row["campaign__channel_group"] or ""
        week = (row["day"] - first).days // 7
        weeks_with_costs[week] = True
        if not key or key in exclude:
            continue
        spend_by_key.setdefault(key, np.zeros(weeks))[week] += float(row["total"] or Decimal(0))
        platforms.setdefault((key, week), set()).add(row["platform"])

    if not spend_by_key:
        raise ModelDataError(
            _("no costs with a channel from %(from)s to %(to)s: import weekly spend per channel")
            % {"from": first, "to": last},
            field="from",
        )
    missing = [week_starts[w] for w in np.flatnonzero(~weeks_with_costs)]
    if missing:
        shown = ", ".join(_week_label(d) for d in missing[:5])
        raise ModelDataError(
            _(
                "%(count)s weeks have no costs at all: %(weeks)s. Import them (a week with "
                "no spend is a row of 0), or choose a range without them"
            )
            % {"count": len(missing), "weeks": shown + ("…" if len(missing) > 5 else "")},
            field="from",
        )
    for (key, week), names in sorted(platforms.items()):
        if CostPlatform.GENERIC in names and len(names) > 1:
            others = ", ".join(sorted(n for n in names if n != CostPlatform.GENERIC))
            raise ModelDataError(
                _(
                    "the week %(week)s of “%(channel)s” is there twice: in a weekly spend file "
                    "and in the costs of %(platforms)s; it would count twice. Keep one of them"
                )
                % {"week": _week_label(week_starts[week]), "channel": key, "platforms": others},
                field="channels",
            )
    keys = tuple(sorted(spend_by_key))
    spend = np.column_stack([spend_by_key[k] for k in keys])
    for c, key in enumerate(keys):
        column = spend[:, c]
        negative = np.flatnonzero(column < 0)
        if negative.size:
            raise ModelDataError(
                _("spend on “%(channel)s” is negative in the week %(week)s (%(amount).2f)")
                % {
                    "channel": key,
                    "week": _week_label(week_starts[negative[0]]),
                    "amount": column[negative[0]],
                },
                field="channels",
            )
        if not column.any():
            raise ModelDataError(
                _(
                    "nothing was spent on “%(channel)s” from %(from)s to %(to)s: the model "
                    "cannot say what it returns; leave it out (exclude)"
                )
                % {"channel": key, "from": first, "to": last},
                field="channels",
            )
        if column.std() < MIN_VARIATION * column.mean():
            raise ModelDataError(
                _(
                    "spend on “%(channel)s” was the same every week (%(amount).2f): the model "
                    "cannot tell what it returns; vary it for some weeks, or leave it out "
                    "(exclude)"
                )
                % {"channel": key, "amount": column.mean()},
                field="channels",
            )

    values = outcome_by_week(workspace, outcome, first, weeks, order_channel=order_channel)
    if not values.any() and order_channel and outcome == "revenue":
        raise ModelDataError(
            _("no completed orders of the sales channel “%(channel)s” from %(from)s to %(to)s")
            % {"channel": order_channel, "from": first, "to": last},
            field="order_channel",
        )
    if not values.any():
        raise ModelDataError(
            _("no %(outcome)s from %(from)s to %(to)s")
            % {
                "outcome": _("revenue") if outcome == "revenue" else _("leads"),
                "from": first,
                "to": last,
            },
            field="outcome",
        )
    controls, control_names = _controls(workspace, first, weeks)
    needed = 2 * mmm.parameter_count(len(keys), mmm.design(np.zeros(weeks), controls).shape[1])
    if weeks < needed:
        raise ModelDataError(
            _(
                "%(weeks)s weeks are too few for %(channels)s channels: the model needs at "
                "least %(needed)s (two weeks for each number it estimates); widen the range or "
                "leave channels out"
            )
            % {"weeks": weeks, "channels": len(keys), "needed": needed},
            field="from",
        )
    return WeeklyData(outcome, week_starts, keys, spend, values, controls, control_names)


def _by_week(rows, first: dt.date, weeks: int) -> np.ndarray:
    out = np.zeros(weeks)
    for day, value in rows:
        week = (day - first).days // 7
        if 0 <= week < weeks:
            out[week] += float(value or 0)
    return out


def outcome_by_week(
    workspace: Workspace, outcome: str, first: dt.date, weeks: int, *, order_channel: str = ""
) -> np.ndarray:
    """The outcome of each of `weeks` weeks from the Monday `first`."""
    end = first + dt.timedelta(days=7 * weeks)
    if outcome == "leads":
        rows = (
            Contact.objects.for_workspace(workspace)
            .filter(created_at__date__gte=first, created_at__date__lt=end)
            .annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(value=Count("id"))
            .values_list("day", "value")
            .order_by()
        )
        return _by_week(rows, first, weeks)
    orders = Order.objects.for_workspace(workspace).filter(
        status=COMPLETED_ORDER, ordered_at__date__gte=first, ordered_at__date__lt=end
    )
    if order_channel:
        orders = orders.filter(channel=order_channel)
    by_day = (
        orders.annotate(day=TruncDate("ordered_at"))
        .values("day")
        .annotate(value=Sum("total"))
        .values_list("day", "value")
        .order_by()
    )
    if order_channel:
        return _by_week(by_day, first, weeks)
    deals = (
        Deal.objects.for_workspace(workspace)
        .filter(stage=DealStage.WON, closed_at__date__gte=first, closed_at__date__lt=end)
        .annotate(day=TruncDate("closed_at"))
        .values("day")
        .annotate(value=Sum("amount"))
        .values_list("day", "value")
        .order_by()
    )
    return _by_week(by_day, first, weeks) + _by_week(deals, first, weeks)


def _controls(workspace: Workspace, first: dt.date, weeks: int) -> tuple[np.ndarray, tuple]:
    """Days per week that are Italian public holidays, fair days (Offline/Events campaigns)
    and promotion days (sales campaigns of a month or less); a control that never varies over
    the range is left out (the intercept holds it)."""
    last = first + dt.timedelta(days=7 * weeks - 1)
    italy = holidays.country_holidays("IT", years=range(first.year, last.year + 1))
    columns = {"holidays": np.zeros(weeks), "fairs": np.zeros(weeks), "promotions": np.zeros(weeks)}
    for day in italy:
        if first <= day <= last:
            columns["holidays"][(day - first).days // 7] += 1
    campaigns = (
        Campaign.objects.for_workspace(workspace)
        .filter(starts_on__isnull=False, ends_on__isnull=False)
        .filter(starts_on__lte=last, ends_on__gte=first)
        .filter(Q(channel_group=ChannelGroup.OFFLINE) | Q(objective=Objective.SALES))
        .values_list("starts_on", "ends_on", "channel_group")
    )
    for starts, ends, channel_group in campaigns:
        if channel_group == ChannelGroup.OFFLINE:
            name = "fairs"
        elif (ends - starts).days < PROMOTION_MAX_DAYS:
            name = "promotions"
        else:
            continue
        day = max(starts, first)
        while day <= min(ends, last):
            columns[name][(day - first).days // 7] += 1
            day += dt.timedelta(days=1)
    kept = [(name, column) for name, column in columns.items() if column.std() > 0]
    if not kept:
        return np.zeros((weeks, 0)), ()
    return np.column_stack([c for _, c in kept]), tuple(n for n, _ in kept)
