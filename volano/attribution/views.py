"""The attribution page: the seven models side by side (table and chart) with the pickers, ROI
per campaign or channel under a chosen model, and CSV / Excel of both tables. Thin: the
selectors compute, this shapes."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from volano.attribution import selectors
from volano.attribution.journeys import CONVERSIONS, DIMENSIONS
from volano.core.errors import ApplicationError
from volano.core.exports import csv_delimiter, csv_text, xlsx_row
from volano.core.permissions import Cap, requires

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _query(
    request: HttpRequest,
) -> tuple[selectors.Query, str, str, str, ApplicationError | None]:
    """The pickers' values checked; on a bad one, the defaults and the error to show."""
    try:
        query = selectors.query_parse(request.GET)
        model = selectors.model_parse(request.GET.get("model") or selectors.PAGE_MODEL)
        group = request.GET.get("group") or "campaign"
        if group not in selectors.ROI_GROUPS:
            raise ApplicationError(_("group must be campaign or channel"), field="group")
        granularity = selectors.granularity_parse(request.GET.get("granularity"))
        return query, model, group, granularity, None
    except ApplicationError as error:
        return selectors.query_parse({}), selectors.PAGE_MODEL, "campaign", "period", error


def granularity_labels() -> list[tuple[str, str]]:
    """The ROI report's granularities as the picker names them."""
    labels = {
        "period": _("Whole period"),
        "month": _("Month"),
        "quarter": _("Quarter"),
        "week": _("Week"),
        "day": _("Day"),
    }
    return [(value, labels[value]) for value in selectors.GRANULARITIES]


def bucket_label(granularity: str, label: str, first_day: dt.date) -> str:
    """A bucket as a reader names it, in the page's language: "maggio 2026", "settimana 19,
    2026", "T2 2026", "03/06/2026". The exports and the API keep the sortable key
    ("2026-05", "2026-W19", "2026-Q2", "2026-06-03")."""
    if granularity == "month":
        return date_format(first_day, "YEAR_MONTH_FORMAT")
    if granularity == "week":
        year, week = label.split("-W")
        return _("week %(week)s, %(year)s") % {"week": int(week), "year": year}
    if granularity == "quarter":
        year, quarter = label.split("-Q")
        return _("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": year}
    if granularity == "day":
        return date_format(first_day, "SHORT_DATE_FORMAT")
    return label


def bucket_short(granularity: str, label: str, first_day: dt.date) -> str:
    """A bucket as the chart's axis names it: short, so a year of months fits a phone."""
    if granularity == "month":
        return date_format(first_day, "M Y")
    if granularity == "week":
        year, week = label.split("-W")
        return _("W%(week)s %(year)s") % {"week": int(week), "year": year}
    if granularity == "day":
        return date_format(first_day, "j M")
    return bucket_label(granularity, label, first_day)


def _comparison_table(query: selectors.Query, data: dict) -> list[list[Any]]:
    header = [str(selectors.DIMENSION_LABELS[query.dimension])] + [
        str(selectors.MODEL_LABELS[m]) for m in selectors.MODELS
    ]
    rows = [header]
    for row in data["rows"]:
        rows.append([row["label"], *(round(row["values"][m], 2) for m in selectors.MODELS)])
    rows.append([_("Total"), *(round(data["total"], 2) for _m in selectors.MODELS)])
    return rows


ROI_COLUMNS = (
    ("cost", "Cost"),
    ("leads", "Leads"),
    ("mqls", "MQLs"),
    ("sqls", "SQLs"),
    ("customers", "Customers"),
    ("revenue", "Revenue"),
    ("cpl", "CPL"),
    ("cost_per_sql", "Cost per SQL"),
    ("cac", "CAC"),
    ("roas", "ROAS"),
    ("roi", "ROI"),
)


def _roi_labels() -> list[str]:
    return [
        _("Cost"),
        _("Leads"),
        _("MQLs"),
        _("SQLs"),
        _("Customers"),
        _("Revenue"),
        _("CPL"),
        _("Cost per SQL"),
        _("CAC"),
        _("ROAS"),
        _("ROI"),
    ]


def _roi_table(group: str, data: dict) -> list[list[Any]]:
    first = _("Campaign") if group == "campaign" else _("Channel group")
    by_bucket = data.get("granularity", "period") != "period"
    rows: list[list[Any]] = [([_("Period")] if by_bucket else []) + [first, *_roi_labels()]]
    for row in data["rows"]:
        rows.append(
            ([row["period"]] if by_bucket else [])
            + [row["label"]]
            + [None if row[key] is None else round(row[key], 2) for key, _label in ROI_COLUMNS]
        )
    return rows


