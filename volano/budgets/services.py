"""Budgets' writes: fitting a response model (and keeping it)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import transaction

from volano.budgets import mmm
from volano.budgets.models import ResponseModel
from volano.budgets.weekly import default_range, weekly_data
from volano.core.activity import activity_record
from volano.core.models import Workspace

BOOTSTRAP_DRAWS = 100


def _draw_json(draw: mmm.Draw) -> dict:
    return {
        "curves": [[c.decay, c.half, c.beta, c.mean_spend] for c in draw.curves],
        "baseline": draw.baseline,
        "contributions": list(draw.contributions),
    }


def response_model_fit(
    *,
    workspace: Workspace,
    actor: Any,
    outcome: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    exclude: tuple[str, ...] = (),
    bootstrap: int = BOOTSTRAP_DRAWS,
    order_channel: str = "",
) -> ResponseModel:
    """Fit the media-mix model on the workspace's weekly spend per channel and its revenue or
    leads, from `date_from` to `date_to` (by default the two years up to the last cost), and
    keep it. Refuses (ModelDataError) what the data cannot support, saying what is wrong."""
    if date_from is None or date_to is None:
        default_from, default_to = default_range(workspace)
        date_from = date_from or default_from
        date_to = date_to or default_to
    data = weekly_data(
        workspace=workspace,
        outcome=outcome,
        date_from=date_from,
        date_to=date_to,
        exclude=tuple(exclude),
        order_channel=order_channel,
    )
    started = time.perf_counter()
    fit = mmm.fit(
        keys=list(data.keys),
        spend=data.spend,
        outcome=data.values,
        week_days_of_year=data.days_of_year,
        controls=data.controls,
        bootstrap=bootstrap,
    )
    seconds = time.perf_counter() - started
    stored = {
        "keys": list(fit.keys),
        "mean_outcome": fit.mean_outcome,
        "point": _draw_json(fit.point),
        "draws": [_draw_json(d) for d in fit.draws],
        "spend_totals": list(fit.spend_totals),
        "current_spend": list(fit.current_spend),
        "max_spend": list(fit.max_spend),
        "controls": list(data.control_names),
        "order_channel": order_channel,
        "series": {
            "weeks": [d.isoformat() for d in data.week_starts],
            "outcome": [float(v) for v in data.values],
            "fitted": list(fit.fitted),
            "spend": [[float(v) for v in data.spend[:, c]] for c in range(len(fit.keys))],
            "media": [list(m) for m in fit.media],
        },
    }
    with transaction.atomic():
        model = ResponseModel.objects.create(
            workspace=workspace,
            outcome=outcome,
            date_from=data.week_starts[0],
            date_to=data.week_starts[-1] + dt.timedelta(days=6),
            weeks=fit.weeks,
            r2=fit.r2,
            fit=stored,
            seconds=seconds,
            fitted_by=actor,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.model_fitted",
            obj=model,
            changes={
                "outcome": outcome,
                "weeks": fit.weeks,
                "channels": list(fit.keys),
                "order_channel": order_channel,
                "r2": round(fit.r2, 3),
            },
        )
    return model
