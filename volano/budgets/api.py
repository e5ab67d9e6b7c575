"""/api/v1/budgets routes: fit the response model, read it, recommend a split of a weekly budget,
answer what-if scenarios. Amounts are per week, in the workspace currency."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.budgets import selectors, services
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages

router = Router(tags=["budgets"])

MAX_CHANNELS = 50
PAGE_SIZE = 20


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class ModelIn(Strict):
    outcome: str = Field(default="revenue", max_length=10)
    date_from: dt.date | None = Field(default=None, alias="from")
    date_to: dt.date | None = Field(default=None, alias="to")
    exclude: list[str] = Field(default_factory=list, max_length=MAX_CHANNELS)
    order_channel: str = Field(default="", max_length=20)


class ChannelOut(Schema):
    key: str
    contribution: float
    contribution_interval: list[float]
    roas: float
    roas_interval: list[float]
    mroas: float
    mroas_interval: list[float]
    spend: float
    current_weekly_spend: float
    decay: float
    half_saturation_spend: float


class ModelOut(Schema):
    id: int
    outcome: str
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    weeks: int
    r2: float
    baseline: float
    controls: list[str]
    order_channel: str
    fitted_at: dt.datetime
    seconds: float
    channels: list[ChannelOut]


class OptimiseIn(Strict):
    budget: float | None = Field(default=None, ge=0, le=selectors.MAX_AMOUNT)
    bounds: dict[str, list[float]] = Field(default_factory=dict, max_length=MAX_CHANNELS)
    outcome: str | None = Field(default=None, max_length=10)


class WhatIfIn(Strict):
    changes: dict[str, float] = Field(max_length=MAX_CHANNELS)
    outcome: str | None = Field(default=None, max_length=10)


class FiguresOut(Schema):
    allocation: dict[str, float]
    current_allocation: dict[str, float]
    expected: float
    expected_interval: list[float]
    current_expected: float
    current_expected_interval: list[float]
    gain: float
    gain_interval: list[float]
    model_id: int
    outcome: str


class OptimiseOut(FiguresOut):
    budget: float
    bounds: dict[str, list[float]]


class WhatIfOut(FiguresOut):
    changes: dict[str, float]


def _model_out(model: Any) -> dict:
    return selectors.response_model_summary(model)


@router.post(
    "/budgets/model",
    response=ModelOut,
    by_alias=True,
    summary="Fit the response model (media mix) on weekly spend per channel and revenue or leads",
)
def budgets_model_fit(request: HttpRequest, payload: ModelIn):
    model = services.response_model_fit(
        workspace=_ws(request),
        actor=_actor(request),
        outcome=payload.outcome,
        date_from=payload.date_from,
        date_to=payload.date_to,
        exclude=tuple(payload.exclude),
        order_channel=payload.order_channel.strip(),
    )
    return _model_out(model)


@router.get(
    "/budgets/models",
    response=list[ModelOut],
    by_alias=True,
    summary="Fitted response models, the latest first",
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=PAGE_SIZE)
def budgets_models_list(request: HttpRequest, outcome: str | None = None):
    return [
        _model_out(m)
        for m in selectors.response_model_list(workspace=_ws(request), outcome=outcome)
    ]


@router.post(
    "/budgets/optimise",
    response=OptimiseOut,
    summary="The split of a weekly budget that maximises the expected outcome, within bounds",
)
def budgets_optimise(request: HttpRequest, payload: OptimiseIn):
    return selectors.allocation_recommend(
        workspace=_ws(request),
        budget=payload.budget,
        bounds=payload.bounds,
        outcome=payload.outcome,
    )


@router.post(
    "/budgets/whatif",
    response=WhatIfOut,
    summary="What-if: today's weekly spend changed by a percentage per channel",
)
def budgets_whatif(request: HttpRequest, payload: WhatIfIn):
    return selectors.scenario_evaluate(
        workspace=_ws(request), changes=payload.changes, outcome=payload.outcome
    )
