"""The stakeholder report (seed 003 §15): a concise, data-driven page and PDF for the board.

For a period it gathers, from the domains' own selectors (nothing is recomputed here):

- the period's **KPIs** — leads, MQLs, SQLs and new customers (the funnel report's counts),
  revenue (completed orders and won deals, as attribution counts it), pipeline created, marketing
  spend (the costs), revenue attributed to marketing, ROI and CAC — each beside the previous
  figure: **what changed since the previous report**. The previous figure is the last report
  kept for a period that ended before this one started; with none, the period of the same length
  just before;
- the **funnel** (conversion between stages, time in stage);
- **spend and ROI** by channel group and the **top campaigns**, under the position-based model
  (40% first touch, 40% last, 20% shared by the touches between): the attribution page shows the
  other six;
- the **pipeline**: deals opened, won and lost in the period, open at its end;
- the **goals** (the workspace's SMART goals whose time overlaps the period): each one's target,
  its value at the end of the period (or at its deadline, or today, whichever comes first), the
  value its straight line expects by then, and whether it is on track, behind, achieved or
  missed, read through the goals domain's selectors (`goals.selectors.goal_progress`).

`stakeholder_pdf` renders the same content through WeasyPrint; the charts are inline SVG drawn
here (WeasyPrint runs no JavaScript), so the web page and the PDF show the same pictures.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from volano.attribution import daily, journeys
from volano.attribution import selectors as attribution
from volano.campaigns.costs.selectors import costs_in
from volano.core.models import Workspace
from volano.deals.models import OPEN_DEAL_STAGES, Deal, DealStage
from volano.goals import selectors as goals
from volano.goals.metrics import METRICS
from volano.lifecycle import selectors as lifecycle
from volano.orders.models import Order

MODEL = "position"
PRINT_CSS = Path(__file__).parent / "static" / "reports" / "stakeholder-print.css"
TOP_CAMPAIGNS = 5
MAX_DAYS = 3 * 366

# key, format ("count", "eur", "ratio"), whether a fall is the good direction
KPIS: tuple[tuple[str, str, bool], ...] = (
    ("leads", "count", False),
    ("mqls", "count", False),
    ("sqls", "count", False),
    ("customers", "count", False),
    ("revenue", "eur", False),
    ("pipeline_created", "eur", False),
    ("spend", "eur", True),
    ("marketing_revenue", "eur", False),
    ("roi", "ratio", False),
    ("cac", "eur", True),
)


def _labels() -> dict[str, str]:
    return {
        "leads": _("Leads"),
        "mqls": _("MQLs"),
        "sqls": _("SQLs"),
        "customers": _("New customers"),
        "revenue": _("Revenue"),
        "pipeline_created": _("Pipeline created"),
        "spend": _("Marketing spend"),
        "marketing_revenue": _("Revenue attributed to marketing"),
        "roi": _("Marketing ROI"),
        "cac": _("Cost per new customer (CAC)"),
    }


def period_check(start: dt.date, end: dt.date) -> None:
    from volano.core.errors import ApplicationError

    if start > end:
        raise ApplicationError(_("The period starts after it ends."), field="from")
    if (end - start).days > MAX_DAYS:
        raise ApplicationError(
            _("The period may span at most %(days)s days.") % {"days": MAX_DAYS}, field="from"
        )


def _money(value: Any) -> float:
    return float(value or 0)


def _figures(
    workspace: Workspace,
    start: dt.date,
    end: dt.date,
    *,
    kpis_only: bool = False,
    touches: Any = None,
) -> dict[str, Any]:
    """The KPIs of one period, with the tables behind them (`kpis_only`: the period compared
    with, whose campaigns are not shown, so they are not attributed). `touches`: a function
    giving attribution's touches of a span that holds this period and its lookback."""
    since, until = lifecycle.period_bounds(workspace, start, end)
    funnel = lifecycle.funnel_report(workspace=workspace, start=start, end=end)
    entered = {row["stage"]: row["entered"] for row in funnel["stages"]}
    orders = Order.objects.for_workspace(workspace).filter(
        status="completed", ordered_at__gte=since, ordered_at__lt=until
    )
    deals = Deal.objects.for_workspace(workspace)
    won = deals.filter(stage=DealStage.WON, closed_at__gte=since, closed_at__lt=until)
    zero = Decimal(0)
    order_revenue = orders.aggregate(v=Coalesce(Sum("total"), zero))["v"]
    won_figures = won.aggregate(v=Coalesce(Sum("amount"), zero), n=Count("pk"))
    created = deals.filter(created_at__gte=since, created_at__lt=until).aggregate(
        v=Coalesce(Sum("amount"), zero), n=Count("pk")
    )
    lost = deals.filter(stage=DealStage.LOST, closed_at__gte=since, closed_at__lt=until).count()
    # open at the end of the period: opened by then, and not closed by then (or still open)
    open_at_end = deals.filter(created_at__lt=until).filter(
        Q(stage__in=OPEN_DEAL_STAGES, closed_at__isnull=True) | Q(closed_at__gte=until)
    )
    open_figures = open_at_end.aggregate(v=Coalesce(Sum("amount"), zero), n=Count("pk"))
    spend = _money(costs_in(workspace, start, end).aggregate(v=Coalesce(Sum("amount"), zero))["v"])

    query = attribution.Query(start=start, end=end)
    # the touches are read at most once for both groups, and not at all when both are kept
    if touches is None:
        touches = daily.SharedTouches(
            workspace, query.start_at - dt.timedelta(days=query.lookback_days), query.end_at
        )
    # kept per day (`attribution.daily`): a change recomputes only the days it can move
    by_channel = attribution.roi(
        workspace, MODEL, query, group="channel", touches=touches, by_day=True
    )["rows"]
    by_campaign = (
        []
        if kpis_only
        else attribution.roi(
            workspace, MODEL, query, group="campaign", touches=touches, by_day=True
        )["rows"]
    )
    # marketing's share: the revenue credited to a marketing channel, not to direct visits, to
    # touches with no campaign or to the journeys with no touch at all
    not_marketing = {journeys.NOT_SET, journeys.NO_TOUCH, "direct"}
    marketing_revenue = sum(r["revenue"] for r in by_channel if r["key"] not in not_marketing)
    customers = entered.get("customer", 0)
    kpis = {
        "leads": entered.get("lead", 0),
        "mqls": entered.get("mql", 0),
        "sqls": entered.get("sql", 0),
        "customers": customers,
        "revenue": _money(order_revenue) + _money(won_figures["v"]),
        "pipeline_created": _money(created["v"]),
        "spend": spend,
        "marketing_revenue": round(marketing_revenue, 2),
        "roi": round((marketing_revenue - spend) / spend, 4) if spend else None,
        "cac": round(spend / customers, 2) if spend and customers else None,
    }
    campaigns = [
        r
        for r in by_campaign
        if r["key"] not in (journeys.NOT_SET, journeys.NO_TOUCH) and (r["revenue"] or r["cost"])
    ][:TOP_CAMPAIGNS]
    return {
        "kpis": kpis,
        "funnel": funnel,
        "channels": [
            {k: r[k] for k in ("key", "label", "cost", "revenue", "roas", "customers")}
            for r in by_channel
        ],
        "campaigns": [
            {k: r[k] for k in ("key", "label", "cost", "revenue", "roas", "sqls", "customers")}
            for r in campaigns
        ],
        "pipeline": {
            "created_value": _money(created["v"]),
            "created": created["n"],
            "won_value": _money(won_figures["v"]),
            "won": won_figures["n"],
            "lost": lost,
            "open_value": _money(open_figures["v"]),
            "open": open_figures["n"],
        },
    }


