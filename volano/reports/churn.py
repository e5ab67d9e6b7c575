"""Churn risk: the customers whose probability of being still active (BG/NBD's P(alive)) is
below a threshold, and the `churn_risk` event that tells a workflow when a customer crosses it.

The event is a custom event named `churn_risk` (properties: p_alive, threshold, clv), written
through the events domain's ingestion, so a workflow with the trigger "an event happened:
custom event named churn_risk" starts for that customer, and segments and scores can read it.
A customer gets it once per crossing: not again while they stay below, again after a new order
brought them back above and they fell below once more (no churn_risk since their last order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from volano.core.activity import activity_record
from volano.core.models import User, Workspace
from volano.reports import clv
from volano.reports.models import ValueModel
from volano.reports.selectors import value_fit

CHURN_EVENT = "churn_risk"
DEFAULT_THRESHOLD = 0.3


def kept_fit(workspace: Workspace, *, as_of: dt.date) -> ValueModel | None:
    """The latest fit kept up to `as_of` (the nightly refit's, or one kept by hand): the contact
    and company pages read it rather than fit on every view."""
    return (
        ValueModel.objects.for_workspace(workspace)
        .filter(as_of__lte=as_of)
        .order_by("-as_of")
        .first()
    )


@dataclass(frozen=True)
class CustomerValueRow:
    contact_id: int
    p_alive: float
    expected_purchases: float
    expected_spend: float
    clv: float
    purchases: int
    weeks_since_last: float


def values_of(
    workspace: Workspace,
    *,
    as_of: dt.date,
    model: ValueModel,
    contact_ids: list[int] | None = None,
    horizon_months: int = 12,
    discount_monthly: float = 0.01,
) -> list[CustomerValueRow]:
    """Each customer's value under a kept fit, from their orders up to `as_of` (all customers,
    or those of `contact_ids`), computed on arrays."""
    # a page's few contacts read only their own orders
    summary = clv.customer_summary(workspace, as_of=as_of, of_contacts=contact_ids)
    fit = value_fit(model)
    ids = summary.contact_ids
    x, t_x, T, m = summary.x, summary.t_x, summary.T, summary.m
    if not len(ids):
        return []
    alive = fit.bgnbd.p_alive(x, t_x, T)
    purchases = fit.bgnbd.expected_purchases(horizon_months * clv.MONTH_WEEKS, x, t_x, T)
    spend = fit.gamma_gamma.expected_spend(x, m)
    values = clv.clv(
        fit, x, t_x, T, m, horizon_months=horizon_months, discount_monthly=discount_monthly
    )
    return [
        CustomerValueRow(
            contact_id=int(ids[i]),
            p_alive=float(alive[i]),
            expected_purchases=float(purchases[i]),
            expected_spend=float(spend[i]),
            clv=float(values[i]),
            purchases=int(x[i]) + 1,
            weeks_since_last=float(T[i] - t_x[i]),
        )
        for i in range(len(ids))
    ]


def churn_risk_list(
    workspace: Workspace,
    *,
    as_of: dt.date,
    threshold: float = DEFAULT_THRESHOLD,
    model: ValueModel | None = None,
) -> list[CustomerValueRow]:
    """The customers below `threshold`, the most valuable first (the value they would bring if
    they stayed: purchases so far, then lifetime value). Empty without a kept fit."""
    model = model or kept_fit(workspace, as_of=as_of)
    if model is None:
        return []
    rows = [r for r in values_of(workspace, as_of=as_of, model=model) if r.p_alive < threshold]
    rows.sort(key=lambda r: (-r.purchases, -r.clv, r.contact_id))
    return rows


def churn_risk_mark(
    *,
    workspace: Workspace,
    as_of: dt.date,
    threshold: float = DEFAULT_THRESHOLD,
    actor: User | None = None,
) -> int:
    """Write a `churn_risk` event for each customer below `threshold` who has none since their
    last order (one crossing, one event). Returns how many were written."""
    from volano.events.models import Event
    from volano.events.services import MAX_BATCH_ITEMS, events_ingest
    from volano.orders.models import Order

    model = kept_fit(workspace, as_of=as_of)
    if model is None:
        return 0
    now = timezone.now().isoformat()
    risky = {
        r.contact_id: r
        for r in churn_risk_list(workspace, as_of=as_of, threshold=threshold, model=model)
    }
    if not risky:
        return 0
    last_order = dict(
        Order.objects.for_workspace(workspace)
        .filter(contact_id__in=list(risky))
        .values("contact_id")
        .annotate(last=Max("ordered_at"))
        .values_list("contact_id", "last")
    )
    last_flag = dict(
        Event.objects.for_workspace(workspace)
        .filter(contact_id__in=list(risky), type="custom", properties__name=CHURN_EVENT)
        .values("contact_id")
        .annotate(last=Max("occurred_at"))
        .values_list("contact_id", "last")
    )
    fresh = [
        cid
        for cid in risky
        if cid not in last_flag or (last_order.get(cid) and last_flag[cid] < last_order[cid])
    ]
    items = [
        {
            "type": "custom",
            "contact_id": cid,
            "occurred_at": now,
            "properties": {
                "name": CHURN_EVENT,
                "p_alive": round(risky[cid].p_alive, 4),
                "threshold": threshold,
                "clv": round(risky[cid].clv, 2),
            },
            "dedup_key": f"churn_risk:{cid}:{as_of.isoformat()}",
        }
        for cid in sorted(fresh)
    ]
    written = 0
    with transaction.atomic():
        for start in range(0, len(items), MAX_BATCH_ITEMS):
            result = events_ingest(
                workspace=workspace,
                items=items[start : start + MAX_BATCH_ITEMS],
                source="reports",
                create_contacts=False,
            )
            written += result.accepted
        if written:
            activity_record(
                workspace=workspace, actor=actor, verb="reports.churn_risk_mark",
                changes={"as_of": as_of.isoformat(), "customers": written, "threshold": threshold},
            )  # fmt: skip
    return written


def value_panel(workspace: Workspace, *, contact_ids: list[int], as_of: dt.date) -> dict | None:
    """What the contact and company pages show: the kept fit's date, each customer's value and
    the totals (expected purchases and CLV summed; P(alive) of the company = the chance that at
    least one of its customers is still active). None without a kept fit; `rows` empty for
    contacts with no order."""
    model = kept_fit(workspace, as_of=as_of)
    if model is None:
        return None
    rows = values_of(workspace, as_of=as_of, model=model, contact_ids=contact_ids)
    none_alive = float(np.prod([1 - r.p_alive for r in rows])) if rows else 1.0
    return {
        "fitted_as_of": model.as_of,
        "rows": rows,
        "clv": sum(r.clv for r in rows),
        "expected_purchases": sum(r.expected_purchases for r in rows),
        "p_alive": 1 - none_alive if rows else None,
        "at_risk": bool(rows) and (1 - none_alive) < DEFAULT_THRESHOLD,
        "threshold": int(DEFAULT_THRESHOLD * 100),
        "currency": getattr(workspace, "currency", "") or "EUR",
    }
