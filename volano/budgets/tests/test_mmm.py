"""The media-mix model against a known truth: weekly spend and revenue simulated from chosen
adstock, saturation and coefficients; the fit must find the channels' contributions, and the
optimiser the split a closed form gives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from volano.budgets import mmm
from volano.budgets.simulation import DEFAULT_CHANNELS, simulate

MONDAY = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def simulated_fit():
    simulated = simulate(first_monday=MONDAY, weeks=104, channels=DEFAULT_CHANNELS[:4], noise=0.005)
    days = np.array([d.timetuple().tm_yday for d in simulated.week_starts], dtype=float)
    fit = mmm.fit(
        keys=list(simulated.keys),
        spend=simulated.spend,
        outcome=simulated.revenue,
        week_days_of_year=days,
        bootstrap=40,
    )
    return simulated, fit


def test_the_fit_recovers_each_channels_contribution(simulated_fit):
    simulated, fit = simulated_fit
    assert fit.r2 > 0.9
    found = np.array(fit.point.contributions)
    truth = simulated.contributions
    # every channel within 25% of what it truly returned, the media total within 10%
    assert np.all(np.abs(found - truth) <= 0.25 * truth), (found, truth)
    assert abs(found.sum() - truth.sum()) <= 0.10 * truth.sum()
    # the strongest channel is named the strongest
    assert int(np.argmax(found)) == int(np.argmax(truth))


def test_intervals_hold_the_point_estimate_and_are_not_degenerate(simulated_fit):
    _, fit = simulated_fit
    for c in range(len(fit.keys)):
        lo, hi = mmm.interval([d.contributions[c] for d in fit.draws])
        assert lo < hi
        assert lo <= fit.point.contributions[c] * 1.05 and fit.point.contributions[c] * 0.95 <= hi


def test_a_channel_that_returns_nothing_is_found_to_return_little():
    channels = (*DEFAULT_CHANNELS[:2], DEFAULT_CHANNELS[2].__class__("nulla", 800.0, 0.3, 1.0, 0.0))
    simulated = simulate(first_monday=MONDAY, weeks=104, channels=channels, seed=3)
    days = np.array([d.timetuple().tm_yday for d in simulated.week_starts], dtype=float)
    fit = mmm.fit(
        keys=list(simulated.keys),
        spend=simulated.spend,
        outcome=simulated.revenue,
        week_days_of_year=days,
        bootstrap=0,
    )
    found = np.array(fit.point.contributions)
    assert found[2] < 0.1 * found[:2].min()


def _curve(beta: float, half: float = 1.0, mean_spend: float = 1.0) -> mmm.Curve:
    return mmm.Curve(decay=0.0, half=half, beta=beta, mean_spend=mean_spend)


def test_the_optimiser_finds_the_closed_form_optimum():
    # r_c(s) = beta_c * s / (s + k): at the optimum s_c + k is proportional to sqrt(beta_c)
    betas = np.array([4.0, 1.0, 9.0])
    k, budget = 1.0, 10.0
    curves = [_curve(b, half=k) for b in betas]
    allocation = mmm.allocate(curves, 1.0, budget, np.zeros(3), np.full(3, np.inf))
    closed_form = (budget + 3 * k) * np.sqrt(betas) / np.sqrt(betas).sum() - k
    assert np.allclose(allocation, closed_form, atol=1e-6)
    assert allocation.sum() == pytest.approx(budget)


def test_the_optimiser_keeps_bounds_and_equalises_the_marginal_return_of_the_rest():
    curves = [_curve(4.0, mean_spend=100.0), _curve(1.0, mean_spend=100.0), _curve(9.0, 50.0)]
    lower = np.array([0.0, 120.0, 0.0])
    upper = np.array([1000.0, 1000.0, 60.0])
    allocation = mmm.allocate(curves, 1.0, 500.0, lower, upper)
    assert allocation.sum() == pytest.approx(500.0)
    assert allocation[1] == pytest.approx(120.0)  # held at its lower bound
    assert allocation[2] == pytest.approx(60.0)  # held at its upper bound
    # nothing better nearby: moving 1 from any channel to another loses
    best = sum(float(c.weekly(a, 1.0)) for c, a in zip(curves, allocation, strict=True))
    for i in range(3):
        for j in range(3):
            moved = allocation.copy()
            moved[i] -= 1.0
            moved[j] += 1.0
            if i == j or moved[i] < lower[i] or moved[j] > upper[j]:
                continue
            value = sum(float(c.weekly(a, 1.0)) for c, a in zip(curves, moved, strict=True))
            assert value <= best + 1e-9


def test_the_optimiser_agrees_with_a_brute_force_search_on_two_channels():
    curves = [_curve(3.0, half=0.5, mean_spend=200.0), _curve(2.0, half=2.0, mean_spend=300.0)]
    budget = 700.0
    allocation = mmm.allocate(curves, 1.0, budget, np.zeros(2), np.full(2, budget))
    grid = np.linspace(0, budget, 70001)
    values = curves[0].weekly(grid, 1.0) + curves[1].weekly(budget - grid, 1.0)
    assert allocation[0] == pytest.approx(grid[int(np.argmax(values))], abs=0.05)


def _six_channel_fit(**options) -> mmm.Fit:
    simulated = simulate(first_monday=MONDAY, weeks=104, noise=0.01)
    days = np.array([d.timetuple().tm_yday for d in simulated.week_starts], dtype=float)
    return mmm.fit(
        keys=list(simulated.keys),
        spend=simulated.spend,
        outcome=simulated.revenue,
        week_days_of_year=days,
        bootstrap=40,
        **options,
    )


def test_the_quicker_bootstrap_refits_find_what_refits_to_convergence_find():
    """The refits stop at DRAW_FTOL (1e-5) instead of SciPy's 1e-8 (a third less CPU): the
    point estimate is the same fit, and every channel's contribution interval and the interval of its
    weekly return at today's spend stay within 5% of their width of what refits run to 1e-10
    find, and the median draw's return within 1%."""
    quick = _six_channel_fit()
    careful = _six_channel_fit(draw_ftol=1e-10)
    assert quick.point == careful.point
    for c in range(len(quick.keys)):
        lo, hi = mmm.interval([d.contributions[c] for d in careful.draws])
        qlo, qhi = mmm.interval([d.contributions[c] for d in quick.draws])
        assert abs(qlo - lo) <= 0.05 * (hi - lo) and abs(qhi - hi) <= 0.05 * (hi - lo), (c, lo, hi)
        spend = quick.current_spend[c]
        a = np.array([float(d.curves[c].weekly(spend, quick.mean_outcome)) for d in quick.draws])
        b = np.array([float(d.curves[c].weekly(spend, quick.mean_outcome)) for d in careful.draws])
        lo, hi = mmm.interval(b)
        qlo, qhi = mmm.interval(a)
        assert abs(qlo - lo) <= 0.05 * (hi - lo) and abs(qhi - hi) <= 0.05 * (hi - lo), (c, lo, hi)
        assert np.median(np.abs(a - b) / np.maximum(np.abs(b), 1.0)) <= 0.01, c


def test_the_fit_runs_on_one_blas_thread_and_gives_the_threads_back(monkeypatch):
    """Two BLAS threads on matrices this small only wait for each other: at load 25 the 1 s fit
    took 60 s (docs/benchmarks.md). The fit holds BLAS to one thread and restores the limit."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    seen: list[set[int]] = []
    original = mmm._Problem.solve

    def solve(self, *args, **kwargs):
        seen.append(blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mmm._Problem, "solve", solve)
    simulated = simulate(first_monday=MONDAY, weeks=60, channels=DEFAULT_CHANNELS[:2])
    days = np.array([d.timetuple().tm_yday for d in simulated.week_starts], dtype=float)
    with threadpool_limits(limits=2, user_api="blas"):
        mmm.fit(
            keys=list(simulated.keys),
            spend=simulated.spend,
            outcome=simulated.revenue,
            week_days_of_year=days,
            bootstrap=2,
        )
        after = blas_threads()
    assert seen and all(s == {1} for s in seen)
    assert after == {2}