def _download(rows: list[list[Any]], fmt: str, name: str) -> HttpResponse:
    if fmt == "csv":
        text = csv_text(rows, delimiter=csv_delimiter(get_language()))
        response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
        filename = f"{name}.csv"
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append(xlsx_row(sheet, row))
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX)
        filename = f"{name}.xlsx"
    else:
        raise Http404("no such format")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _roi_context(
    workspace: Any, model: str, query: selectors.Query, group: str, granularity: str
) -> dict[str, Any]:
    """The ROI section: its rows (per bucket when bucketed, each bucket with its totals) and,
    when bucketed, the chart's cost and attributed revenue per bucket."""
    roi = selectors.roi(workspace, model, query, group=group, granularity=granularity, wait="never")
    assert query.start is not None and query.end is not None
    spans = selectors.buckets(query.start, query.end, granularity)
    by_bucket: dict[str, list[dict[str, Any]]] = {label: [] for label, _f, _l in spans}
    for row in roi["rows"]:
        by_bucket[row["period"]].append(
            {"label": row["label"], "values": [row[key] for key, _label in ROI_COLUMNS]}
        )
    bucketed = granularity != "period"
    roi_buckets = []
    for label, first_day, _last_day in spans:
        rows = by_bucket[label]
        cost = sum(row["values"][0] for row in rows)
        revenue = sum(row["values"][5] for row in rows)
        roi_buckets.append(
            {
                "key": label,
                "label": bucket_label(granularity, label, first_day),
                "short": bucket_short(granularity, label, first_day),
                "rows": rows,
                "cost": cost,
                "revenue": revenue,
                "roas": revenue / cost if cost else None,
            }
        )
    roi_chart = None
    if bucketed:
        roi_chart = {
            "keys": [bucket["short"] for bucket in roi_buckets],
            "series": [
                {"name": _("Cost"), "data": [round(b["cost"], 2) for b in roi_buckets]},
                {
                    "name": _("Attributed revenue"),
                    "data": [round(b["revenue"], 2) for b in roi_buckets],
                },
            ],
        }
    return {
        "roi_rows": [row for bucket in roi_buckets for row in bucket["rows"]],
        "roi_buckets": roi_buckets,
        "roi_chart": roi_chart,
        "bucketed": bucketed,
        "roi_as_of": dt.datetime.fromisoformat(roi["as_of"]) if roi["as_of"] else None,
        "roi_stale": roi["stale"],
        "roi_refreshing": roi["refreshing"],
        "roi_computing": roi["computing"],
    }


@requires(read=Cap.VIEW_MARKETING)
def attribution_page(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    query, model, group, granularity, error = _query(request)
    export = request.GET.get("export", "")
    fmt = request.GET.get("format", "csv")
    if export == "models":
        data = selectors.comparison(workspace, query)
        return _download(_comparison_table(query, data), fmt, "attribuzione-modelli")
    if export == "roi":
        data = selectors.roi(workspace, model, query, group=group, granularity=granularity)
        return _download(_roi_table(group, data), fmt, "attribuzione-roi")
    if export:
        raise Http404("no such export")
    params = request.GET.copy()
    params.pop("export", None)
    params.pop("format", None)
    context: dict[str, Any] = {
        "query": query,
        "model": model,
        "group": group,
        "granularity": granularity,
        "error": error,
        "model_choices": [(m, selectors.MODEL_LABELS[m]) for m in selectors.MODELS],
        "granularity_choices": granularity_labels(),
        "roi_labels": _roi_labels(),
        "roi_money": {0, 6, 7, 8},
        "querystring": params.urlencode(),
        "currency": getattr(workspace, "currency", "EUR") or "EUR",
        **_roi_context(workspace, model, query, group, granularity),
    }
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and htmx.target == "roi":
        # the ROI form asks for its section alone: the seven models are not computed again
        response = render(request, "attribution/_roi.html", {**context, "oob": True})
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    data = selectors.comparison(workspace, query, wait="never")
    models = [
        {
            "key": m,
            "label": selectors.MODEL_LABELS[m],
            "explanation": selectors.MODEL_EXPLANATIONS[m],
        }
        for m in selectors.MODELS
    ]
    chart = {
        "keys": [row["label"] for row in data["rows"]],
        "series": [
            {
                "name": str(selectors.MODEL_LABELS[m]),
                "data": [round(row["values"][m], 2) for row in data["rows"]],
            }
            for m in selectors.MODELS
        ],
        "revenue": query.conversion == "revenue",
    }
    table = [
        {"label": row["label"], "values": [row["values"][m] for m in selectors.MODELS]}
        for row in data["rows"]
    ]
    context = {
        **context,
        "data": data,
        "as_of": dt.datetime.fromisoformat(data["as_of"]) if data["as_of"] else None,
        "table": table,
        "models": models,
        "chart": chart,
        "conversions": [(c, selectors.CONVERSION_LABELS[c]) for c in CONVERSIONS],
        "dimensions": [(d, selectors.DIMENSION_LABELS[d]) for d in DIMENSIONS],
        "first_percent": round(query.first * 100),
        "last_percent": round(query.last * 100),
    }
    if htmx and not htmx.boosted and htmx.target == "models":
        # the models' section polling while it is computed in the background
        response = render(request, "attribution/_models.html", context)
    else:
        response = render(request, "attribution/page.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
