"""/api/v1 routes of attribution: one model's credit (the pinned shape) and ROI under a model.
Parameters are read as text and checked by `selectors.query_parse`, so a bad one is a 400
naming it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from volano.attribution import selectors

router = Router(tags=["attribution"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class Row(Schema):
    key: str
    value: float


class AttributionOut(Schema):
    model: str
    dimension: str
    conversion: str
    total: float
    rows: list[Row]


class RoiRow(Schema):
    period: str = ""
    key: str
    label: str
    cost: float
    leads: float
    mqls: float
    sqls: float
    customers: float
    revenue: float
    cpl: float | None
    cost_per_sql: float | None
    cac: float | None
    roas: float | None
    roi: float | None


class RoiOut(Schema):
    model: str
    group: str
    granularity: str = "period"
    as_of: str | None = None
    stale: bool = False
    refreshing: bool = False
    computing: bool = False
    rows: list[RoiRow]


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


@router.get(
    "/attribution",
    response=AttributionOut,
    summary="Credit per channel, source/medium, campaign or content under one model",
)
def attribution(
    request: HttpRequest,
    model: str = "markov",
    dimension: str = "channel",
    conversion: str = "sql",
    from_: str | None = Query(None, alias="from"),  # type: ignore[type-arg]
    to: str | None = None,
    lookback_days: str | None = None,
    half_life: str | None = None,
    first: str | None = None,
    last: str | None = None,
):
    """`model`: first, last, linear, time_decay, position, markov, shapley; `dimension`:
    channel, source_medium, campaign, content; `conversion`: lead, mql, sql, opportunity,
    customer, revenue; `from`/`to` (YYYY-MM-DD, inclusive; default the last 365 days);
    `lookback_days` (default 90); `half_life` in days for time_decay (default 7); `first`/`last`
    weights for position (default 0.4/0.4). Values add up to `total` (conversions, or revenue
    in the workspace currency)."""
    query = selectors.query_parse(
        _params(
            dimension=dimension,
            conversion=conversion,
            to=to,
            lookback_days=lookback_days,
            half_life=half_life,
            first=first,
            last=last,
            **{"from": from_},
        )
    )
    return selectors.attribution(_ws(request), selectors.model_parse(model), query)


@router.get(
    "/attribution/roi",
    response=RoiOut,
    summary="Cost, conversions, revenue, CPL, cost per SQL, CAC, ROAS, ROI per campaign or channel",
)
def attribution_roi(
    request: HttpRequest,
    model: str = "markov",
    group: str = "campaign",
    granularity: str = "period",
    from_: str | None = Query(None, alias="from"),  # type: ignore[type-arg]
    to: str | None = None,
    lookback_days: str | None = None,
    half_life: str | None = None,
    first: str | None = None,
    last: str | None = None,
):
    """Conversions and revenue attributed under `model` to each campaign (its UTM campaign) or
    channel group; cost from the cost entries of the period. `granularity`: period (one row
    per key, the default), month, quarter, week or day (rows per bucket, `period` its label:
    2026-03, 2026-Q1, 2026-W09, 2026-03-02; each bucket attributed on its own). Ratios are null
    when their denominator is 0. Under Markov (a whole-period model, tens of seconds at 1M
    contacts) the reply does not wait for a recomputation: once computed it is kept, and when
    its inputs have changed since, the kept reply comes back at once with `stale` true and
    `as_of` (when its inputs were read) while one recomputation runs in the background
    (`refreshing`; at most one every two minutes while the inputs keep changing); only the
    first request of a set of parameters waits."""
    query = selectors.query_parse(
        _params(
            to=to,
            lookback_days=lookback_days,
            half_life=half_life,
            first=first,
            last=last,
            **{"from": from_},
        )
    )
    return selectors.roi(
        _ws(request),
        selectors.model_parse(model),
        query,
        group=group,
        granularity=granularity,
        wait="if_missing",
    )
