"""Reads of the reports: customer value per contact and over all customers; the stakeholder\nreports kept and their schedules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from volano.core.models import Workspace
from volano.reports import clv
from volano.reports.models import ReportSchedule, StakeholderReport, ValueModel


def value_fit_as_of(
    workspace: Workspace, *, as_of: dt.date, summary: clv.Summary | None = None
) -> clv.ValueFit:
    """The fit kept for that date (services.value_model_fit, nightly and on demand), else one
    made now from the orders and not kept (a read writes nothing)."""
    kept = ValueModel.objects.for_workspace(workspace).filter(as_of=as_of).first()
    if kept is not None:
        return value_fit(kept)
    return clv.fit(summary if summary is not None else clv.customer_summary(workspace, as_of=as_of))


def value_fit(model: ValueModel) -> clv.ValueFit:
    return clv.ValueFit(
        bgnbd=clv.BgNbd(r=model.r, alpha=model.alpha, a=model.a, b=model.b),
        gamma_gamma=clv.GammaGamma(p=model.p, q=model.q, gamma=model.gamma),
        customers=model.customers,
        repeat_customers=model.repeat_customers,
    )


@dataclass(frozen=True)
class ContactValue:
    """A customer's value as of a date; all None for a contact with no order up to then."""

    p_alive: float | None
    expected_purchases: float | None
    expected_spend: float | None
    clv: float | None
    purchases: int
    currency: str


def contact_value(
    workspace: Workspace,
    *,
    contact_id: int,
    as_of: dt.date,
    horizon_months: int = 12,
    discount_monthly: float = 0.01,
) -> ContactValue:
    summary = clv.customer_summary(workspace, as_of=as_of, contact_id=contact_id)
    if not len(summary):
        return ContactValue(None, None, None, None, 0, summary.currency)
    fit = value_fit_as_of(workspace, as_of=as_of)
    x, t_x, T, m = summary.x, summary.t_x, summary.T, summary.m
    weeks = horizon_months * clv.MONTH_WEEKS
    return ContactValue(
        p_alive=float(fit.bgnbd.p_alive(x, t_x, T)[0]),
        expected_purchases=float(fit.bgnbd.expected_purchases(weeks, x, t_x, T)[0]),
        expected_spend=float(fit.gamma_gamma.expected_spend(x, m)[0]),
        clv=float(
            clv.clv(
                fit, x, t_x, T, m, horizon_months=horizon_months, discount_monthly=discount_monthly
            )[0]
        ),
        purchases=int(x[0]) + 1,
        currency=summary.currency,
    )


@dataclass(frozen=True)
class CustomersValue:
    """Every customer's value as of a date (arrays in contact order), for distributions and the
    churn-risk list."""

    contact_ids: np.ndarray
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    clv: np.ndarray


def customers_value(
    workspace: Workspace,
    *,
    as_of: dt.date,
    horizon_months: int = 12,
    discount_monthly: float = 0.01,
) -> CustomersValue:
    summary = clv.customer_summary(workspace, as_of=as_of)
    fit = value_fit_as_of(workspace, as_of=as_of, summary=summary)
    x, t_x, T, m = summary.x, summary.t_x, summary.T, summary.m
    return CustomersValue(
        contact_ids=summary.contact_ids,
        p_alive=fit.bgnbd.p_alive(x, t_x, T),
        expected_purchases=fit.bgnbd.expected_purchases(
            horizon_months * clv.MONTH_WEEKS, x, t_x, T
        ),
        clv=clv.clv(
            fit, x, t_x, T, m, horizon_months=horizon_months, discount_monthly=discount_monthly
        ),
    )


def report_schedules(workspace: Workspace) -> QuerySet[ReportSchedule]:
    return ReportSchedule.objects.for_workspace(workspace).order_by("name", "pk")


def stakeholder_reports(workspace: Workspace) -> QuerySet[StakeholderReport]:
    return StakeholderReport.objects.for_workspace(workspace).order_by("-end", "-id")
