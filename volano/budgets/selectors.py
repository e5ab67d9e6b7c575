"""Budgets' reads: the latest response model, what it says per channel, its response curves,
the best split of a weekly budget and what-if scenarios. Every figure comes with its 90%
interval, computed under each bootstrap draw of the stored model (no refit)."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from volano.budgets import mmm
from volano.budgets.models import ResponseModel
from volano.core.errors import ApplicationError, NotFound
from volano.core.models import Workspace
from volano.orders.models import Order

# Without bounds, a channel may get from nothing up to twice the most it ever had in a week:
# past that the curve is extrapolation, not evidence.
DEFAULT_UPPER_FACTOR = 2.0
CURVE_POINTS = 41
# A what-if beyond ten times today's spend is far outside anything the model has seen.
MAX_CHANGE_PERCENT = 1000
MAX_AMOUNT = 1e12  # a week's spend no SME reaches, far from overflowing a float


def _amount(value: float) -> str:
    """An amount in a message, with the separators of the language in use (1.234,50 / 1,234.50)."""
    return number_format(round(float(value), 2), 2, force_grouping=True)


def order_channels(*, workspace: Workspace) -> list[str]:
    """The sales channels the workspace's orders name (the web shop, the reps…)."""
    return sorted(
        Order.objects.for_workspace(workspace)
        .exclude(channel="")
        .values_list("channel", flat=True)
        .distinct()
        .order_by()
    )


def response_model_list(*, workspace: Workspace, outcome: str | None = None) -> QuerySet:
    models = ResponseModel.objects.for_workspace(workspace)
    if outcome:
        models = models.filter(outcome=outcome)
    return models.order_by("-fitted_at", "-pk")


def response_model_latest(*, workspace: Workspace, outcome: str | None = None) -> ResponseModel:
    model = response_model_list(workspace=workspace, outcome=outcome).first()
    if model is None:
        raise NotFound(
            _(
                "no response model yet: fit one first (Budgets → Response curves, or POST "
                "/api/v1/budgets/model)"
            ),
            field="outcome",
        )
    return model


def _draw(stored: dict) -> mmm.Draw:
    return mmm.Draw(
        curves=tuple(mmm.Curve(*c) for c in stored["curves"]),
        baseline=stored["baseline"],
        contributions=tuple(stored["contributions"]),
    )


def _draws(model: ResponseModel) -> tuple[mmm.Draw, list[mmm.Draw]]:
    return _draw(model.fit["point"]), [_draw(d) for d in model.fit["draws"]]


def _with_interval(point: float, values: list[float]) -> tuple[float, list[float]]:
    if not values:
        return point, [point, point]
    lo, hi = mmm.interval(values)
    return point, [min(lo, point), max(hi, point)]


def response_model_summary(model: ResponseModel) -> dict[str, Any]:
    """Per channel: contribution over the fitted weeks, ROAS (outcome per unit spent) and
    marginal ROAS at today's spend (what one more unit a week returns), each with its interval."""
    point, draws = _draws(model)
    fit = model.fit
    mean_outcome = fit["mean_outcome"]
    channels = []
    for c, key in enumerate(fit["keys"]):
        total = fit["spend_totals"][c]
        current = fit["current_spend"][c]
        contribution, contribution_interval = _with_interval(
            point.contributions[c], [d.contributions[c] for d in draws]
        )
        roas, roas_interval = _with_interval(
            contribution / total, [d.contributions[c] / total for d in draws]
        )
        mroas, mroas_interval = _with_interval(
            float(point.curves[c].marginal(current, mean_outcome)),
            [float(d.curves[c].marginal(current, mean_outcome)) for d in draws],
        )
        curve = point.curves[c]
        channels.append(
            {
                "key": key,
                "contribution": contribution,
                "contribution_interval": contribution_interval,
                "roas": roas,
                "roas_interval": roas_interval,
                "mroas": mroas,
                "mroas_interval": mroas_interval,
                "spend": total,
                "current_weekly_spend": current,
                "decay": curve.decay,
                "half_saturation_spend": curve.half * curve.mean_spend,
            }
        )
    return {
        "id": model.pk,
        "outcome": model.outcome,
        "from": model.date_from,
        "to": model.date_to,
        "weeks": model.weeks,
        "r2": model.r2,
        "baseline": point.baseline,
        "controls": fit.get("controls", []),
        "order_channel": fit.get("order_channel", ""),
        "fitted_at": model.fitted_at,
        "seconds": model.seconds,
        "channels": channels,
    }


def response_curves(model: ResponseModel, points: int = CURVE_POINTS) -> list[dict[str, Any]]:
    """Each channel's weekly response to a steady weekly spend, from nothing to twice the most
    it had in a week, with its 90% band and today's spend marked."""
    point, draws = _draws(model)
    fit = model.fit
    mean_outcome = fit["mean_outcome"]
    out = []
    for c, key in enumerate(fit["keys"]):
        top = DEFAULT_UPPER_FACTOR * max(fit["max_spend"][c], fit["current_spend"][c])
        grid = np.linspace(0.0, top, points)
        central = point.curves[c].weekly(grid, mean_outcome)
        if draws:
            band = np.array([d.curves[c].weekly(grid, mean_outcome) for d in draws])
            lo, hi = np.percentile(band, mmm.INTERVAL, axis=0)
        else:
            lo = hi = central
        current = fit["current_spend"][c]
        out.append(
            {
                "key": key,
                "spend": [float(v) for v in grid],
                "outcome": [float(v) for v in central],
                "low": [float(v) for v in lo],
                "high": [float(v) for v in hi],
                "current_spend": current,
                "current_outcome": float(point.curves[c].weekly(current, mean_outcome)),
            }
        )
    return out