# The days kept ahead each night (`credits_warm`): a year and a month, so the board's usual
# periods (a month, a quarter, a year) and the period before most of them are read, not computed
WARM_DAYS = 400


def credits_warm(workspace: Workspace, *, today: dt.date) -> int:
    """Compute ahead the attributed days the board's report reads, up to yesterday, so the first
    report of the day (a schedule's or a person's) sums kept days instead of computing months
    cold. Days already kept and current are not computed again. Returns how many days the two
    groups cover (0 when the period holds no day)."""
    start, end = today - dt.timedelta(days=WARM_DAYS), today - dt.timedelta(days=1)
    query = attribution.Query(start=start, end=end)
    touches = daily.SharedTouches(
        workspace, query.start_at - dt.timedelta(days=query.lookback_days), query.end_at
    )
    for group in ("channel", "campaign"):
        attribution.roi(workspace, MODEL, query, group=group, touches=touches, by_day=True)
    return (end - start).days + 1


def goals_against(workspace: Workspace, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The goals whose time overlaps the period, each as it stood at the period's end (at most
    today): what the board reads as "against the goals". Plain data (a kept report keeps it)."""
    today = goals.workspace_today(workspace)
    rows = []
    for goal in goals.goal_list(workspace=workspace).filter(start_on__lte=end, deadline__gte=start):
        progress = goals.goal_progress(goal, today=min(end, today))
        metric = METRICS[goal.metric]
        rows.append(
            {
                "id": goal.pk,
                "name": goal.name,
                "metric": goal.metric,
                "unit": metric.unit,
                "start_on": goal.start_on.isoformat(),
                "deadline": goal.deadline.isoformat(),
                "as_of": progress.as_of.isoformat(),
                "target": progress.target,
                "value": None if progress.value is None else round(progress.value, 2),
                "expected": None if progress.expected is None else round(progress.expected, 2),
                "status": progress.status,
            }
        )
    return rows


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period just before: whole calendar months (a month, a quarter, a year) are compared
    with as many whole months before; any other period with the same number of days before."""
    before_end = start - dt.timedelta(days=1)
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        index = start.year * 12 + start.month - 1 - months
        return dt.date(index // 12, index % 12 + 1, 1), before_end
    return before_end - dt.timedelta(days=(end - start).days), before_end


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / abs(before), 4)


