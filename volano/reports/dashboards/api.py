"""/api/v1 routes of the dashboards: every KPI widget, sales velocity and account health, with the
dashboard's period parameters (`from`, `to` or `range`, `granularity`, `compare`) and filters
(`segment`, `product_line`, `territory`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from volano.core.errors import ApplicationError, NotFound, PermissionDenied
from volano.core.permissions import Cap, allows
from volano.reports.dashboards import health, kpis, velocity
from volano.reports.dashboards.figures import Filters
from volano.reports.dashboards.period import Period, period_parse

router = Router(tags=["reports"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _period(request: HttpRequest) -> Period:
    return period_parse(request.GET, today=timezone.localdate())


def _filters(request: HttpRequest) -> Filters:
    raw = request.GET.get("segment") or ""
    try:
        segment = int(raw) if raw else None
    except ValueError:
        raise ApplicationError("must be a segment id", field="segment") from None
    return Filters(
        segment_id=segment,
        product_line=request.GET.get("product_line") or "",
        territory=request.GET.get("territory") or "",
    )


def _period_json(period: Period) -> dict:
    previous = period.previous()
    return {
        "from": period.start,
        "to": period.end,
        "granularity": period.granularity,
        "compare": period.compare,
        "previous": {"from": previous.start, "to": previous.end} if previous else None,
    }


@router.get(
    "/reports/kpis",
    summary="The KPI widgets there are: key, title, definition",
)
def reports_kpis(request: HttpRequest) -> list[dict]:
    return [
        {"key": w.key, "title": str(w.title), "definition": str(w.definition), "rep": w.rep}
        for w in kpis.REGISTRY.values()
    ]


@router.get(
    "/reports/kpis/{name}",
    summary="One KPI widget's figures, comparison, rows and notes for a period "
    "(from/to or range; granularity day|week|month|quarter; compare previous|year|none; "
    "filters segment, product_line, territory)",
)
def reports_kpi(request: HttpRequest, name: str) -> dict:
    if name not in kpis.REGISTRY:
        raise NotFound(f"no such KPI: {name}")
    spec = kpis.REGISTRY[name]
    role = request.membership.role  # type: ignore[attr-defined]
    if spec.marketing and not allows(role, Cap.VIEW_MARKETING):
        raise PermissionDenied(_("your role may not see this KPI"))
    ctx = kpis.Context(
        _ws(request), _period(request), _filters(request),
        user_id=request.user.pk if spec.rep else None,  # type: ignore[union-attr]
    )  # fmt: skip
    result = kpis.widget_compute(ctx, name)
    return {"period": _period_json(ctx.period), **result.as_json(), "by": result.extra or None}


@router.get(
    "/reports/velocity",
    summary="Sales velocity and its four factors per period, product line, territory and rep",
)
def reports_velocity(request: HttpRequest) -> dict:
    period = _period(request)
    report = velocity.velocity_report(_ws(request), period, _filters(request))
    return {"period": _period_json(period), **report}


@router.get(
    "/reports/health",
    summary="Account health: the weights and the accounts (at risk first), each part explained",
)
def reports_health(request: HttpRequest, at_risk: bool = False, limit: int = 100) -> dict:
    workspace = _ws(request)
    health.health_ensure(workspace)
    weights = health.weights_get(workspace)
    accounts = health.scored(workspace, weights)
    if at_risk:
        accounts = accounts.filter(score__lt=weights.at_risk_below)
    rows = accounts.order_by("score", "-value_12m", "pk")[: max(1, min(limit, 1000))]
    return {
        "weights": {part: getattr(weights, part) for part in health.PARTS},
        "at_risk_below": weights.at_risk_below,
        "accounts": health.scored(workspace, weights).count(),
        "at_risk": health.scored(workspace, weights)
        .filter(score__lt=weights.at_risk_below)
        .count(),
        "rows": [
            {
                "company_id": a.company_id,
                "contact_id": a.contact_id,
                "name": a.name,
                "score": a.score,
                "computed_on": a.computed_on,
                "parts": [
                    {k: (str(v) if k == "label" else v) for k, v in part.items()}
                    for part in health.explain(a, weights)
                ],
            }
            for a in rows
        ],
    }
