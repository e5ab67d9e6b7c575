"""The ROI report pages under /campaigns/reports/: a period form, a chart, the table, and the
table as CSV or Excel (`?format=csv|xlsx`). Thin: the selectors compute."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from volano.campaigns.reports import exports, selectors
from volano.core.errors import ValidationFailed
from volano.core.exports import csv_delimiter
from volano.core.permissions import Cap, requires

# What each report is called in the tabs, and its main figure for the chart.
CHART_FIGURE = {
    "sqls": "sqls",
    "sql-revenue": "order_value",
    "cross-sell": "total",
}


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _tabs() -> list[dict[str, str]]:
    return [
        {"name": "sqls", "label": _("SQLs passed to sales")},
        {"name": "sql-revenue", "label": _("Offers and orders from SQLs")},
        {"name": "cross-sell", "label": _("Cross-sell and up-sell")},
        {"name": "content-funnel", "label": _("Content funnel")},
    ]


def _chart(report: selectors.Report) -> dict[str, Any]:
    labels = {key: str(label) for key, label, _kind in report.columns}
    if report.name == "content-funnel":
        steps = [k for k, _l, kind in report.columns if kind == "int"]
        return {
            "kind": "funnel",
            "integer": True,
            "categories": [row["content"] for row in report.rows[:12]],
            "series": [
                {"name": labels[step], "data": [row[step] for row in report.rows[:12]]}
                for step in steps
            ],
        }
    figure = CHART_FIGURE[report.name]
    periods = sorted({row["period"] for row in report.rows})
    campaigns = sorted({row["campaign"] for row in report.rows})
    values = {(row["period"], row["campaign"]): row[figure] for row in report.rows}
    if report.name == "cross-sell":
        return {
            "kind": "time",
            "integer": False,
            "title": _("Cross-sell and up-sell"),
            "categories": periods,
            "series": [
                {
                    "name": labels[key],
                    "data": [
                        float(sum(r[key] for r in report.rows if r["period"] == p)) for p in periods
                    ],
                }
                for key in ("cross_sell", "up_sell")
            ],
        }
    return {
        "kind": "time",
        "integer": figure == "sqls",
        "title": labels[figure],
        "categories": periods,
        "series": [
            {
                "name": campaign,
                "data": [float(values.get((p, campaign), 0) or 0) for p in periods],
            }
            for campaign in campaigns
        ],
    }


def _default_period() -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return today.replace(day=1) - dt.timedelta(days=365 - 31), today


@requires(read=Cap.VIEW_MARKETING)
def report_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/reports/index.html",
        {"tab": "reports", "reports": _tabs()},
    )


@requires(read=Cap.VIEW_MARKETING)
def report_page(request: HttpRequest, name: str) -> HttpResponse | StreamingHttpResponse:
    if name not in selectors.REPORTS:
        raise Http404(name)
    workspace = _ws(request)
    first, last = _default_period()
    raw = {
        "from": request.GET.get("from") or first.isoformat(),
        "to": request.GET.get("to") or last.isoformat(),
        "granularity": request.GET.get("granularity") or "month",
    }
    errors: list[dict] = []
    try:
        report = selectors.report_run(workspace, name, raw["from"], raw["to"], raw["granularity"])
    except ValidationFailed as failure:
        errors = failure.errors
        report = selectors.report_run(workspace, name, first, last, "month")
    fmt = request.GET.get("format", "")
    filename = f"{name}-{report.start}-{report.end}"
    if fmt == "csv" and not errors:
        response = StreamingHttpResponse(
            ["\ufeff", *exports.report_csv(report, delimiter=csv_delimiter(get_language()))],
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt == "xlsx" and not errors:
        response_x = HttpResponse(
            exports.report_xlsx(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response_x["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response_x
    query = f"from={report.start}&to={report.end}&granularity={report.granularity or 'month'}"
    return render(
        request,
        "campaigns/reports/report.html",
        {
            "tab": "reports",
            "reports": _tabs(),
            "report": report,
            "current": name,
            "raw": raw,
            "errors": errors,
            "granularities": [
                ("day", _("Day")),
                ("week", _("Week")),
                ("month", _("Month")),
                ("quarter", _("Quarter")),
            ],
            "columns": report.columns,
            "table": [
                [(row.get(key), kind) for key, _label, kind in report.columns]
                for row in report.rows
            ],
            "chart": _chart(report),
            "query": query,
            "currency": workspace.currency,
        },
        status=422 if errors else 200,
    )
