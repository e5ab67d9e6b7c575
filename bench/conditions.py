"""Time the count of the issue's segment: "Lombardy contacts who looked at prices 3+ times in
30 days and have not clicked an email in 90", compiled to one SQL statement.

    python -m bench.conditions --quick                     # ~20k contacts on a temp SQLite
    python -m bench.conditions --quick --database-url postgres://postgres@127.0.0.1:5432/volano_bench_conditions
    python -m bench.conditions --full --database-url URL [--workspace SLUG]   # existing 1M data

--quick generates a fresh workspace "bench-conditions" with the demo generator; --full uses
an existing workspace (default "bench-1m", as bench.generate --full leaves it) and generates
nothing. Target: under 2 s at 1M contacts on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench.generate import django_setup, quick_workspace

SEGMENT = {
    "all": [
        {"field": "region", "op": "eq", "value": "Lombardia"},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
        {"not": {"event": "email_clicked", "within_days": 90}},
    ]
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m", help="--full: the workspace slug")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.full and not (args.database_url or "").startswith("postgres"):
        print("--full needs --database-url of a PostgreSQL database with the 1M demo data")
        return 2
    django_setup(args.database_url)

    from django.db import connection

    from volano.conditions.describe import condition_describe
    from volano.conditions.parse import condition_parse
    from volano.conditions.selectors import condition_count, contacts_matching
    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.events.models import Event

    if args.quick:
        workspace = quick_workspace(
            "bench-conditions", contacts=20_000, companies=4_000, anonymous_visitors=5_000
        )
    else:
        workspace = Workspace.objects.filter(slug=args.workspace).first()
        if workspace is None:
            print(f"no workspace {args.workspace!r}: run python -m bench.generate --full first")
            return 2
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()
    condition = condition_parse(SEGMENT, workspace=workspace)
    print(condition_describe(condition, "en"))
    timings, count = [], 0
    for _ in range(args.runs):
        started = time.perf_counter()
        count = condition_count(workspace=workspace, condition=condition)
        timings.append(time.perf_counter() - started)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql, params = contacts_matching(
                workspace=workspace, condition=condition
            ).query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(plan)
    print(
        f"conditions: db={connection.vendor} contacts={contacts:,} events={events:,} "
        f"matching={count:,} count_seconds_median={statistics.median(timings):.3f} "
        f"first={timings[0]:.3f} max={max(timings):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
