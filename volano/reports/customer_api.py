"""/api/v1 routes of the reports about customers: cohort retention, related purchases, churn risk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema

from volano.core.errors import ApplicationError
from volano.reports import churn, cohorts, related

router = Router(tags=["reports"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class CohortOut(Schema):
    month: str
    customers: int
    # share of the cohort buying in each month after the first (index 0 = the first: 1.0);
    # null for months not reached yet
    retention: list[float | None]
    counts: list[int | None]


class ChannelOut(Schema):
    channel: str
    customers: int


class CohortsOut(Schema):
    as_of: dt.date
    channel: str
    cohorts: list[CohortOut]
    channels: list[ChannelOut]


@router.get(
    "/reports/cohorts",
    response=CohortsOut,
    summary="Cohort retention: customers by month of first order, share buying in each later month",
)
def reports_cohorts(
    request: HttpRequest,
    as_of: dt.date | None = None,
    cohorts_count: int = Query(12, ge=1, le=60, alias="cohorts"),
    channel: str = Query("", max_length=40),
):
    day = as_of or timezone.localdate()
    data = cohorts.cohort_retention(_ws(request), as_of=day, cohorts=cohorts_count, channel=channel)
    return {
        "as_of": day,
        "channel": channel,
        "cohorts": [
            {"month": m, "customers": s, "retention": r, "counts": c}
            for m, s, r, c in zip(data.months, data.sizes, data.shares, data.counts, strict=True)
        ],
        "channels": [{"channel": c, "customers": n} for c, n in data.channels],
    }


class RuleOut(Schema):
    bought: str
    bought_name: str
    also_bought: str
    also_bought_name: str
    customers: int
    support: float
    confidence: float
    lift: float


class RelatedOut(Schema):
    level: str
    product: str
    customers: int
    product_customers: int
    rules: list[RuleOut]


@router.get(
    "/reports/related",
    response=RelatedOut,
    summary="Related purchases: association rules (support, confidence, lift) from a product",
)
def reports_related(
    request: HttpRequest,
    product: str = Query("", max_length=64),
    level: str = Query("product", max_length=10),
    as_of: dt.date | None = None,
    limit: int = Query(20, ge=1, le=500),
):
    """`product` is a product code (level=product) or a product line's slug (level=line);
    empty: the strongest rules between any two."""
    if level not in (related.PRODUCT, related.LINE):
        raise ApplicationError("level must be product or line", field="level")
    data = related.related_purchases(
        _ws(request), item=product, level=level, as_of=as_of, limit=limit
    )
    return {
        "level": level,
        "product": product,
        "customers": data.customers,
        "product_customers": data.item_customers,
        "rules": [
            {
                "bought": r.antecedent,
                "bought_name": r.antecedent_name,
                "also_bought": r.consequent,
                "also_bought_name": r.consequent_name,
                "customers": r.together,
                "support": round(r.support, 6),
                "confidence": round(r.confidence, 6),
                "lift": round(r.lift, 6),
            }
            for r in data.rules
        ],
    }


class RiskOut(Schema):
    contact_id: int
    p_alive: float
    expected_purchases: float
    clv: float
    purchases: int
    weeks_since_last: float


class ChurnOut(Schema):
    """`fitted_as_of` null (and no customers) when no fit is kept yet: the nightly refit keeps
    one, or POST a fit from the customer-value page."""

    as_of: dt.date
    fitted_as_of: dt.date | None
    below: float
    count: int
    customers: list[RiskOut]


@router.get(
    "/reports/churn-risk",
    response=ChurnOut,
    summary="Customers whose probability of being still active is below a threshold",
)
def reports_churn_risk(
    request: HttpRequest,
    below: float = Query(churn.DEFAULT_THRESHOLD, gt=0, lt=1),
    limit: int = Query(500, ge=1, le=10_000),
):
    workspace = _ws(request)
    day = timezone.localdate()
    model = churn.kept_fit(workspace, as_of=day)
    rows = churn.churn_risk_list(workspace, as_of=day, threshold=below, model=model)
    return {
        "as_of": day,
        "fitted_as_of": model.as_of if model else None,
        "below": below,
        "count": len(rows),
        "customers": [
            {
                "contact_id": r.contact_id,
                "p_alive": round(r.p_alive, 6),
                "expected_purchases": round(r.expected_purchases, 6),
                "clv": round(r.clv, 2),
                "purchases": r.purchases,
                "weeks_since_last": round(r.weeks_since_last, 2),
            }
            for r in rows[:limit]
        ],
    }
