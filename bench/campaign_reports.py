"""A year's ROI reports of seed 002 (`volano.campaigns.reports`) on a large workspace.

    python -m bench.campaign_reports --quick       # 10,000 contacts on a temp SQLite file
    python -m bench.campaign_reports --full --database-url postgres://postgres@127.0.0.1:5432/volano_seed002_1m

The workspace "bench-reports" is filled set-based (INSERT … SELECT over generate_series on
PostgreSQL, a recursive CTE on SQLite; no Python loop over rows): N contacts created over the
year, two touches each (a page view tagged with one of 10 campaigns and 20 content assets, a
download for a third of them), 5% made SQL with a hand-off (half accepted), a deal for 2.5% and
an order for 1.25% (plus an earlier order for the customers of the two campaigns aimed at
customers). Then each report runs for the whole year by month, timed (best of 3). Target (issue
16): each under 2 s at 1M contacts on PostgreSQL. `--reuse` keeps a workspace already filled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from typing import Any

from bench.generate import bench_workspace, django_setup

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
BASE = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)


def _series(vendor: str, n: int) -> tuple[str, list]:
    """A FROM clause yielding column i = 1..n."""
    if vendor == "postgresql":
        return "generate_series(1, %s) AS g(i)", [n]
    return (
        "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
        "SELECT i FROM s) AS g",
        [n],
    )


def _days_after(vendor: str, days_sql: str, hours: int = 0) -> str:
    """BASE plus `days_sql` days (and `hours`), as a timestamp of that database."""
    if vendor == "postgresql":
        return f"(%s::timestamptz + ({days_sql}) * interval '1 day' + interval '{hours} hours')"
    return f"datetime(%s, '+' || ({days_sql}) || ' days', '+{hours} hours')"


def insert_select(model: Any, *, source: str, params: list, values: dict[str, tuple[str, list]]):
    """INSERT INTO model's table SELECT … FROM `source`: each column from `values`
    ({attname: (sql, params)}), else the field's default as a parameter."""
    from django.db import connection

    columns, exprs, all_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or getattr(field, "generated", False):
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in values:
            sql, more = values[field.attname]
            exprs.append(sql)
            all_params.extend(more)
        else:
            default = field.get_default()
            if isinstance(default, dict | list):
                default = json.dumps(default)
            exprs.append("%s")
            all_params.append(default)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(exprs)} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*all_params, *params])