def stakeholder_figures(
    workspace: Workspace,
    *,
    start: dt.date,
    end: dt.date,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data. `previous` is the figures of the
    previous report kept (its `kpis`, `start`, `end`); without it, the period of the same length
    just before this one is computed and compared."""
    period_check(start, end)
    before_start, before_end = previous_period(start, end)
    # days to compute in both periods read the touches once, over both and their lookback
    span = attribution.Query(start=before_start if previous is None else start, end=end)
    touches = daily.SharedTouches(
        workspace, span.start_at - dt.timedelta(days=span.lookback_days), span.end_at
    )
    current = _figures(workspace, start, end, touches=touches)
    if previous is None:
        before = _figures(workspace, before_start, before_end, kpis_only=True, touches=touches)[
            "kpis"
        ]
        previous = {
            "kpis": before,
            "start": before_start.isoformat(),
            "end": before_end.isoformat(),
            "source": "period",
        }
    labels = _labels()
    rows = []
    for key, kind, lower_is_better in KPIS:
        value, before = current["kpis"][key], previous["kpis"].get(key)
        change = _change(value, before)
        rows.append(
            {
                "key": key,
                "label": labels[key],
                "format": kind,
                "value": value,
                "previous": before,
                "change": change,
                "change_pct": None if change is None else round(change * 100, 1),
                "value_pct": round(value * 100, 1)
                if kind == "ratio" and value is not None
                else None,
                "previous_pct": round(before * 100, 1)
                if kind == "ratio" and before is not None
                else None,
                "better": None
                if change is None or change == 0
                else (change < 0) == lower_is_better,
            }
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": "EUR",
        "model": MODEL,
        "previous": {k: previous[k] for k in ("start", "end", "source") if k in previous},
        "kpis": rows,
        "kpi_values": current["kpis"],
        "funnel": current["funnel"],
        "channels": current["channels"],
        "campaigns": current["campaigns"],
        "pipeline": current["pipeline"],
        "goals": goals_against(workspace, start, end),
    }


# --- inline SVG charts (the web page and the PDF draw the same) ------------------------------


def _bars_svg(rows: list[tuple[str, list[float]]], colours: list[str], title: str) -> str:
    """Horizontal bars, one group a row, scaled to the largest value; text is the caller's."""
    from django.utils.html import escape

    top = max([v for _, values in rows for v in values] + [1.0])
    bar, gap, label_width, width = 14, 10, 200, 560
    group = bar * len(colours) + gap
    height = max(group * len(rows), group)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, values) in enumerate(rows):
        y = i * group
        parts.append(
            f'<text x="0" y="{y + bar}" font-size="11" fill="#1f2933">{escape(label[:34])}</text>'
        )
        for j, value in enumerate(values):
            length = (width - label_width - 10) * (value / top)
            parts.append(
                f'<rect x="{label_width}" y="{y + j * bar}" width="{max(length, 0.5):.1f}" '
                f'height="{bar - 3}" fill="{colours[j]}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def funnel_rows(workspace: Workspace, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel's rows with the workspace's own name of each stage (in the active language)."""
    names = lifecycle.stage_names(workspace=workspace)
    return [
        {**row, "label": names.get(row["stage"], row["stage"])}
        for row in figures["funnel"]["stages"]
    ]


def charts(workspace: Workspace, figures: dict[str, Any]) -> dict[str, str]:
    stages = [(str(r["label"]), [float(r["entered"])]) for r in funnel_rows(workspace, figures)]
    channel_rows = [
        (str(r["label"]), [float(r["cost"]), float(r["revenue"])])
        for r in figures["channels"]
        if r["cost"] or r["revenue"]
    ][:8]
    return {
        "funnel": _bars_svg(stages, ["#1b5aa0"], _("Contacts reaching each stage")),
        "channels": _bars_svg(
            channel_rows, ["#b45309", "#2f855a"], _("Spend and attributed revenue by channel")
        )
        if channel_rows
        else "",
    }


def goal_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals' rows with their figures in words, in the active language ("€ 12.500",
    "23,5 %", "on track"); a report kept before goals were shown has none."""
    from volano.goals.templatetags.goals import goal_value, status_label

    rows = []
    for row in figures.get("goals") or []:
        metric = METRICS.get(row["metric"])
        if metric is None:
            continue
        rows.append(
            {
                **row,
                "metric_label": metric.label,
                "target_text": goal_value(row["target"], metric),
                "value_text": goal_value(row["value"], metric),
                "expected_text": goal_value(row["expected"], metric),
                "status_text": status_label(row["status"]),
                "good": row["status"] in ("on_track", "achieved"),
                "bad": row["status"] in ("behind", "missed"),
                "deadline_date": dt.date.fromisoformat(row["deadline"]),
                "as_of_date": dt.date.fromisoformat(row["as_of"]),
            }
        )
    return rows


def stakeholder_html(
    workspace: Workspace, figures: dict[str, Any], *, language: str, standalone: bool
) -> str:
    """The report's HTML: `standalone` for the PDF (its own page, print CSS), else the part the
    web page includes."""
    with translation.override(language):
        return render_to_string(
            "reports/stakeholder_report.html",
            {
                "workspace": workspace,
                "figures": figures,
                "charts": charts(workspace, figures),
                "funnel_rows": funnel_rows(workspace, figures),
                "goal_rows": goal_rows(figures),
                "period": {
                    key: dt.date.fromisoformat(value)
                    for key, value in (
                        ("start", figures["start"]),
                        ("end", figures["end"]),
                        ("previous_start", figures["previous"]["start"]),
                        ("previous_end", figures["previous"]["end"]),
                    )
                },
                "standalone": standalone,
                "language": language,
            },
        )


def stakeholder_pdf(workspace: Workspace, figures: dict[str, Any], *, language: str) -> bytes:
    from weasyprint import CSS, HTML

    html = stakeholder_html(workspace, figures, language=language, standalone=True)
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])
