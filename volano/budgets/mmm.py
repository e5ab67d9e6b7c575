"""The media-mix model: what each channel's weekly spend returns, with carry-over and diminishing
returns, fitted by non-linear least squares (SciPy) with bootstrap intervals. Pure NumPy/SciPy,
no database: `volano.budgets.services` feeds it weekly series and stores what it returns.

For week t and channel c, with spend x (divided by the channel's mean weekly spend m_c):

    carried_c,t = (1 - decay_c) * x_c,t + decay_c * carried_c,t-1
                  (geometric adstock, scaled so that a steady spend s carries to s)
    effect_c,t  = carried_c,t / (carried_c,t + half_c)      (Hill saturation of shape 1)
    outcome_t   = mean_outcome * (intercept + trend * t + Fourier(week of year)
                                  + controls_t · gamma + sum_c beta_c * effect_c,t) + noise

So a steady weekly spend s on channel c returns `beta_c * mean_outcome * u / (u + half_c)` a week,
u = s / m_c: that is the channel's response curve. Shape 1 keeps every curve concave, so the
best split of a budget is unique and is found exactly (`allocate`): the marginal return of every
channel is made equal, or its bound is reached.

Uncertainty: a moving-block bootstrap of the residuals (blocks of four weeks keep what is left of
autocorrelation), each draw refitted from the point estimate; every figure is then computed under
each draw, and its interval is the 5th–95th percentile (a 90% interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

MAX_EFFECT = 1.0  # a channel's saturated weekly effect, in average weeks of the outcome
MAX_DECAY = 0.9
HALF_RANGE = (0.05, 20.0)  # half-saturation, in multiples of the channel's mean weekly spend
BLOCK_WEEKS = 4
INTERVAL = (5.0, 95.0)
RECENT_WEEKS = 13  # "today's spend" and the baseline are the mean of the last quarter
# A weak pull of decay toward 0.3 and of half-saturation toward the mean spend: it decides only
# what the data cannot (a channel whose spend never left the linear part of its curve).
PRIOR_WEIGHT = 0.005
# A bootstrap refit starts at the point estimate and only has to follow a resampled residual:
# it stops when a step improves the cost by less than this share (the point fit uses SciPy's
# 1e-8). The fitted curves move by far less than their intervals' width (test_mmm_speed).
DRAW_FTOL = 1e-5


@dataclass(frozen=True)
class Curve:
    """One channel's fitted parameters under one draw."""

    decay: float
    half: float  # in multiples of mean_spend
    beta: float  # in multiples of mean_outcome
    mean_spend: float

    def weekly(self, spend: np.ndarray | float, mean_outcome: float) -> np.ndarray:
        """Outcome a week from a steady weekly `spend`."""
        u = np.asarray(spend, dtype=float) / self.mean_spend
        return self.beta * mean_outcome * u / (u + self.half)

    def marginal(self, spend: np.ndarray | float, mean_outcome: float) -> np.ndarray:
        """Outcome a week from one more unit of steady weekly spend."""
        u = np.asarray(spend, dtype=float) / self.mean_spend
        return self.beta * mean_outcome * self.half / (self.mean_spend * (u + self.half) ** 2)


@dataclass(frozen=True)
class Draw:
    curves: tuple[Curve, ...]
    baseline: float  # weekly outcome without media, over the recent weeks
    contributions: tuple[float, ...]  # each channel's outcome over the fitted weeks


@dataclass(frozen=True)
class Fit:
    keys: tuple[str, ...]
    weeks: int
    mean_outcome: float
    r2: float
    point: Draw
    draws: tuple[Draw, ...]
    spend_totals: tuple[float, ...]
    current_spend: tuple[float, ...]  # mean weekly spend over the recent weeks
    max_spend: tuple[float, ...]  # the highest weekly spend seen, per channel
    fitted: tuple[float, ...] = field(default=())
    media: tuple[tuple[float, ...], ...] = field(default=())  # per channel, per week


