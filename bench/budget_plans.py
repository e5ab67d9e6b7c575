"""The plan's lines shared with sales: their campaigns' pipeline and revenue (issue 17, §8).

    python -m bench.budget_plans --quick            # 10,000 contacts on a temp SQLite file
    python -m bench.budget_plans --full --database-url postgres://postgres@127.0.0.1:5432/volano_x
    python -m bench.budget_plans --contacts 100000 [--reuse] [--before]
    python -m bench.budget_plans --data-dir /path/to/demo-data --workspace officina-rossi --before

The workspace "bench-reports" is filled as `bench.campaign_reports` fills it (set-based: N
contacts over 2026, a page view tagged with one of 10 campaigns each, downloads, SQLs, a deal
for 1 in 40, orders for about 5 in 100), then a 2026 plan gets one line per campaign, shared
with sales, and `shared_returns` (the two statements the plan page runs) is timed, `--runs`
times. `--before` also times the statement as it was before session plan17c (each deal's and
order's events joined to the campaigns row by row), once, as the reference of the same run:
both must find the same figures. Target: under 1 s on the demo workspace.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from typing import Any

from bench.campaign_reports import fill
from bench.generate import bench_workspace, django_setup


def before_statement(workspace: Any, base: Any, aggregates: list[str]) -> list[tuple]:
    """`grouped_by_first_campaign` as it was before plan17c: every row's events at or before
    its moment, each joined to the campaigns and assets (LOWER on both sides), numbered."""
    from django.db import connection

    from volano.campaigns.models import Campaign, ContentAsset
    from volano.campaigns.selectors import TOUCH_TYPES
    from volano.events.models import Event

    lower = "volano_lower" if connection.vendor == "sqlite" else "LOWER"
    ws = int(workspace.pk)
    types = ", ".join(f"'{t}'" for t in TOUCH_TYPES)
    base_sql, params = base.query.sql_with_params()
    campaigns, assets = Campaign._meta.db_table, ContentAsset._meta.db_table
    sql = f"""
        WITH b0 AS ({base_sql}),
        ev AS (
            SELECT b.rk, e.occurred_at, e.id,
                   COALESCE(c1.id, c2.id, a3.campaign_id, a4.campaign_id) AS campaign_id
            FROM b0 b
            JOIN {Event._meta.db_table} e ON e.workspace_id = {ws} AND e.contact_id = b.ct
                 AND e.occurred_at <= b.until AND e.type IN ({types})
            LEFT JOIN {campaigns} c1 ON c1.workspace_id = {ws} AND c1.utm_campaign <> ''
                 AND {lower}(c1.utm_campaign) = {lower}(e.utm_campaign)
            LEFT JOIN {campaigns} c2 ON c2.workspace_id = {ws} AND c2.utm_campaign <> ''
                 AND {lower}(c2.utm_campaign) = {lower}(e.campaign)
            LEFT JOIN {assets} a3 ON a3.workspace_id = {ws} AND a3.campaign_id IS NOT NULL
                 AND 'form:' || a3.slug = e.source
            LEFT JOIN {assets} a4 ON a4.workspace_id = {ws} AND a4.campaign_id IS NOT NULL
                 AND a4.slug = e.content
        ),
        f AS (
            SELECT rk, campaign_id,
                   ROW_NUMBER() OVER (PARTITION BY rk ORDER BY occurred_at, id) AS rn
            FROM ev WHERE campaign_id IS NOT NULL
        )
        SELECT b.bucket, f.campaign_id, {", ".join(aggregates)}
        FROM b0 b LEFT JOIN f ON f.rk = b.rk AND f.rn = 1
        GROUP BY b.bucket, f.campaign_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def shared_plan(workspace: Any) -> Any:
    from volano.budgets import plan_services
    from volano.budgets.plan_models import Plan
    from volano.campaigns.models import Campaign

    Plan.objects.for_workspace(workspace).filter(name="Bench shared").delete()
    lines = [
        {
            "name": campaign.name,
            "kind": "media",
            "item": "search",
            "campaign": campaign.pk,
            "team": "shared",
            "maturity": "proven",
            "total": "12000",
        }
        for campaign in Campaign.objects.for_workspace(workspace).order_by("pk")
    ]
    return plan_services.plan_create(
        workspace=workspace,
        actor=None,
        data={"name": "Bench shared", "year": 2026},
        lines=lines,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="10,000 contacts (the default)")
    mode.add_argument("--full", action="store_true", help="100,000 contacts")
    mode.add_argument("--contacts", type=int)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--data-dir", help="VOLANO_DATA_DIR (the demo's, say, with --workspace)")
    parser.add_argument("--workspace", help="time an existing workspace's first plan instead")
    parser.add_argument("--reuse", action="store_true", help="keep a filled bench-reports")
    parser.add_argument("--before", action="store_true", help="time the old statement too")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    contacts = args.contacts or (100_000 if args.full else 10_000)
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="volano-bench-plans-")
    database_url = args.database_url
    if not database_url and not args.data_dir:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    from django.db import connection

    import volano.campaigns.reports.selectors as reports
    from volano.budgets import plan_selectors
    from volano.budgets.plan_models import Plan
    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.orders.models import Order

    if args.workspace:
        workspace = Workspace.objects.get(slug=args.workspace)
        plan = Plan.objects.for_workspace(workspace).order_by("pk").first()
    else:
        workspace = Workspace.objects.filter(slug="bench-reports").first()
        if not (args.reuse and workspace):
            workspace = bench_workspace("bench-reports")
            started = time.perf_counter()
            fill(workspace, contacts)
            print(f"filled {contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        plan = shared_plan(workspace)
    size = Contact.objects.for_workspace(workspace).count()
    orders = Order.objects.for_workspace(workspace).filter(ordered_at__year=plan.year).count()
    times, found = [], {}
    for _ in range(args.runs):
        started = time.perf_counter()
        found = plan_selectors.shared_returns(plan)
        times.append(time.perf_counter() - started)
    revenue = sum((f["revenue"] for f in found.values()), Decimal(0))
    pipeline = sum((f["pipeline"] for f in found.values()), Decimal(0))
    print(
        f"budget_plans: shared_returns db={connection.vendor} contacts={size:,} "
        f"orders={orders:,} campaigns={len(found)} runs={[round(t, 3) for t in times]} "
        f"median={statistics.median(times):.3f}s revenue={revenue} pipeline={pipeline}",
        flush=True,
    )
    if args.before:
        now = reports.grouped_by_first_campaign
        reports_module: Any = plan_selectors
        reports_module.grouped_by_first_campaign = before_statement
        try:
            started = time.perf_counter()
            old = plan_selectors.shared_returns(plan)
            took = time.perf_counter() - started
        finally:
            reports_module.grouped_by_first_campaign = now
        same = old == found
        print(
            f"budget_plans: before (per row) {took:.3f}s, ratio {took / statistics.median(times):.1f}"
            f"x; same figures: {same}",
            flush=True,
        )
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
