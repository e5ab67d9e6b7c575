"""Pages of the reports about customers over time: cohort retention, related purchases (the
product's page of what its buyers also buy) and the churn-risk list."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from volano.campaigns.channels import channel_group_label
from volano.contacts.models import Contact
from volano.core.exports import csv_delimiter, csv_text
from volano.core.permissions import Cap, requires
from volano.reports import churn, cohorts, related


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _csv(rows: list[list[Any]], name: str) -> HttpResponse:
    text = csv_text(rows, delimiter=csv_delimiter(get_language()))
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


@requires(Cap.VIEW_DATA)
def cohorts_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    today = timezone.localdate()
    span = _int(request.GET.get("cohorts"), 12, 2, 36)
    channel = request.GET.get("channel", "")
    data = cohorts.cohort_retention(workspace, as_of=today, cohorts=span, channel=channel)
    if request.GET.get("format") == "csv":
        header = [_("First order month"), _("Customers")] + [
            _("Month %(n)s") % {"n": k} for k in range(data.offsets)
        ]
        rows: list[list[Any]] = [header]
        for month, size, shares in zip(data.months, data.sizes, data.shares, strict=True):
            rows.append([month, size, *(None if s is None else round(s * 100, 1) for s in shares)])
        return _csv(rows, "cohorts")
    context = {
        "data": data,
        "span": span,
        "channel": channel,
        "channel_label": channel_group_label(channel) if channel else "",
        "channels": [(c, channel_group_label(c), n) for c, n in data.channels],
        "offsets": list(range(data.offsets)),
        "table": [
            (month, size, [None if s is None else s * 100 for s in shares])
            for month, size, shares in zip(data.months, data.sizes, data.shares, strict=True)
        ],
        "chart": {
            "months": data.months,
            "sizes": data.sizes,
            "shares": data.shares,
            "labels": {
                "month": _("Months after the first order"),
                "cohort": _("First order month"),
                "share": _("Still buying"),
            },
        },
    }
    return render(request, "reports/cohorts.html", context)


@requires(Cap.VIEW_DATA)
def related_view(request: HttpRequest) -> HttpResponse:
    from volano.deals.selectors import product_line_list, product_list

    workspace = _ws(request)
    level = request.GET.get("level", related.PRODUCT)
    level = level if level in (related.PRODUCT, related.LINE) else related.PRODUCT
    item = request.GET.get("product", "").strip()[:64]
    data = related.related_purchases(workspace, item=item, level=level)
    if request.GET.get("format") == "csv":
        rows: list[list[Any]] = [
            [
                _("Bought"),
                _("Also bought"),
                _("Customers"),
                _("Support %"),
                _("Confidence %"),
                _("Lift"),
            ]
        ]
        for r in data.rules:
            rows.append(
                [
                    r.antecedent_name,
                    r.consequent_name,
                    r.together,
                    round(r.support * 100, 1),
                    round(r.confidence * 100, 1),
                    round(r.lift, 2),
                ]
            )
        return _csv(rows, f"related-{item or 'all'}")
    if level == related.PRODUCT:
        options = [(p.sku, f"{p.name} ({p.sku})") for p in product_list(workspace=workspace)]
    else:
        options = [(line.slug, line.name) for line in product_line_list(workspace=workspace)]
    context = {"data": data, "level": level, "item": item, "options": options}
    return render(request, "reports/related.html", context)


@requires(Cap.VIEW_DATA)
def churn_risk_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    today = timezone.localdate()
    percent = _int(request.GET.get("below"), int(churn.DEFAULT_THRESHOLD * 100), 1, 99)
    model = churn.kept_fit(workspace, as_of=today)
    rows = churn.churn_risk_list(workspace, as_of=today, threshold=percent / 100, model=model)
    if request.GET.get("format") == "csv":
        table: list[list[Any]] = [
            [
                _("Customer"),
                _("Email"),
                _("Probability still active %"),
                _("Purchase days"),
                _("Weeks since the last"),
                _("Lifetime value"),
            ]
        ]
        people = Contact.objects.for_workspace(workspace).in_bulk([r.contact_id for r in rows])
        for r in rows:
            person = people.get(r.contact_id)
            table.append(
                [
                    str(person or r.contact_id),
                    getattr(person, "email", ""),
                    round(r.p_alive * 100, 1),
                    r.purchases,
                    round(r.weeks_since_last, 1),
                    round(r.clv, 2),
                ]
            )
        return _csv(table, "churn-risk")
    shown = rows[:200]
    people = Contact.objects.for_workspace(workspace).in_bulk([r.contact_id for r in shown])
    context = {
        "model": model,
        "below": percent,
        "count": len(rows),
        "rows": [(people.get(r.contact_id), r) for r in shown],
        "currency": getattr(workspace, "currency", "") or "EUR",
    }
    return render(request, "reports/churn_risk.html", context)