def fill(workspace: Any, contacts: int) -> None:
    from django.db import connection, transaction

    from volano.campaigns.models import Campaign, ContentAsset
    from volano.contacts.models import Contact
    from volano.deals.models import Deal
    from volano.events.models import Event
    from volano.handoff.models import Assignment
    from volano.lifecycle.models import StageChange
    from volano.orders.models import Order, OrderLine

    vendor = connection.vendor
    ws = workspace.pk
    base = BASE if vendor == "postgresql" else BASE.strftime("%Y-%m-%d %H:%M:%S")
    with transaction.atomic():
        for k in range(10):
            Campaign.objects.create(
                workspace=workspace,
                name=f"Campagna {k}",
                slug=f"camp-{k}",
                utm_campaign=f"camp-{k}",
                aims_at_customers=k >= 8,
            )
        campaigns = dict(Campaign.objects.for_workspace(workspace).values_list("slug", "pk"))
        for k in range(20):
            ContentAsset.objects.create(
                workspace=workspace,
                name=f"Contenuto {k}",
                slug=f"wp-{k}",
                utm_content=f"wp-{k}",
                campaign_id=campaigns[f"camp-{k % 10}"],
            )
        series, sparams = _series(vendor, contacts)
        created = _days_after(vendor, "i %% 365")
        insert_select(
            Contact,
            source=series,
            params=sparams,
            values={
                "workspace_id": ("%s", [ws]),
                "email": ("'c' || i || '@bench-reports.it'", []),
                "first_name": ("CASE WHEN i %% 2 = 0 THEN 'Nome' ELSE '' END", []),
                "created_at": (created, [base]),
                "updated_at": (created, [base]),
            },
        )
        mine = f"contacts_contact c WHERE c.workspace_id = {int(ws)}"
        c_created = "c.created_at"
        insert_select(
            Event,
            source=mine,
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "contact_id": ("c.id", []),
                "type": ("'page_view'", []),
                "channel": ("'web'", []),
                "occurred_at": (c_created, []),
                "received_at": (c_created, []),
                "utm_source": ("'google'", []),
                "utm_medium": ("'cpc'", []),
                "utm_campaign": ("'camp-' || (c.id %% 10)", []),
                "utm_content": ("'wp-' || (c.id %% 20)", []),
            },
        )
        insert_select(
            Event,
            source=mine + " AND c.id %% 3 = 0",
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "contact_id": ("c.id", []),
                "type": ("'content_downloaded'", []),
                "channel": ("'web'", []),
                "occurred_at": (c_created, []),
                "received_at": (c_created, []),
                "content": ("'wp-' || (c.id %% 20)", []),
            },
        )
        sql_time = (
            "c.created_at + interval '5 days'"
            if vendor == "postgresql"
            else "datetime(c.created_at, '+5 days')"
        )
        insert_select(
            StageChange,
            source=mine + " AND c.id %% 20 = 0",
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "contact_id": ("c.id", []),
                "from_stage": ("'mql'", []),
                "to_stage": ("'sql'", []),
                "changed_at": (sql_time, []),
                "source": ("'rule'", []),
            },
        )
        answered = (
            "c.created_at + interval '6 days'"
            if vendor == "postgresql"
            else "datetime(c.created_at, '+6 days')"
        )
        insert_select(
            Assignment,
            source=mine + " AND c.id %% 20 = 0",
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "contact_id": ("c.id", []),
                "status": ("CASE WHEN c.id %% 40 = 0 THEN 'accepted' ELSE 'pending' END", []),
                "assigned_at": (sql_time, []),
                "answered_at": (f"CASE WHEN c.id %% 40 = 0 THEN {answered} END", []),
            },
        )
        before = (
            "c.created_at - interval '30 days'"
            if vendor == "postgresql"
            else "datetime(c.created_at, '-30 days')"
        )
        insert_select(
            Deal,
            source=mine + " AND c.id %% 40 = 0",
            params=[],
            values={
                "workspace_id": ("c.workspace_id", []),
                "contact_id": ("c.id", []),
                "name": ("'Offerta ' || c.id", []),
                "amount": ("1000", []),
                "created_at": (answered, []),
                "updated_at": (answered, []),
            },
        )
        # orders: one after SQL for 1 in 80; an earlier and a later one for customers of the
        # two campaigns aimed at customers (camp-8, camp-9) for 1 in 50
        for where, number, when in (
            ("c.id %% 80 = 0", "'A-' || c.id", answered),
            ("c.id %% 50 IN (8, 9)", "'B-' || c.id", before),
            ("c.id %% 50 IN (8, 9)", "'C-' || c.id", answered),
        ):
            insert_select(
                Order,
                source=f"{mine} AND {where}",
                params=[],
                values={
                    "workspace_id": ("c.workspace_id", []),
                    "contact_id": ("c.id", []),
                    "number": (number, []),
                    "ordered_at": (when, []),
                    "total": ("500", []),
                },
            )
        insert_select(
            OrderLine,
            source=f"orders_order o WHERE o.workspace_id = {int(ws)}",
            params=[],
            values={
                "workspace_id": ("o.workspace_id", []),
                "order_id": ("o.id", []),
                "product_name": ("'Ricambio'", []),
                "product_line": (
                    "CASE WHEN o.number LIKE 'C-%%' AND o.id %% 2 = 0 "
                    "THEN 'macchine' ELSE 'ricambi' END",
                    [],
                ),
                "amount": ("500", []),
            },
        )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="10,000 contacts")
    mode.add_argument("--full", action="store_true", help="1,000,000 contacts")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--reuse", action="store_true", help="keep a filled bench-reports")
    parser.add_argument("--reports", default="", help="only these reports (comma-separated)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--rebuild", action="store_true", help="with --reuse: rebuild the first touches too"
    )
    args = parser.parse_args()
    contacts = args.contacts or (1_000_000 if args.full else 10_000)
    data_dir = tempfile.mkdtemp(prefix="volano-bench-reports-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    from django.db import connection

    from volano.campaigns.reports import selectors
    from volano.contacts.models import Contact
    from volano.core.models import Workspace

    workspace = Workspace.objects.filter(slug="bench-reports").first()
    if not (args.reuse and workspace):
        workspace = bench_workspace("bench-reports")
        started = time.perf_counter()
        fill(workspace, contacts)
        print(f"filled {contacts:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    from volano.campaigns.touches import first_touches_refresh

    if not (args.reuse and workspace and not args.rebuild):
        # the fill writes events straight into the table: build the kept first touches once,
        # as `volano campaigns first-touches` does (what the reactions keep current after)
        started = time.perf_counter()
        written = first_touches_refresh(workspace=workspace)
        print(
            f"first touches of {written:,} contacts rebuilt in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
    size = Contact.objects.for_workspace(workspace).count()
    worst = 0.0
    names = [n for n in args.reports.split(",") if n] or list(selectors.REPORTS)
    for name in names:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report = selectors.report_run(workspace, name, *YEAR, "month")
            times.append(time.perf_counter() - started)
        best = min(times)
        print(f"  runs: {', '.join(f'{t:.3f}' for t in times)} s", flush=True)
        worst = max(worst, best)
        print(
            f"campaign_reports: report={name} db={connection.vendor} contacts={size:,} "
            f"rows={len(report.rows)} best={best:.3f}s",
            flush=True,
        )
    print(f"slowest report: {worst:.3f} s (target < 2 s at 1M on PostgreSQL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
