"""Customer lifetime value at speed: BG/NBD + Gamma-Gamma fitted on simulated orders of known truth.

    python -m bench.clv --quick     # 10k customers, temp SQLite
    python -m bench.clv --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench_clv

--full: 100k customers. Each customer's purchases are drawn from the BG/NBD story itself (a
Poisson rate from Gamma(r, α), a drop-out chance after each purchase from Beta(a, b)) with the
CDNOW parameters, and each purchase's value from the Gamma-Gamma story (p, q, γ of CDNOW), over
52 weeks from a first purchase in the first quarter; the fit should find those parameters again.
The workspace "bench-clv" is wiped and built again with bulk inserts (`--reuse` fits the one an
earlier run loaded).
Goal (issue 18): BG/NBD + Gamma-Gamma fit on 100k customers < 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import numpy as np

from bench.generate import bench_workspace, django_setup

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
START = dt.date(2025, 1, 1)
WEEKS = 52


def simulate(customers: int, *, seed: int = 18) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer index, day offset, value) of every purchase, first purchases included."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], customers)  # purchases per week
    drop = rng.beta(TRUTH["a"], TRUTH["b"], customers)
    nu = rng.gamma(TRUTH["q"], 1 / TRUTH["gamma"], customers)  # Gamma-Gamma's per-customer scale
    first = rng.integers(0, 90, customers)  # the first purchase, in days from START
    horizon = WEEKS * 7 - first
    who, when = [np.arange(customers)], [first.astype(float)]
    clock = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    while alive.any():
        clock = clock + rng.exponential(1 / np.maximum(rate, 1e-9)) * 7  # in days
        alive &= clock < horizon
        index = np.flatnonzero(alive)
        who.append(index)
        when.append(first[index] + clock[index])
        alive &= rng.random(customers) >= drop  # BG/NBD: may drop out after each purchase
    customer = np.concatenate(who)
    day = np.floor(np.concatenate(when)).astype(int)
    value = rng.gamma(TRUTH["p"], 1 / nu[customer])
    return customer, day, np.round(value, 2)


def load(workspace, customers: int) -> int:
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.orders.models import Order

    index, day, value = simulate(customers)
    contacts = Contact.objects.for_workspace(workspace).bulk_create(
        [Contact(workspace=workspace, email=f"c{n}@bench.example") for n in range(customers)],
        batch_size=5000,
    )
    ids = np.array([c.pk for c in contacts])
    tz = timezone.get_current_timezone()
    base = dt.datetime.combine(START, dt.time(12), tzinfo=tz)
    Order.objects.for_workspace(workspace).bulk_create(
        [
            Order(
                workspace=workspace,
                contact_id=int(ids[i]),
                number=f"B-{n}",
                ordered_at=base + dt.timedelta(days=int(d)),
                total=float(v),
            )
            for n, (i, d, v) in enumerate(zip(index, day, value, strict=True))
        ],
        batch_size=5000,
    )
    return len(index)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--reuse", action="store_true", help="fit the workspace an earlier run loaded, if any"
    )
    args = parser.parse_args()
    customers = 100_000 if args.full else 10_000
    django_setup(args.database_url)
    from django.db import connection

    from volano.core.models import Workspace
    from volano.orders.models import Order
    from volano.reports import selectors, services

    workspace = Workspace.objects.filter(slug="bench-clv").first() if args.reuse else None
    if workspace is not None:
        orders = Order.objects.for_workspace(workspace).count()
        print(f"reusing bench-clv: {orders:,} orders")
    else:
        workspace = bench_workspace("bench-clv")
        started = time.monotonic()
        orders = load(workspace, customers)
        seconds = time.monotonic() - started
        print(f"{customers:,} customers, {orders:,} orders loaded in {seconds:.1f} s")
    as_of = START + dt.timedelta(weeks=WEEKS)
    started = time.monotonic()
    model = services.value_model_fit(workspace=workspace, as_of=as_of)
    fit_seconds = time.monotonic() - started
    started = time.monotonic()
    values = selectors.customers_value(workspace, as_of=as_of, horizon_months=12)
    value_seconds = time.monotonic() - started
    found = {k: getattr(model, k) for k in TRUTH}
    print(f"database: {connection.vendor}")
    print(
        "parameters (found / truth): " + ", ".join(f"{k} {found[k]:.3f}/{TRUTH[k]}" for k in TRUTH)
    )
    print(f"fit (summary query + BG/NBD + Gamma-Gamma): {fit_seconds:.2f} s (goal < 10 s)")
    print(
        f"every customer's P(alive), expected purchases and 12-month CLV: {value_seconds:.2f} s; "
        f"mean CLV {values.clv.mean():.2f}, P(alive) < 0.3: {(values.p_alive < 0.3).sum():,}"
    )
    return 0 if fit_seconds < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
