"""The widget registry: every KPI a dashboard can show, computed for one period.

A widget reads the daily figures of the period and of its comparison (`figures.figures_read`,
read once per dashboard and shared), plus, for a few, a live snapshot (the open pipeline, the
accounts at risk, a rep's leads). Each returns a `Result`: headline figures with the comparison,
a chart (ECharts on the page), a table (the same numbers: the page's table view, CSV and Excel)
and notes: an empty period, a granularity finer than the data, a currency left out. A ratio
with nothing to divide by is None ("—" on screen), never NaN.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from volano.core.models import Workspace
from volano.deals.models import Deal, DealStage
from volano.handoff.models import Assignment, AssignmentStatus
from volano.lifecycle.models import FUNNEL
from volano.lifecycle.selectors import stage_names
from volano.reports.dashboards import figures as daily
from volano.reports.dashboards import health, velocity
from volano.reports.dashboards.figures import Filters, bounds
from volano.reports.dashboards.period import Bucket, Period


def ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def change(current: float | None, previous: float | None) -> float | None:
    """The relative change; None when there is nothing to compare with."""
    if current is None or previous is None or not previous:
        return None
    return (current - previous) / abs(previous)


def bucket_label(bucket: Bucket, granularity: str) -> str:
    if granularity == "day":
        return formats.date_format(bucket.start, "SHORT_DATE_FORMAT")
    if granularity == "week":
        return _("week of %(day)s") % {"day": formats.date_format(bucket.start, "j M")}
    if granularity == "month":
        return formats.date_format(bucket.start, "M Y")
    return _("Q%(quarter)s %(year)s") % {
        "quarter": (bucket.start.month - 1) // 3 + 1,
        "year": bucket.start.year,
    }


def _index(values: dict[tuple[dt.date, str], float]) -> dict[str, list[tuple[dt.date, float]]]:
    out: dict[str, list[tuple[dt.date, float]]] = {}
    for (day, figure), value in values.items():
        out.setdefault(figure, []).append((day, value))
    return out


@dataclass
class Context:
    workspace: Workspace
    period: Period
    filters: Filters = field(default_factory=Filters)
    user_id: int | None = None  # a rep's own dashboard

    @cached_property
    def buckets(self) -> list[Bucket]:
        return self.period.buckets()

    @cached_property
    def labels(self) -> list[str]:
        return [bucket_label(b, self.period.granularity) for b in self.buckets]

    @cached_property
    def current(self) -> dict[tuple[dt.date, str], float]:
        return daily.figures_read(self.workspace, self.period.start, self.period.end, self.filters)

    @cached_property
    def previous_period(self) -> Period | None:
        return self.period.previous()

    @cached_property
    def previous(self) -> dict[tuple[dt.date, str], float]:
        prior = self.previous_period
        if prior is None:
            return {}
        return daily.figures_read(self.workspace, prior.start, prior.end, self.filters)

    @cached_property
    def _by_figure(self) -> dict[str, list[tuple[dt.date, float]]]:
        return _index(self.current)

    @cached_property
    def _previous_by_figure(self) -> dict[str, list[tuple[dt.date, float]]]:
        return _index(self.previous)

    def series(self, figure: str) -> list[float]:
        """The figure summed per bucket."""
        sums = [0.0] * len(self.buckets)
        lasts = [b.last for b in self.buckets]
        for day, value in self._by_figure.get(figure, ()):
            if self.period.start <= day <= self.period.end:
                sums[bisect.bisect_left(lasts, day)] += value
        return sums

    def total(self, figure: str, *, previous: bool = False) -> float:
        source = self._previous_by_figure if previous else self._by_figure
        return sum(value for _day, value in source.get(figure, ()))

    def totals(self, figure: str) -> tuple[float, float | None]:
        return self.total(figure), (
            self.total(figure, previous=True) if self.previous_period else None
        )


@dataclass
class Result:
    key: str
    title: str
    definition: str
    figures: list[dict] = field(default_factory=list)
    chart: dict | None = None
    columns: list[tuple[str, str, str]] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: str = ""
    link: str = ""
    extra: dict = field(default_factory=dict)

    def table(self) -> list[list[Any]]:
        header = [str(label) for _k, label, _kind in self.columns]
        return [header] + [[row.get(key) for key, _l, _k in self.columns] for row in self.rows]

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "definition": self.definition,
            "figures": self.figures,
            "columns": [
                {"key": k, "label": str(label), "kind": kind} for k, label, kind in self.columns
            ],
            "rows": self.rows,
            "notes": self.notes,
            "empty": self.empty,
        }


@dataclass(frozen=True)
class Widget:
    key: str
    title: Any
    definition: Any
    compute: Callable[[Context, Result], None]
    marketing: bool = True  # needs the marketing view (costs, campaigns)
    rep: bool = False  # about the signed-in rep's own work


REGISTRY: dict[str, Widget] = {}


def widget(key: str, title: Any, definition: Any, *, marketing: bool = True, rep: bool = False):
    def register(compute: Callable[[Context, Result], None]) -> Callable:
        REGISTRY[key] = Widget(key, title, definition, compute, marketing, rep)
        return compute

    return register


def headline(
    ctx: Context, label: str, kind: str, current: float | None, previous: float | None
) -> dict:
    return {
        "label": label,
        "kind": kind,
        "value": current,
        "previous": previous,
        "change": change(current, previous),
    }


def figure_headline(ctx: Context, label: str, figure: str, kind: str = "int") -> dict:
    current, previous = ctx.totals(figure)
    return headline(ctx, label, kind, current, previous)


def sparse_note(ctx: Context, values: list[float]) -> list[str]:
    """A granularity finer than the data: most buckets empty though some have data."""
    filled = sum(1 for v in values if v)
    if len(values) >= 8 and filled and filled / len(values) <= 0.25:
        return [
            _(
                "Only %(filled)s of %(buckets)s periods have data: the data is coarser than "
                "this granularity. A coarser one (week, month, quarter) reads better."
            )
            % {"filled": filled, "buckets": len(values)}
        ]
    return []


def time_chart(ctx: Context, series: list[tuple[str, Any]], kind: str, chart: str = "line") -> dict:
    return {
        "type": chart,
        "kind": kind,
        "categories": ctx.labels,
        "series": [{"name": str(name), "data": data} for name, data in series],
    }


def over_time(ctx: Context, result: Result, columns: list[tuple[str, str, str, list]]) -> None:
    """Fill the table with one row per bucket (partial buckets say so)."""
    result.columns = [("period", _("Period"), "text")] + [
        (k, label, kind) for k, label, kind, _v in columns
    ]
    for i, bucket in enumerate(ctx.buckets):
        row: dict[str, Any] = {
            "period": ctx.labels[i] + (" *" if bucket.partial else ""),
            "from": bucket.first,
            "to": bucket.last,
        }
        for key, _label, _kind, values in columns:
            row[key] = values[i]
        result.rows.append(row)
    if any(b.partial for b in ctx.buckets):
        result.notes.append(_("* a period cut by the range: only its days inside the range count."))


# -- the marketer's widgets ------------------------------------------------------------------


@widget(
    "funnel",
    gettext_lazy("Funnel"),
    gettext_lazy(
        "Contacts reaching each stage in the period (a contact jumping stages passes the ones "
        "in between), the share of that number that reached the next stage in the same period, "
        "and the mean days spent in the stage by those who left it in the period."
    ),
    marketing=False,
)
def _funnel(ctx: Context, result: Result) -> None:
    names = stage_names(workspace=ctx.workspace)
    stages = [s.value for s in FUNNEL]
    reached = [ctx.total(f"stage_{s}") for s in stages]
    before = (
        [ctx.total(f"stage_{s}", previous=True) for s in stages] if ctx.previous_period else None
    )
    result.columns = [
        ("stage", _("Stage"), "text"),
        ("reached", _("Reached"), "int"),
        ("previous", _("Previous period"), "int"),
        ("conversion", _("To the next stage"), "percent"),
        ("days", _("Mean days in stage"), "days"),
    ]
    for i, stage in enumerate(stages):
        exits = ctx.total(f"exits_{stage}")
        result.rows.append(
            {
                "stage": names.get(stage, stage),
                "reached": reached[i],
                "previous": before[i] if before else None,
                "conversion": ratio(reached[i + 1], reached[i]) if i + 1 < len(stages) else None,
                "days": ratio(ctx.total(f"stay_days_{stage}"), exits),
            }
        )
    overall = ratio(reached[-1], reached[0])
    prior = ratio(before[-1], before[0]) if before else None
    result.figures = [
        headline(ctx, _("Lead to customer"), "percent", overall, prior),
        headline(ctx, _("Customers"), "int", reached[-1], before[-1] if before else None),
    ]
    result.chart = {
        "type": "funnel",
        "kind": "int",
        "categories": [r["stage"] for r in result.rows],
        "series": [{"name": _("Reached"), "data": reached}],
    }
    if not any(reached):
        result.empty = _("No contact entered the funnel in this period.")


@widget(
    "stages",
    gettext_lazy("Leads, MQLs, SQLs and customers"),
    gettext_lazy(
        "New contacts (leads) and contacts reaching MQL, SQL and customer in each period."
    ),
    marketing=False,
)
def _stages(ctx: Context, result: Result) -> None:
    names = stage_names(workspace=ctx.workspace)
    keys = ["lead", "mql", "sql", "customer"]
    series = [(names.get(k, k), ctx.series(f"stage_{k}")) for k in keys]
    result.figures = [
        figure_headline(ctx, str(n), f"stage_{k}") for k, (n, _s) in zip(keys, series, strict=True)
    ]
    result.chart = time_chart(ctx, series, "int")
    over_time(ctx, result, [(k, str(n), "int", s) for k, (n, s) in zip(keys, series, strict=True)])
    if not any(sum(s) for _n, s in series):
        result.empty = _("No new contact and no stage reached in this period.")
    else:
        result.notes += sparse_note(
            ctx, [sum(v) for v in zip(*(s for _n, s in series), strict=True)]
        )


ENGAGING = daily.ENGAGING


@widget(
    "engagement",
    gettext_lazy("Engagement rate"),
    gettext_lazy(
        "Human opens, clicks, replies and form fills per contact reached by email (a contact "
        "sent an email on a day; one reached on several days counts once a day). Privacy "
        "proxies and link scanners are left out; followers and impressions are not counted."
    ),
)
def _engagement(ctx: Context, result: Result) -> None:
    parts = {figure: ctx.series(figure) for figure in ENGAGING}
    reached = ctx.series("reached")
    actions = [sum(values) for values in zip(*parts.values(), strict=True)]
    rate = [ratio(a, r) for a, r in zip(actions, reached, strict=True)]
    total = sum(ctx.total(f) for f in ENGAGING)
    prior = sum(ctx.total(f, previous=True) for f in ENGAGING) if ctx.previous_period else None
    result.figures = [
        headline(
            ctx,
            _("Interactions per contact reached"),
            "ratio",
            ratio(total, ctx.total("reached")),
            ratio(prior, ctx.total("reached", previous=True)) if prior is not None else None,
        ),
        figure_headline(ctx, _("Contacts reached"), "reached"),
    ]
    result.chart = time_chart(ctx, [(_("Engagement rate"), rate)], "ratio")
    labels = {
        "email_opened": _("Human opens"),
        "email_clicked": _("Clicks"),
        "email_replied": _("Replies"),
        "form_submitted": _("Form fills"),
    }
    over_time(
        ctx,
        result,
        [("reached", _("Contacts reached"), "int", reached)]
        + [(f, str(labels[f]), "int", parts[f]) for f in ENGAGING]
        + [("rate", _("Engagement rate"), "ratio", rate)],
    )
    if not sum(reached):
        result.empty = _("No email reached anyone in this period, so there is no rate to show.")
    else:
        result.notes += sparse_note(ctx, reached)


@widget(
    "email",
    gettext_lazy("Email results"),
    gettext_lazy(
        "Emails sent, human opens and clicks (total, not unique), bounces and unsubscribes; "
        "rates over the emails sent."
    ),
)
def _email(ctx: Context, result: Result) -> None:
    keys = [
        ("email_sent", _("Sent")),
        ("email_opened", _("Human opens")),
        ("email_clicked", _("Clicks")),
        ("email_bounced", _("Bounces")),
        ("email_unsubscribed", _("Unsubscribes")),
    ]
    series = {k: ctx.series(k) for k, _l in keys}
    sent, sent_before = ctx.totals("email_sent")
    opened, opened_before = ctx.totals("email_opened")
    clicked, clicked_before = ctx.totals("email_clicked")
    result.figures = [
        figure_headline(ctx, _("Emails sent"), "email_sent"),
        headline(
            ctx,
            _("Opens per email"),
            "percent",
            ratio(opened, sent),
            ratio(opened_before, sent_before),
        ),
        headline(
            ctx,
            _("Clicks per email"),
            "percent",
            ratio(clicked, sent),
            ratio(clicked_before, sent_before),
        ),
    ]
    result.chart = time_chart(ctx, [(label, series[k]) for k, label in keys], "int", "bar")
    over_time(ctx, result, [(k, str(label), "int", series[k]) for k, label in keys])
    if not sent and not opened:
        result.empty = _("No email was sent in this period.")
    else:
        result.notes += sparse_note(ctx, series["email_sent"])


@widget(
    "workflows",
    gettext_lazy("Workflow results"),
    gettext_lazy(
        "Contacts enrolled in workflows, and workflows ended in the period: goal reached, "
        "completed to the end, or exited early."
    ),
)
def _workflows(ctx: Context, result: Result) -> None:
    keys = [
        ("enrolled", _("Enrolled")),
        ("workflow_goal", _("Goal reached")),
        ("workflow_completed", _("Completed")),
        ("workflow_exited", _("Exited")),
    ]
    series = {k: ctx.series(k) for k, _l in keys}
    goal, goal_before = ctx.totals("workflow_goal")
    ended = goal + ctx.total("workflow_completed") + ctx.total("workflow_exited")
    ended_before = (
        (goal_before or 0)
        + ctx.total("workflow_completed", previous=True)
        + ctx.total("workflow_exited", previous=True)
        if ctx.previous_period
        else None
    )
    result.figures = [
        figure_headline(ctx, _("Enrolled"), "enrolled"),
        headline(
            ctx,
            _("Goal reached, of those who ended"),
            "percent",
            ratio(goal, ended),
            ratio(goal_before, ended_before),
        ),
    ]
    result.chart = time_chart(ctx, [(label, series[k]) for k, label in keys], "int", "bar")
    over_time(ctx, result, [(k, str(label), "int", series[k]) for k, label in keys])
    if not any(sum(v) for v in series.values()):
        result.empty = _("No workflow enrolled or ended anyone in this period.")


def _open_pipeline(ctx: Context) -> tuple[float, int]:
    deals = Deal.objects.for_workspace(ctx.workspace).filter(currency=ctx.workspace.currency)
    deals = deals.exclude(stage__in=[DealStage.WON, DealStage.LOST])
    scope = ctx.filters.contacts(ctx.workspace)
    if scope is not None:
        deals = deals.filter(contact_id__in=scope)
    if ctx.user_id is not None:
        deals = deals.filter(owner_id=ctx.user_id)
    row = deals.aggregate(total=Sum("amount"), n=Count("id"))
    return float(row["total"] or 0), int(row["n"])


def currency_notes(ctx: Context, result: Result, figures: list[str]) -> None:
    other = sum(ctx.total(f) for f in figures)
    if other:
        result.notes.append(
            ngettext(
                "%(n)d row in another currency than %(currency)s is left out (never summed in).",
                "%(n)d rows in other currencies than %(currency)s are left out (never summed in).",
                int(other),
            )
            % {"n": int(other), "currency": ctx.workspace.currency}
        )


@widget(
    "revenue",
    gettext_lazy("Revenue and pipeline"),
    gettext_lazy(
        "Revenue of the orders placed (not cancelled or refunded), the value of deals won, "
        "the new pipeline (deals opened) per period, and the pipeline open today."
    ),
    marketing=False,
)
def _revenue(ctx: Context, result: Result) -> None:
    keys = [
        ("revenue", _("Order revenue")),
        ("won_amount", _("Deals won")),
        ("pipeline_opened", _("New pipeline")),
    ]
    series = {k: ctx.series(k) for k, _l in keys}
    pipeline, open_deals = _open_pipeline(ctx)
    result.figures = [
        figure_headline(ctx, _("Order revenue"), "revenue", "money"),
        figure_headline(ctx, _("Deals won"), "won_amount", "money"),
        headline(
            ctx,
            ngettext("Open pipeline (%(n)d deal)", "Open pipeline (%(n)d deals)", open_deals)
            % {"n": open_deals},
            "money",
            pipeline,
            None,
        ),
    ]
    result.chart = time_chart(ctx, [(label, series[k]) for k, label in keys], "money", "bar")
    over_time(
        ctx,
        result,
        [(k, str(label), "money", series[k]) for k, label in keys]
        + [("orders", _("Orders"), "int", ctx.series("orders"))],
    )
    currency_notes(ctx, result, ["orders_other_currency", "deals_other_currency"])
    if not any(sum(v) for v in series.values()) and not pipeline:
        result.empty = _("No order, no deal won and no deal opened in this period.")
    else:
        result.notes += sparse_note(ctx, series["revenue"])


@widget(
    "cac_roi",
    gettext_lazy("Cost, CAC and ROI"),
    gettext_lazy(
        "Marketing cost (campaign costs: imported from the ad platforms and entered by hand), "
        "new customers, CAC = cost ÷ new customers, ROAS = order revenue ÷ cost and "
        "ROI = (order revenue − cost) ÷ cost: blended over all revenue. The campaign-by-campaign "
        "ROI, with attribution models, is under Attribution."
    ),
)
def _cac_roi(ctx: Context, result: Result) -> None:
    cost_series, customers, revenue = (
        ctx.series("cost"),
        ctx.series("stage_customer"),
        ctx.series("revenue"),
    )
    cac = [ratio(c, n) for c, n in zip(cost_series, customers, strict=True)]
    roi = [ratio(r - c, c) for r, c in zip(revenue, cost_series, strict=True)]
    cost, cost_before = ctx.totals("cost")
    new, new_before = ctx.totals("stage_customer")
    income, income_before = ctx.totals("revenue")
    result.figures = [
        headline(ctx, _("Marketing cost"), "money", cost, cost_before),
        headline(ctx, _("CAC"), "money", ratio(cost, new), ratio(cost_before, new_before)),
        headline(ctx, _("ROAS"), "ratio", ratio(income, cost), ratio(income_before, cost_before)),
        headline(
            ctx, _("ROI"), "percent", ratio(income - cost, cost),
            ratio((income_before or 0) - (cost_before or 0), cost_before),
        ),
    ]  # fmt: skip
    result.chart = time_chart(
        ctx, [(_("Marketing cost"), cost_series), (_("CAC"), cac)], "money", "bar"
    )
    over_time(
        ctx,
        result,
        [
            ("cost", _("Marketing cost"), "money", cost_series),
            ("customers", _("New customers"), "int", customers),
            ("cac", _("CAC"), "money", cac),
            ("revenue", _("Order revenue"), "money", revenue),
            ("roi", _("ROI"), "percent", roi),
        ],
    )
    result.link = "attribution:page"
    currency_notes(ctx, result, ["costs_other_currency", "orders_other_currency"])
    if ctx.filters:
        result.notes.append(
            _("Costs are not per contact: with a filter, cost, CAC and ROI are not shown.")
        )
    if not cost and not ctx.filters:
        result.empty = _(
            "No marketing cost in this period: import the ad platforms' costs or enter them under Campaigns → Costs."
        )


@widget(
    "velocity",
    gettext_lazy("Sales velocity"),
    gettext_lazy(
        "Open opportunities × win rate × average deal value ÷ sales cycle (days): what the "
        "pipeline turns into per day. Open: the deals open at the end of the period; win rate, "
        "value and cycle: the deals closed in it."
    ),
    marketing=False,
)
def _velocity(ctx: Context, result: Result) -> None:
    report = velocity.velocity_report(ctx.workspace, ctx.period, ctx.filters, user_id=ctx.user_id)
    total, prior = report["total"], report["previous"] or {}
    result.figures = [
        headline(ctx, _("Velocity per day"), "money", total["velocity"], prior.get("velocity")),
        headline(ctx, _("Open opportunities"), "int", total["open"], prior.get("open")),
        headline(ctx, _("Win rate"), "percent", total["win_rate"], prior.get("win_rate")),
        headline(ctx, _("Average deal value"), "money", total["average"], prior.get("average")),
        headline(
            ctx, _("Sales cycle (days)"), "days", total["cycle_days"], prior.get("cycle_days")
        ),
    ]
    b = report["buckets"]
    result.chart = time_chart(ctx, [(_("Velocity per day"), [r["velocity"] for r in b])], "money")
    result.chart["factors"] = [
        {"name": _("Open opportunities"), "kind": "int", "data": [r["open"] for r in b]},
        {"name": _("Win rate"), "kind": "percent", "data": [r["win_rate"] for r in b]},
        {"name": _("Average deal value"), "kind": "money", "data": [r["average"] for r in b]},
        {"name": _("Sales cycle (days)"), "kind": "days", "data": [r["cycle_days"] for r in b]},
    ]
    over_time(
        ctx,
        result,
        [
            ("open", _("Open opportunities"), "int", [r["open"] for r in b]),
            ("win_rate", _("Win rate"), "percent", [r["win_rate"] for r in b]),
            ("average", _("Average deal value"), "money", [r["average"] for r in b]),
            ("cycle_days", _("Sales cycle (days)"), "days", [r["cycle_days"] for r in b]),
            ("velocity", _("Velocity per day"), "money", [r["velocity"] for r in b]),
        ],
    )
    result.extra = report["by"]
    if report["other_currency"]:
        result.notes.append(
            ngettext(
                "%(n)d deal in another currency is left out.",
                "%(n)d deals in other currencies are left out.",
                report["other_currency"],
            )
            % {"n": report["other_currency"]}
        )
    if not total["open"] and not total["won"] and not total["lost"]:
        result.empty = _("No deal was open or closed in this period.")
    elif total["velocity"] is None:
        result.notes.append(
            _("No deal was won in this period: the velocity needs a win rate, a value and a cycle.")
        )


@widget(
    "at_risk",
    gettext_lazy("Accounts at risk"),
    gettext_lazy(
        "Customer accounts whose health score (recency, frequency and value of orders, "
        "engagement, open tickets, satisfaction) is below the workspace's threshold, today."
    ),
    marketing=False,
)
def _at_risk(ctx: Context, result: Result) -> None:
    summary = health.health_summary(ctx.workspace, limit=10)
    result.figures = [
        headline(ctx, _("Accounts at risk"), "int", summary["at_risk"], None),
        headline(ctx, _("Customer accounts"), "int", summary["accounts"], None),
    ]
    result.columns = [
        ("name", _("Account"), "text"),
        ("score", _("Health"), "score"),
        ("days_since_order", _("Days since the last order"), "int"),
        ("value_12m", _("Value, 12 months"), "money"),
        ("open_tickets", _("Open tickets"), "int"),
    ]
    result.rows = [
        {
            "name": a.name,
            "score": a.score,
            "days_since_order": a.days_since_order,
            "value_12m": a.value_12m,
            "open_tickets": a.open_tickets,
            "company_id": a.company_id,
            "contact_id": a.contact_id,
        }
        for a in summary["rows"]
    ]
    result.link = "reports:health"
    if not summary["accounts"]:
        result.empty = _("No customer account yet: accounts are scored once they have an order.")
    elif not summary["at_risk"]:
        result.empty = _("No account is at risk.")


# -- a rep's own widgets -----------------------------------------------------------------------


@widget(
    "my_leads",
    gettext_lazy("My leads"),
    gettext_lazy("Leads handed to me in each period, and what I did with them."),
    marketing=False,
    rep=True,
)
def _my_leads(ctx: Context, result: Result) -> None:
    low, high = bounds(ctx.workspace, ctx.period.start, ctx.period.end)
    mine = Assignment.objects.for_workspace(ctx.workspace).filter(rep_id=ctx.user_id)
    zone = daily.zone_of(ctx.workspace)
    per_day: dict[tuple[dt.date, str], float] = {}
    for assigned_at, status in mine.filter(assigned_at__gte=low, assigned_at__lt=high).values_list(
        "assigned_at", "status"
    ):
        day = assigned_at.astimezone(zone).date()
        for key in ("assigned", status):
            per_day[(day, key)] = per_day.get((day, key), 0) + 1
    sub = Context(ctx.workspace, ctx.period)
    sub.__dict__["current"] = per_day
    keys = [
        ("assigned", _("Handed to me")),
        (AssignmentStatus.ACCEPTED.value, _("Accepted")),
        (AssignmentStatus.REJECTED.value, _("Rejected")),
        (AssignmentStatus.EXPIRED.value, _("Not accepted in time")),
    ]
    series = {k: sub.series(k) for k, _l in keys}
    waiting = mine.filter(status=AssignmentStatus.PENDING).count()
    result.figures = [
        headline(ctx, _("Handed to me"), "int", sum(series["assigned"]), None),
        headline(ctx, _("Waiting for my answer"), "int", waiting, None),
    ]
    result.chart = time_chart(ctx, [(label, series[k]) for k, label in keys], "int", "bar")
    over_time(ctx, result, [(k, str(label), "int", series[k]) for k, label in keys])
    result.link = "handoff:leads"
    if not sum(series["assigned"]) and not waiting:
        result.empty = _("No lead was handed to you in this period.")


@widget(
    "my_pipeline",
    gettext_lazy("My pipeline"),
    gettext_lazy("My open deals by stage today, and my deals won and lost in the period."),
    marketing=False,
    rep=True,
)
def _my_pipeline(ctx: Context, result: Result) -> None:
    deals = Deal.objects.for_workspace(ctx.workspace).filter(
        owner_id=ctx.user_id, currency=ctx.workspace.currency
    )
    low, high = bounds(ctx.workspace, ctx.period.start, ctx.period.end)
    stages = dict(DealStage.choices)
    rows = (
        deals.exclude(stage__in=[DealStage.WON, DealStage.LOST])
        .values("stage")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    result.columns = [
        ("stage", _("Stage"), "text"),
        ("deals", _("Deals"), "int"),
        ("amount", _("Value"), "money"),
    ]
    order = list(stages)
    result.rows = sorted(
        (
            {
                "stage": str(stages.get(r["stage"], r["stage"])),
                "deals": r["n"],
                "amount": float(r["total"] or 0),
                "_o": order.index(r["stage"]) if r["stage"] in order else 99,
            }
            for r in rows
        ),
        key=lambda r: r["_o"],
    )
    closed = deals.filter(closed_at__gte=low, closed_at__lt=high).aggregate(
        won=Count("id", filter=Q(stage=DealStage.WON)),
        won_amount=Sum("amount", filter=Q(stage=DealStage.WON)),
        lost=Count("id", filter=Q(stage=DealStage.LOST)),
    )
    result.figures = [
        headline(ctx, _("Open pipeline"), "money", sum(r["amount"] for r in result.rows), None),
        headline(ctx, _("Won in the period"), "money", float(closed["won_amount"] or 0), None),
        headline(
            ctx,
            _("Win rate"),
            "percent",
            ratio(closed["won"], closed["won"] + closed["lost"]),
            None,
        ),
    ]
    result.chart = {
        "type": "bar",
        "kind": "money",
        "categories": [r["stage"] for r in result.rows],
        "series": [{"name": _("Value"), "data": [r["amount"] for r in result.rows]}],
    }
    result.link = "deals:board"
    if not result.rows and not closed["won"] and not closed["lost"]:
        result.empty = _("You have no open deal and closed none in this period.")


@widget(
    "sla",
    gettext_lazy("Hand-off SLA"),
    gettext_lazy(
        "Of the leads handed to me in the period: how many I accepted within the time the "
        "workspace allows (the SLA, in working hours), the acceptance rate and the median "
        "hours from hand-off to acceptance."
    ),
    marketing=False,
    rep=True,
)
def _sla(ctx: Context, result: Result) -> None:
    from volano.handoff.selectors import handoff_report

    report = handoff_report(workspace=ctx.workspace, start=ctx.period.start, end=ctx.period.end)
    me = next((r for r in report["by_rep"] if r["rep_id"] == ctx.user_id), None)
    low, high = bounds(ctx.workspace, ctx.period.start, ctx.period.end)
    mine = Assignment.objects.for_workspace(ctx.workspace).filter(
        rep_id=ctx.user_id, assigned_at__gte=low, assigned_at__lt=high
    )
    counts = mine.aggregate(
        n=Count("id"),
        in_time=Count(
            "id",
            filter=Q(answered_at__isnull=False, due_at__isnull=False)
            & Q(answered_at__lte=F("due_at"))
            & Q(status__in=[AssignmentStatus.ACCEPTED, AssignmentStatus.CLOSED]),
        ),
    )
    result.figures = [
        headline(
            ctx,
            _("Accepted within the SLA"),
            "percent",
            ratio(counts["in_time"], counts["n"]),
            None,
        ),
        headline(ctx, _("Acceptance rate"), "percent", me["acceptance_rate"] if me else None, None),
        headline(
            ctx,
            _("Median hours to accept"),
            "hours",
            me["median_hours_to_accept"] if me else None,
            None,
        ),
    ]
    result.columns = [("what", _("Leads"), "text"), ("n", _("Number"), "int")]
    result.rows = [
        {"what": _("Handed to me"), "n": counts["n"]},
        {"what": _("Accepted within the SLA"), "n": counts["in_time"]},
        {"what": _("Accepted"), "n": me["accepted"] if me else 0},
        {"what": _("Rejected"), "n": me["rejected"] if me else 0},
        {"what": _("Not accepted in time"), "n": me["expired"] if me else 0},
    ]
    if not counts["n"]:
        result.empty = _("No lead was handed to you in this period.")


# -- the dashboards ------------------------------------------------------------------------------

MARKETER = [
    "funnel",
    "stages",
    "engagement",
    "email",
    "revenue",
    "cac_roi",
    "velocity",
    "at_risk",
    "workflows",
]
REP = ["my_leads", "my_pipeline", "sla", "velocity", "at_risk"]


def widget_compute(ctx: Context, key: str) -> Result:
    spec = REGISTRY[key]
    result = Result(key=key, title=str(spec.title), definition=str(spec.definition))
    spec.compute(ctx, result)
    return result


def dashboard_compute(ctx: Context, keys: list[str]) -> list[Result]:
    return [widget_compute(ctx, key) for key in keys if key in REGISTRY]