def _outcomes(point: mmm.Draw, draws: list[mmm.Draw], allocation, mean_outcome: float):
    central = mmm.expected(point, allocation, mean_outcome)
    values = [mmm.expected(d, allocation, mean_outcome) for d in draws]
    return central, values


def _figures(model: ResponseModel, allocation: np.ndarray) -> dict[str, Any]:
    """Expected weekly outcome of `allocation` against today's spend, each with its interval;
    the gain's interval pairs the two under each draw (so it is narrower than either)."""
    point, draws = _draws(model)
    fit = model.fit
    mean_outcome = fit["mean_outcome"]
    current = np.array(fit["current_spend"])
    expected, expected_draws = _outcomes(point, draws, allocation, mean_outcome)
    now, now_draws = _outcomes(point, draws, current, mean_outcome)
    _, expected_interval = _with_interval(expected, expected_draws)
    _, current_interval = _with_interval(now, now_draws)
    _, gain_interval = _with_interval(
        expected - now, [a - b for a, b in zip(expected_draws, now_draws, strict=True)]
    )
    return {
        "allocation": {k: float(v) for k, v in zip(fit["keys"], allocation, strict=True)},
        "current_allocation": {k: float(v) for k, v in zip(fit["keys"], current, strict=True)},
        "expected": expected,
        "expected_interval": expected_interval,
        "current_expected": now,
        "current_expected_interval": current_interval,
        "gain": expected - now,
        "gain_interval": gain_interval,
        "model_id": model.pk,
        "outcome": model.outcome,
    }


def allocation_recommend(
    *,
    workspace: Workspace,
    budget: float | None = None,
    bounds: dict[str, list[float]] | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """The split of a weekly budget (by default today's weekly spend) between the model's
    channels that maximises the expected weekly outcome, each channel within its bounds."""
    model = response_model_latest(workspace=workspace, outcome=outcome)
    fit = model.fit
    keys = fit["keys"]
    if budget is None:
        budget = float(sum(fit["current_spend"]))
    if not np.isfinite(budget) or budget <= 0:
        raise ApplicationError(_("the weekly budget must be more than 0"), field="budget")
    lower = np.zeros(len(keys))
    upper = np.array([DEFAULT_UPPER_FACTOR * m for m in fit["max_spend"]])
    for key, pair in (bounds or {}).items():
        if key not in keys:
            raise ApplicationError(
                _("“%(channel)s” is not a channel of the model (its channels: %(keys)s)")
                % {"channel": key, "keys": ", ".join(keys)},
                field=f"bounds.{key}",
            )
        if len(pair) != 2:
            raise ApplicationError(
                _("bounds of “%(channel)s” must be [lowest, highest]") % {"channel": key},
                field=f"bounds.{key}",
            )
        lo, hi = float(pair[0]), float(pair[1])
        if not (0 <= lo <= hi <= MAX_AMOUNT):
            raise ApplicationError(
                _(
                    "bounds of “%(channel)s” must be from 0 to 10¹², the lowest first (given "
                    "%(lo)s, %(hi)s)"
                )
                % {"channel": key, "lo": lo, "hi": hi},
                field=f"bounds.{key}",
            )
        index = keys.index(key)
        lower[index], upper[index] = lo, hi
    if budget < lower.sum() - 1e-9:
        raise ApplicationError(
            _(
                "the weekly budget (€ %(budget)s) is below the sum of the lowest amounts the "
                "bounds ask for (€ %(lower)s)"
            )
            % {"budget": _amount(budget), "lower": _amount(lower.sum())},
            field="budget",
        )
    if budget > upper.sum() + 1e-9:
        raise ApplicationError(
            _(
                "the weekly budget (€ %(budget)s) is above the sum of the highest amounts the "
                "bounds allow (€ %(upper)s): raise some bounds"
            )
            % {"budget": _amount(budget), "upper": _amount(upper.sum())},
            field="budget",
        )
    point, _draws_unused = _draws(model)
    allocation = mmm.allocate(point.curves, fit["mean_outcome"], budget, lower, upper)
    result = _figures(model, allocation)
    result["budget"] = budget
    result["bounds"] = {
        k: [float(lo), float(hi)] for k, lo, hi in zip(keys, lower, upper, strict=True)
    }
    return result


def scenario_evaluate(
    *, workspace: Workspace, changes: dict[str, float], outcome: str | None = None
) -> dict[str, Any]:
    """What-if: today's weekly spend with each named channel changed by a percentage
    ({"search": 20, "print": -30}), its expected outcome and interval against today's."""
    model = response_model_latest(workspace=workspace, outcome=outcome)
    keys = model.fit["keys"]
    allocation = np.array(model.fit["current_spend"], dtype=float)
    for key, percent in changes.items():
        if key not in keys:
            raise ApplicationError(
                _("“%(channel)s” is not a channel of the model (its channels: %(keys)s)")
                % {"channel": key, "keys": ", ".join(keys)},
                field=f"changes.{key}",
            )
        if not np.isfinite(percent) or not -100 <= percent <= MAX_CHANGE_PERCENT:
            raise ApplicationError(
                _(
                    "a change must be from −100%% to +%(max)s%% (given %(percent)s%% on "
                    "“%(channel)s”)"
                )
                % {"percent": percent, "channel": key, "max": MAX_CHANGE_PERCENT},
                field=f"changes.{key}",
            )
        index = keys.index(key)
        allocation[index] *= 1 + percent / 100.0
    result = _figures(model, allocation)
    result["changes"] = dict(changes)
    return result
