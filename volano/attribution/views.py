"""The attribution page: the seven models side by side (table and chart) with the pickers, ROI
per campaign or channel under a chosen model, and CSV / Excel of both tables. Thin: the
selectors compute, this shapes."""

from __future__ import annotations

import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
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


def _query(request: HttpRequest) -> tuple[selectors.Query, str, str, ApplicationError | None]:
    """The pickers' values checked; on a bad one, the defaults and the error to show."""
    try:
        query = selectors.query_parse(request.GET)
        model = selectors.model_parse(request.GET.get("model") or "markov")
        group = request.GET.get("group") or "campaign"
        if group not in selectors.ROI_GROUPS:
            raise ApplicationError(_("group must be campaign or channel"), field="group")
        return query, model, group, None
    except ApplicationError as error:
        return selectors.query_parse({}), "markov", "campaign", error


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


@requires(read=Cap.VIEW_MARKETING)
def attribution_page(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    query, model, group, error = _query(request)
    export = request.GET.get("export", "")
    fmt = request.GET.get("format", "csv")
    if export == "models":
        data = selectors.comparison(workspace, query)
        return _download(_comparison_table(query, data), fmt, "attribuzione-modelli")
    if export == "roi":
        data = selectors.roi(workspace, model, query, group=group)
        return _download(_roi_table(group, data), fmt, "attribuzione-roi")
    if export:
        raise Http404("no such export")
    data = selectors.comparison(workspace, query)
    roi = selectors.roi(workspace, model, query, group=group)
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
    roi_rows = [
        {"label": row["label"], "values": [row[key] for key, _label in ROI_COLUMNS]}
        for row in roi["rows"]
    ]
    params = request.GET.copy()
    params.pop("export", None)
    params.pop("format", None)
    return render(
        request,
        "attribution/page.html",
        {
            "query": query,
            "model": model,
            "group": group,
            "error": error,
            "data": data,
            "table": table,
            "models": models,
            "chart": chart,
            "roi_rows": roi_rows,
            "roi_labels": _roi_labels(),
            "roi_money": {0, 6, 7, 8},
            "conversions": [(c, selectors.CONVERSION_LABELS[c]) for c in CONVERSIONS],
            "dimensions": [(d, selectors.DIMENSION_LABELS[d]) for d in DIMENSIONS],
            "model_choices": [(m, selectors.MODEL_LABELS[m]) for m in selectors.MODELS],
            "first_percent": round(query.first * 100),
            "last_percent": round(query.last * 100),
            "querystring": params.urlencode(),
            "currency": getattr(workspace, "currency", "EUR") or "EUR",
        },
    )
