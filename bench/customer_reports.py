"""Cohort retention, related purchases and a survey's results on a large workspace.

    python -m bench.customer_reports --quick      # 10,000 customers on a temp SQLite file
    python -m bench.customer_reports --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench_customers

The workspace "bench-customers" is filled set-based (INSERT … SELECT over a series, no Python
loop over rows): N customers, each with 1 to 4 orders over the year (customer i has i % 4 + 1),
two lines per order among 40 products in 4 product lines (products picked by arithmetic on the
customer and the order, so some pairs go together far more than chance), and an NPS answer for
every third customer. Then each report runs, timed (best of `--runs`). No goal in the issue for
these; they must stay interactive (under a second or two) at 100k customers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

from bench.campaign_reports import BASE, _days_after, _series, insert_select
from bench.generate import bench_workspace, django_setup


def fill(workspace: Any, customers: int) -> None:
    from django.db import connection, transaction

    from volano.contacts.models import Contact
    from volano.orders.models import Order, OrderLine
    from volano.surveys.models import SurveyResponse
    from volano.surveys.services import survey_create

    vendor = connection.vendor
    ws = int(workspace.pk)
    base = BASE if vendor == "postgresql" else BASE.strftime("%Y-%m-%d %H:%M:%S")
    with transaction.atomic():
        series, sparams = _series(vendor, customers)
        insert_select(
            Contact,
            source=series,
            params=sparams,
            values={
                "workspace_id": ("%s", [ws]),
                "email": ("'c' || i || '@bench-customers.it'", []),
                "created_at": (_days_after(vendor, "i %% 300"), [base]),
                "updated_at": (_days_after(vendor, "i %% 300"), [base]),
            },
        )
        # order k (0..3) of customer c, when k <= c % 4: 20 + 25·k days after the first
        orders = (
            f"contacts_contact c JOIN ({_series(vendor, 4)[0].replace('%s', '4')}) k "
            f"ON k.i - 1 <= c.id %% 4 WHERE c.workspace_id = {ws}"
        )
        when = (
            "c.created_at + ((k.i - 1) * 25 + 20) * interval '1 day'"
            if vendor == "postgresql"
            else "datetime(c.created_at, '+' || ((k.i - 1) * 25 + 20) || ' days')"
        )
        insert_select(
            Order,
            source=orders,
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "number": ("'B' || c.id || '-' || k.i", []),
                "contact_id": ("c.id", []),
                "ordered_at": (when, []),
                "total": ("100", []),
                "created_at": (when, []),
            },
        )
        lines = f"orders_order o JOIN ({_series(vendor, 2)[0].replace('%s', '2')}) n ON 1 = 1 WHERE o.workspace_id = {ws}"
        # the first line: product (customer % 40); the second: its "companion" (+1) for half
        # the customers, else something arithmetic-random
        sku = (
            "CASE WHEN n.i = 1 THEN o.contact_id %% 40 "
            "WHEN o.contact_id %% 2 = 0 THEN (o.contact_id + 1) %% 40 "
            "ELSE (o.contact_id * 7 + o.id) %% 40 END"
        )
        insert_select(
            OrderLine,
            source=lines,
            params=[],
            values={
                "workspace_id": ("o.workspace_id", []),
                "order_id": ("o.id", []),
                "sku": (f"'P' || ({sku})", []),
                "product_name": (f"'Prodotto ' || ({sku})", []),
                "product_line": (f"'linea-' || (({sku}) %% 4)", []),
                "amount": ("50", []),
            },
        )
        survey = survey_create(workspace=workspace, actor=None, name="NPS bench", kind="nps")
        answered = (
            "c.created_at + interval '30 days'"
            if vendor == "postgresql"
            else "datetime(c.created_at, '+30 days')"
        )
        insert_select(
            SurveyResponse,
            source=f"contacts_contact c WHERE c.workspace_id = {ws} AND c.id %% 3 = 0",
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "survey_id": ("%s", [survey.pk]),
                "contact_id": ("c.id", []),
                "score": ("c.id %% 11", []),
                "comment": ("CASE WHEN c.id %% 5 = 0 THEN 'Commento' ELSE '' END", []),
                "answered_at": (answered, []),
                "updated_at": (answered, []),
            },
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="10,000 customers")
    mode.add_argument("--full", action="store_true", help="100,000 customers")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--customers", type=int)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    customers = args.customers or (100_000 if args.full else 10_000)
    data_dir = tempfile.mkdtemp(prefix="volano-bench-customers-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    import datetime as dt

    from django.db import connection

    from volano.reports import cohorts, related
    from volano.surveys.models import Survey
    from volano.surveys.selectors import survey_results

    workspace = bench_workspace("bench-customers")
    started = time.perf_counter()
    fill(workspace, customers)
    print(f"filled {customers:,} customers in {time.perf_counter() - started:.1f} s", flush=True)
    as_of = dt.date(2026, 12, 31)
    survey = Survey.objects.for_workspace(workspace).get()
    reports = {
        "cohorts": lambda: len(cohorts.cohort_retention(workspace, as_of=as_of)),
        "related_product": lambda: len(related.related_purchases(workspace, item="P3").rules),
        "related_all_lines": lambda: len(
            related.related_purchases(workspace, level=related.LINE).rules
        ),
        "survey_results": lambda: survey_results(workspace=workspace, survey=survey).total.n,
    }
    for name, run in reports.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            size = run()
            times.append(time.perf_counter() - started)
        print(
            f"customer_reports: report={name} db={connection.vendor} customers={customers:,} "
            f"size={size} best={min(times):.3f}s median={sorted(times)[len(times) // 2]:.3f}s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
