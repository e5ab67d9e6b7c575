"""/api/v1 routes of the reports: customer lifetime value (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from ninja import Query, Router, Schema

from volano.contacts.models import Contact
from volano.core.tenancy import access_in_workspace
from volano.reports import clv, selectors, services, stakeholder

router = Router(tags=["reports"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class BgNbdOut(Schema):
    r: float
    alpha: float
    a: float
    b: float


class GammaGammaOut(Schema):
    p: float
    q: float
    gamma: float


class ClvOut(Schema):
    """`bgnbd` and `gamma_gamma` are null, and `note` says why, when the orders cannot support
    the model (too few customers, or too few who bought again)."""

    as_of: dt.date
    bgnbd: BgNbdOut | None
    gamma_gamma: GammaGammaOut | None
    note: str = ""
    customers: int
    repeat_customers: int
    currency: str
    horizon_months: int
    discount_monthly: float
    clv_total: float
    clv_mean: float
    at_risk: int


class ValueOut(Schema):
    p_alive: float | None
    expected_purchases: float | None
    expected_spend: float | None
    clv: float | None
    purchases: int
    currency: str
    as_of: dt.date


def _today() -> dt.date:
    return timezone.localdate()


@router.get(
    "/reports/clv",
    response=ClvOut,
    summary="Customer lifetime value: BG/NBD and Gamma-Gamma fitted on the orders up to as_of",
)
def reports_clv(
    request: HttpRequest,
    as_of: dt.date | None = None,
    horizon_months: int = Query(12, ge=1, le=120),
    discount_monthly: float = Query(0.01, ge=0, le=1),
    at_risk_below: float = Query(0.3, ge=0, le=1),
):
    workspace = _ws(request)
    day = as_of or _today()
    summary = clv.customer_summary(workspace, as_of=day)
    try:
        fit = selectors.value_fit_as_of(workspace, as_of=day, summary=summary)
    except clv.NotEnoughData as refusal:
        return {
            "as_of": day,
            "bgnbd": None,
            "gamma_gamma": None,
            "note": refusal.message,
            "customers": len(summary),
            "repeat_customers": int((summary.x > 0).sum()),
            "currency": summary.currency,
            "horizon_months": horizon_months,
            "discount_monthly": discount_monthly,
            "clv_total": 0.0,
            "clv_mean": 0.0,
            "at_risk": 0,
        }
    x, t_x, T, m = summary.x, summary.t_x, summary.T, summary.m
    values = clv.clv(
        fit, x, t_x, T, m, horizon_months=horizon_months, discount_monthly=discount_monthly
    )
    alive = fit.bgnbd.p_alive(x, t_x, T)
    return {
        "as_of": day,
        "bgnbd": vars(fit.bgnbd),
        "gamma_gamma": vars(fit.gamma_gamma),
        "customers": fit.customers,
        "repeat_customers": fit.repeat_customers,
        "currency": summary.currency,
        "horizon_months": horizon_months,
        "discount_monthly": discount_monthly,
        "clv_total": round(float(values.sum()), 2),
        "clv_mean": round(float(values.mean()), 2) if len(values) else 0.0,
        "at_risk": int((alive < at_risk_below).sum()),
    }


@router.get(
    "/contacts/{contact_id}/value",
    response=ValueOut,
    summary="A customer's probability of being active, expected purchases, spend and CLV",
)
def contacts_value(
    request: HttpRequest,
    contact_id: int,
    as_of: dt.date | None = None,
    horizon_months: int = Query(12, ge=1, le=120),
    discount_monthly: float = Query(0.01, ge=0, le=1),
):
    workspace = _ws(request)
    contact = access_in_workspace(Contact, workspace=workspace, pk=contact_id)
    day = as_of or _today()
    value = selectors.contact_value(
        workspace,
        contact_id=contact.pk,
        as_of=day,
        horizon_months=horizon_months,
        discount_monthly=discount_monthly,
    )
    return {**vars(value), "as_of": day}


class StakeholderKpiOut(Schema):
    key: str
    label: str
    format: str
    value: float | None
    previous: float | None
    change: float | None


class StakeholderOut(Schema):
    """The stakeholder report's figures; `previous` says what they are compared with (`source`
    "report": the last report kept for an earlier period; "period": the period just before)."""

    start: dt.date
    end: dt.date
    currency: str
    model: str
    previous: dict[str, str]
    kpis: list[StakeholderKpiOut]
    funnel: dict[str, Any]
    channels: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    pipeline: dict[str, float]


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    today = _today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return start or last.replace(day=1), end or last


@router.get(
    "/reports/stakeholder",
    response=StakeholderOut,
    summary="The stakeholder report of a period (KPIs and what changed, funnel, pipeline, ROI)",
)
def reports_stakeholder(
    request: HttpRequest,
    start: dt.date | None = Query(None, alias="from"),  # noqa: B008
    end: dt.date | None = Query(None, alias="to"),  # noqa: B008
):
    first, last = _period(start, end)
    return services.stakeholder_figures_compared(workspace=_ws(request), start=first, end=last)


@router.get(
    "/reports/stakeholder.pdf",
    summary="The stakeholder report of a period as a PDF (language it or en)",
)
def reports_stakeholder_pdf(
    request: HttpRequest,
    start: dt.date | None = Query(None, alias="from"),  # noqa: B008
    end: dt.date | None = Query(None, alias="to"),  # noqa: B008
    language: str = Query("it", pattern="^(it|en)$"),
):
    workspace = _ws(request)
    first, last = _period(start, end)
    figures = services.stakeholder_figures_compared(workspace=workspace, start=first, end=last)
    with translation.override(language):
        pdf = stakeholder.stakeholder_pdf(workspace, figures, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{first}-{last}.pdf"'
    return response
