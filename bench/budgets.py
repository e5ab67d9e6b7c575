"""Response model at speed: fit on two years of weekly spend for six channels with its bootstrap
intervals, then the optimiser and a what-if, through the same services the API calls.

    python -m bench.budgets --quick     # 1 year × 3 channels, 30 bootstrap draws, temp SQLite
    python -m bench.budgets --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench_budgets
    python -m bench.budgets --full --demo   # the demo's channels and noise (believable ROAS)

--full: 104 weeks × 6 channels, 100 bootstrap draws (what the API does). The workspace
"bench-budgets" is wiped and filled with simulated costs and orders of known structure
(`volano.budgets.simulation`), and the fit is compared with the truth.
Goals (issue 17): the fit with its intervals < 60 s on 2 cores; the optimiser and a what-if < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

import numpy as np

from bench.generate import bench_workspace, django_setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="52 weeks × 3 channels")
    mode.add_argument("--full", action="store_true", help="104 weeks × 6 channels")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument(
        "--demo", action="store_true", help="the demo's truth (volano.budgets.demo.demo_truth)"
    )
    args = parser.parse_args()
    django_setup(args.database_url)

    from django.db import connection

    from volano.budgets import selectors, services
    from volano.budgets.simulation import (
        DEFAULT_CHANNELS,
        ChannelTruth,
        simulate,
        simulation_store,
    )

    channels: tuple[ChannelTruth, ...] = DEFAULT_CHANNELS if args.full else DEFAULT_CHANNELS[:3]
    weeks, draws = (104, 100) if args.full else (52, 30)
    workspace = bench_workspace("bench-budgets")
    first = dt.date(2024, 1, 1)
    if args.demo:
        from volano.budgets.demo import demo_truth

        simulated = demo_truth(first_monday=first)
        weeks, channels, draws = simulated.spend.shape[0], simulated.truth, 100
    else:
        simulated = simulate(first_monday=first, weeks=weeks, channels=channels, noise=0.01)
    simulation_store(workspace=workspace, simulated=simulated)
    last = simulated.week_starts[-1] + dt.timedelta(days=6)

    started, cpu_started = time.perf_counter(), time.process_time()
    model = services.response_model_fit(
        workspace=workspace,
        actor=None,
        outcome="revenue",
        date_from=first,
        date_to=last,
        bootstrap=draws,
    )
    fit_s = time.perf_counter() - started
    fit_cpu_s = time.process_time() - cpu_started  # every thread of this process
    summary = selectors.response_model_summary(model)
    by_key = {c["key"]: c for c in summary["channels"]}
    found = np.array([by_key[k]["contribution"] for k in simulated.keys])
    truth = simulated.contributions
    covered = sum(
        by_key[k]["contribution_interval"][0] <= t <= by_key[k]["contribution_interval"][1]
        for k, t in zip(simulated.keys, truth, strict=True)
    )

    budget = float(sum(model.fit["current_spend"]))
    started = time.perf_counter()
    best = selectors.allocation_recommend(workspace=workspace, budget=budget)
    optimise_s = time.perf_counter() - started
    started = time.perf_counter()
    selectors.scenario_evaluate(
        workspace=workspace, changes={simulated.keys[0]: 20, simulated.keys[-1]: -30}
    )
    whatif_s = time.perf_counter() - started
    started = time.perf_counter()
    selectors.response_curves(model)
    curves_s = time.perf_counter() - started

    print(
        f"budgets: db={connection.vendor} weeks={weeks} channels={len(channels)} "
        f"draws={draws} fit_s={fit_s:.1f} (model {model.seconds:.1f}, CPU {fit_cpu_s:.1f}) "
        f"r2={model.r2:.3f} "
        f"optimise_s={optimise_s:.3f} whatif_s={whatif_s:.3f} curves_s={curves_s:.3f}"
    )
    print(
        "contribution found/true per channel: "
        + ", ".join(
            f"{k} {f / t:.2f}" for k, f, t in zip(simulated.keys, found, truth, strict=True)
        )
        + f"; media total {found.sum() / truth.sum():.2f}; truth inside the 90% interval "
        f"for {covered} of {len(channels)}"
    )
    spent = simulated.spend.sum(axis=0)
    print(
        "ROAS found (true) per channel: "
        + ", ".join(
            f"{k} {by_key[k]['roas']:.2f} ({t / s:.2f})"
            for k, t, s in zip(simulated.keys, truth, spent, strict=True)
        )
    )
    print(
        f"same budget {budget:,.0f}/week: expected {best['expected']:,.0f} vs today "
        f"{best['current_expected']:,.0f}, gain {best['gain']:,.0f} "
        f"[{best['gain_interval'][0]:,.0f}, {best['gain_interval'][1]:,.0f}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