def design(week_days_of_year: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """The columns that are not media: intercept, trend, yearly Fourier terms (two pairs, when
    there is a year of data to tell them from the trend), the controls."""
    weeks = len(week_days_of_year)
    columns = [np.ones(weeks), np.linspace(-1.0, 1.0, weeks)]
    if weeks >= 52:
        angle = 2 * np.pi * week_days_of_year / 365.25
        for k in (1, 2):
            columns += [np.sin(k * angle), np.cos(k * angle)]
    if controls.size:
        columns += list(controls.T)
    return np.column_stack(columns)


def parameter_count(channels: int, base_columns: int) -> int:
    return 3 * channels + base_columns


def _carried(x: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Geometric adstock of every channel (columns of x), scaled to keep a steady spend's level;
    the week before the first starts at its steady state."""
    from scipy.signal import lfilter  # scipy on first use, not at every process start

    out = np.empty_like(x)
    for c in range(x.shape[1]):
        d = decay[c]
        out[:, c] = lfilter([1.0 - d], [1.0, -d], x[:, c], zi=[d * x[0, c]])[0]
    return out


class _Problem:
    def __init__(self, spend: np.ndarray, outcome: np.ndarray, base: np.ndarray):
        self.mean_spend = spend.mean(axis=0)
        self.x = spend / self.mean_spend
        self.mean_outcome = float(outcome.mean())
        self.y = outcome / self.mean_outcome
        self.base = base
        self.channels = spend.shape[1]
        self.prior = np.concatenate([np.full(self.channels, 0.3), np.zeros(self.channels)])
        self._decay: np.ndarray | None = None
        self._carried = np.empty(0)

    def unpack(self, p: np.ndarray):
        c = self.channels
        return p[:c], np.exp(p[c : 2 * c]), p[2 * c : 3 * c], p[3 * c :]

    def carried(self, decay: np.ndarray) -> np.ndarray:
        """The adstock at `decay`, kept for the next call: SciPy asks for the Jacobian at the
        point whose residuals it has just computed."""
        if self._decay is None or not np.array_equal(decay, self._decay):
            self._decay, self._carried = decay.copy(), _carried(self.x, decay)
        return self._carried

    def media(self, p: np.ndarray) -> np.ndarray:
        decay, half, beta, _ = self.unpack(p)
        carried = self.carried(decay)
        return carried / (carried + half) * beta

    def predict(self, p: np.ndarray) -> np.ndarray:
        return self.base @ self.unpack(p)[3] + self.media(p).sum(axis=1)

    def residuals(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        prior = PRIOR_WEIGHT * (p[: 2 * self.channels] - self.prior)
        return np.concatenate([self.predict(p) - y, prior])

    def jacobian(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Exact derivatives of `residuals`: ten times fewer evaluations than finite
        differences, which is most of what makes a fit with 100 bootstrap refits take seconds."""
        from scipy.signal import lfilter

        c = self.channels
        decay, half, beta, _ = self.unpack(p)
        carried = self.carried(decay)
        previous = np.vstack([self.x[:1], carried[:-1]])
        d_carried = np.empty_like(carried)
        for k in range(c):
            d_carried[:, k] = lfilter([1.0], [1.0, -decay[k]], previous[:, k] - self.x[:, k])
        slope = beta * half / (carried + half) ** 2  # d effect / d carried, times beta
        weeks = len(y)
        jac = np.zeros((weeks + 2 * c, 3 * c + self.base.shape[1]))
        jac[:weeks, :c] = slope * d_carried
        jac[:weeks, c : 2 * c] = -beta * carried * half / (carried + half) ** 2
        jac[:weeks, 2 * c : 3 * c] = carried / (carried + half)
        jac[:weeks, 3 * c :] = self.base
        jac[weeks:, : 2 * c] = PRIOR_WEIGHT * np.eye(2 * c)
        return jac

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c, b = self.channels, self.base.shape[1]
        # the baseline's level (the intercept, column 0) is not negative and no channel at
        # saturation adds more than MAX_EFFECT average weeks: without these a noisy outcome let
        # a negative baseline pay for media effects larger than all the revenue there was
        base_lo = np.full(b, -np.inf)
        base_lo[0] = 0.0
        lo = np.concatenate([np.zeros(c), np.full(c, np.log(HALF_RANGE[0])), np.zeros(c), base_lo])
        hi = np.concatenate(
            [
                np.full(c, MAX_DECAY),
                np.full(c, np.log(HALF_RANGE[1])),
                np.full(c, MAX_EFFECT),
                np.full(b, np.inf),
            ]
        )
        return lo, hi

    def solve(
        self,
        y: np.ndarray,
        start: np.ndarray,
        max_nfev: int | None = None,
        ftol: float = 1e-8,
    ) -> np.ndarray:
        from scipy.optimize import least_squares

        lo, hi = self.bounds()
        start = np.clip(start, lo + 1e-9, np.where(np.isfinite(hi), hi - 1e-9, hi))
        result = least_squares(
            self.residuals,
            start,
            jac=self.jacobian,
            args=(y,),
            bounds=(lo, hi),
            x_scale="jac",
            max_nfev=max_nfev,
            ftol=ftol,
        )
        return result.x

    def start(self, decay: float, half: float) -> np.ndarray:
        c, b = self.channels, self.base.shape[1]
        linear = np.zeros(b)
        linear[0] = 0.5
        return np.concatenate(
            [np.full(c, decay), np.full(c, np.log(half)), np.full(c, 0.5 / c), linear]
        )

    def draw(self, p: np.ndarray, recent: int) -> Draw:
        decay, half, beta, linear = self.unpack(p)
        curves = tuple(
            Curve(float(decay[c]), float(half[c]), float(beta[c]), float(self.mean_spend[c]))
            for c in range(self.channels)
        )
        baseline = float((self.base[-recent:] @ linear).mean() * self.mean_outcome)
        contributions = tuple(float(v) for v in self.media(p).sum(axis=0) * self.mean_outcome)
        return Draw(curves, baseline, contributions)


def fit(
    *,
    keys: list[str],
    spend: np.ndarray,
    outcome: np.ndarray,
    week_days_of_year: np.ndarray,
    controls: np.ndarray | None = None,
    bootstrap: int = 100,
    seed: int = 0,
    draw_ftol: float = DRAW_FTOL,
) -> Fit:
    """Fit the model on weekly `spend` (weeks × channels, every channel spent some week) and
    `outcome` (weeks). The data is checked by the caller (`volano.budgets.weekly`).

    One BLAS thread: the matrices are a hundred rows by a few dozen columns, too small to gain
    from a second thread, and on a busy machine each of the thousands of small SVDs waited for
    the second thread to be scheduled (a 1 s fit took 60 s at load 25, docs/benchmarks.md)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(keys, spend, outcome, week_days_of_year, controls, bootstrap, seed, draw_ftol)


def _fit(keys, spend, outcome, week_days_of_year, controls, bootstrap, seed, draw_ftol) -> Fit:
    spend = np.asarray(spend, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    controls = np.zeros((len(outcome), 0)) if controls is None else np.asarray(controls, float)
    problem = _Problem(spend, outcome, design(np.asarray(week_days_of_year, float), controls))
    weeks = len(outcome)
    recent = min(RECENT_WEEKS, weeks)

    best, best_cost = None, np.inf
    for decay, half in ((0.3, 1.0), (0.6, 0.5), (0.1, 3.0)):
        p = problem.solve(problem.y, problem.start(decay, half))
        cost = float(np.sum(problem.residuals(p, problem.y) ** 2))
        if cost < best_cost:
            best, best_cost = p, cost
    assert best is not None
    fitted = problem.predict(best)
    residual = problem.y - fitted
    total = problem.y - problem.y.mean()
    r2 = 1.0 - float(residual @ residual) / float(total @ total) if total.any() else 0.0

    rng = np.random.default_rng(seed)
    blocks = max(1, weeks - BLOCK_WEEKS + 1)
    draws = []
    for _ in range(bootstrap):
        starts = rng.integers(0, blocks, size=int(np.ceil(weeks / BLOCK_WEEKS)))
        index = (starts[:, None] + np.arange(BLOCK_WEEKS)[None, :]).ravel()[:weeks]
        index = np.minimum(index, weeks - 1)
        y_star = fitted + residual[index]
        draws.append(
            problem.draw(problem.solve(y_star, best, max_nfev=200, ftol=draw_ftol), recent)
        )

    media = problem.media(best) * problem.mean_outcome
    return Fit(
        keys=tuple(keys),
        weeks=weeks,
        mean_outcome=problem.mean_outcome,
        r2=r2,
        point=problem.draw(best, recent),
        draws=tuple(draws),
        spend_totals=tuple(float(v) for v in spend.sum(axis=0)),
        current_spend=tuple(float(v) for v in spend[-recent:].mean(axis=0)),
        max_spend=tuple(float(v) for v in spend.max(axis=0)),
        fitted=tuple(float(v) for v in fitted * problem.mean_outcome),
        media=tuple(tuple(float(v) for v in media[:, c]) for c in range(spend.shape[1])),
    )


def interval(values: list[float] | np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(np.asarray(values, dtype=float), INTERVAL)
    return float(lo), float(hi)


def expected(draw: Draw, allocation: np.ndarray, mean_outcome: float) -> float:
    """Weekly outcome under a steady weekly `allocation` (one amount per channel)."""
    media = sum(
        float(curve.weekly(amount, mean_outcome))
        for curve, amount in zip(draw.curves, allocation, strict=True)
    )
    return draw.baseline + media


def allocate(
    curves: tuple[Curve, ...] | list[Curve],
    mean_outcome: float,
    budget: float,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """The split of a weekly `budget` between channels, each within [lower, upper], that
    maximises the sum of their concave response curves. At the optimum every channel not held
    by a bound has the same marginal return λ; for a shape-1 Hill curve the spend at a given λ
    has a closed form, and λ is found by bisection so that the spends add up to the budget."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)

    def spend_at(lam: float) -> np.ndarray:
        out = np.empty(len(curves))
        for c, curve in enumerate(curves):
            scale = curve.beta * mean_outcome * curve.half / curve.mean_spend
            if scale <= 0:
                out[c] = 0.0
                continue
            u = np.sqrt(scale / lam) - curve.half
            out[c] = u * curve.mean_spend
        return np.clip(out, lower, upper)

    lo_lam, hi_lam = 1e-12, 1.0
    while spend_at(hi_lam).sum() > budget and hi_lam < 1e12:
        hi_lam *= 10.0
    while spend_at(lo_lam).sum() < budget and lo_lam > 1e-300:
        lo_lam /= 10.0
        if lo_lam < 1e-200:
            break
    for _ in range(200):
        mid = np.sqrt(lo_lam * hi_lam)
        if spend_at(mid).sum() > budget:
            lo_lam = mid
        else:
            hi_lam = mid
        if hi_lam / lo_lam < 1 + 1e-12:
            break
    allocation = spend_at(np.sqrt(lo_lam * hi_lam))
    # What bisection leaves (a few cents), or what no channel's curve wants (all at their upper
    # bound or flat), goes to the channels with room, in proportion to their room.
    gap = budget - allocation.sum()
    room = (upper - allocation) if gap > 0 else (allocation - lower)
    if abs(gap) > 1e-9 and room.sum() > 0:
        allocation = allocation + np.sign(gap) * room * min(1.0, abs(gap) / room.sum())
    return allocation
