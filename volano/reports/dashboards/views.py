"""The dashboard pages: the marketer's and the rep's (the overview), custom dashboards, a widget's
data as CSV or Excel, sales velocity and account health. Thin: kpis/velocity/health compute."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError, ValidationFailed
from volano.core.exports import csv_delimiter, csv_lines
from volano.core.models import Role
from volano.core.permissions import Cap, allows, requires
from volano.reports.dashboards import exports, health, kpis, services
from volano.reports.dashboards.figures import Filters
from volano.reports.dashboards.forms import DashboardForm, WeightsForm
from volano.reports.dashboards.models import Dashboard
from volano.reports.dashboards.period import Period, period_parse

GRANULARITY_LABELS = (
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
    ("quarter", "Quarter"),
)


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _period(request: HttpRequest) -> tuple[Period, list[dict]]:
    today = timezone.localdate()
    try:
        return period_parse(request.GET, today=today), []
    except ValidationFailed as failure:
        return period_parse({}, today=today), failure.errors


def _marketing(request: HttpRequest) -> bool:
    return allows(request.membership.role, Cap.VIEW_MARKETING)  # type: ignore[attr-defined]


def _allowed(request: HttpRequest, keys: list[str]) -> list[str]:
    marketing = _marketing(request)
    return [k for k in keys if k in kpis.REGISTRY and (marketing or not kpis.REGISTRY[k].marketing)]


def _filters(dashboard: Dashboard | None) -> Filters:
    if dashboard is None:
        return Filters()
    return Filters(
        segment_id=dashboard.segment_id,
        product_line=dashboard.product_line,
        territory=dashboard.territory,
    )


def _export(result: kpis.Result, fmt: str, period: Period) -> HttpResponse | StreamingHttpResponse:
    name = f"{result.key}-{period.start}-{period.end}-{period.granularity}"
    if fmt == "xlsx":
        response = HttpResponse(
            exports.result_xlsx(result),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    streamed = StreamingHttpResponse(
        [
            "\ufeff",
            *csv_lines(exports.plain(result.table()), delimiter=csv_delimiter(get_language())),
        ],
        content_type="text/csv; charset=utf-8",
    )
    streamed["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return streamed


def dashboard_render(
    request: HttpRequest,
    *,
    keys: list[str],
    title: str,
    dashboard: Dashboard | None = None,
    rep: bool = False,
    extra: dict | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """One dashboard page (or one widget's export with `?widget=KEY&format=csv|xlsx`)."""
    workspace = _ws(request)
    period, errors = _period(request)
    ctx = kpis.Context(
        workspace, period, _filters(dashboard), user_id=request.user.pk if rep else None
    )
    keys = _allowed(request, keys)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        key = request.GET.get("widget", "")
        if key not in keys:
            raise Http404(key)
        return _export(kpis.widget_compute(ctx, key), fmt, period)
    results = kpis.dashboard_compute(ctx, keys)
    previous = period.previous()
    return render(
        request,
        "reports/dashboards/dashboard.html",
        {
            "title": title,
            "dashboard": dashboard,
            "rep": rep,
            "period": period,
            "previous": previous,
            "errors": errors,
            "raw": {key: request.GET.get(key, "") for key in ("from", "to", "range")},
            "granularities": [(v, _(label)) for v, label in GRANULARITY_LABELS],
            "presets": services.preset_choices(),
            "results": results,
            "charts": {
                r.key: json.loads(json.dumps(r.chart, cls=DjangoJSONEncoder))
                for r in results
                if r.chart
            },
            "currency": workspace.currency,
            "query": period.query(),
            "filters_text": services.filters_text(workspace, dashboard),
            **(extra or {}),
        },
        status=422 if errors else 200,
    )


def home_dashboard(
    request: HttpRequest, extra: dict | None = None
) -> HttpResponse | StreamingHttpResponse:
    """The overview: the marketer's dashboard, or a rep's own."""
    if request.membership.role == Role.SALES:  # type: ignore[attr-defined]
        return dashboard_render(
            request, keys=kpis.REP, title=_("My dashboard"), rep=True, extra=extra
        )
    return dashboard_render(request, keys=kpis.MARKETER, title=_("Dashboard"), extra=extra)


@requires(read=Cap.VIEW_DATA)
def dashboard_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/dashboards/list.html",
        {"dashboards": services.dashboards_visible(_ws(request), request.user)},
    )


@requires(read=Cap.VIEW_DATA)
def dashboard_view(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    dashboard = services.dashboard_get(workspace=_ws(request), user=request.user, pk=pk)
    return dashboard_render(
        request, keys=list(dashboard.widgets), title=dashboard.name, dashboard=dashboard
    )


@requires(read=Cap.VIEW_DATA, write=Cap.OWN_ACCOUNT)  # a dashboard is its owner's own
def dashboard_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    workspace = _ws(request)
    dashboard = (
        services.dashboard_get(workspace=workspace, user=request.user, pk=pk, editing=True)
        if pk
        else None
    )
    choices = [(k, str(kpis.REGISTRY[k].title)) for k in _allowed(request, list(kpis.REGISTRY))]
    form = DashboardForm(
        request.POST or None, workspace=workspace, widget_choices=choices, instance=dashboard
    )
    if request.method == "POST":
        if "delete" in request.POST and dashboard is not None:
            services.dashboard_delete(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                dashboard=dashboard,
            )
            messages.success(request, _("Dashboard deleted."))
            return redirect("reports:dashboards")
        if form.is_valid():
            try:
                saved = services.dashboard_save(
                    workspace=workspace,
                    actor=request.user,  # type: ignore[arg-type]
                    dashboard=dashboard,
                    data=form.cleaned_data,
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Dashboard saved."))
                return redirect("reports:dashboard", pk=saved.pk)
    return render(
        request,
        "reports/dashboards/edit.html",
        {"form": form, "dashboard": dashboard},
        status=422 if request.method == "POST" else 200,
    )


@requires(read=Cap.VIEW_DATA)
def velocity_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return dashboard_render(
        request,
        keys=["velocity"],
        title=_("Sales velocity"),
        extra={"velocity_page": True},
    )


@requires(read=Cap.VIEW_DATA, write=Cap.EDIT_MARKETING)
def health_page(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    weights = health.weights_get(workspace)
    form = WeightsForm(request.POST or None, instance=weights)
    if request.method == "POST":
        if "recompute" in request.POST:
            n = health.health_compute(workspace)
            messages.success(request, _("Health recomputed for %(n)s accounts.") % {"n": n})
            return redirect("reports:health")
        if form.is_valid():
            services.health_weights_save(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                data=form.cleaned_data,
            )
            messages.success(request, _("Weights saved: every score uses them now."))
            return redirect("reports:health")
    health.health_ensure(workspace)
    weights = health.weights_get(workspace)
    accounts = health.scored(workspace, weights)
    show = request.GET.get("show", "risk")
    if show == "risk":
        accounts = accounts.filter(score__lt=weights.at_risk_below)
    rows = list(accounts.order_by("score", "-value_12m", "pk")[:100])
    total = health.scored(workspace, weights).count()
    at_risk = health.scored(workspace, weights).filter(score__lt=weights.at_risk_below).count()
    return render(
        request,
        "reports/dashboards/health.html",
        {
            "form": form,
            "weights": weights,
            "show": show,
            "accounts": [{"account": a, "parts": health.explain(a, weights)} for a in rows],
            "total": total,
            "at_risk": at_risk,
            "currency": workspace.currency,
            "computed_on": rows[0].computed_on if rows else None,
        },
        status=422 if request.method == "POST" else 200,
    )
