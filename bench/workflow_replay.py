"""Time the replay of a 10-step workflow draft over the last 90 days of the timeline (issue 15):
who would have entered by a form, two emails, waits, a branch on clicks of comparable emails, a
condition branch and a split, each step's count in one statement.

    python -m bench.workflow_replay --quick                     # ~10k contacts on a temp SQLite
    python -m bench.workflow_replay --quick --database-url postgres://postgres@127.0.0.1:5432/volano_bench_replay
    python -m bench.workflow_replay --full --database-url URL [--workspace SLUG]   # existing 1M data

--quick generates a fresh workspace "bench-replay" with the demo generator; --full uses an
existing workspace (default "bench-1m", as bench.generate --full leaves it) and generates
nothing. The replay reads only: the workflow is not saved (an unsaved Workflow carries the
draft). Target: under 60 s at 1M contacts / 10M events on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter

from bench.generate import django_setup, quick_workspace


def definition(templates: list[str]) -> dict:
    first, second = [*templates, "benvenuto", "secondo"][:2]
    return {
        "name": "Bench replay",
        "trigger": {"kind": "form_submitted"},
        "steps": [
            {"key": "grazie", "kind": "send_email", "template": first},
            {"key": "due-giorni", "kind": "wait", "days": 2},
            {"key": "secondo", "kind": "send_email", "template": second},
            {"key": "tre-giorni", "kind": "wait", "days": 3},
            {
                "key": "ha-cliccato",
                "kind": "branch",
                "on": {"steps": ["grazie", "secondo"], "did": "clicked"},
                "then": [{"key": "avvisa", "kind": "notify", "title": "Lead caldo"}],
                "else": [
                    {
                        "key": "lombardia",
                        "kind": "branch",
                        "when": {"field": "region", "op": "eq", "value": "Lombardia"},
                        "then": [{"key": "ultimo", "kind": "send_email", "template": first}],
                        "else": [
                            {
                                "key": "ab",
                                "kind": "split",
                                "paths": [
                                    [{"key": "a", "kind": "send_email", "template": second}],
                                    [],
                                ],
                            }
                        ],
                    }
                ],
            },
        ],
        "goal": {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m", help="--full: the workspace slug")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--contacts", type=int, default=10_000, help="--quick: how many")
    args = parser.parse_args()
    if args.full and not (args.database_url or "").startswith("postgres"):
        print("--full needs --database-url of a PostgreSQL database with the 1M demo data")
        return 2
    django_setup(args.database_url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.emails.models import EmailTemplate, Mailing
    from volano.events.models import Event
    from volano.workflows.models import Workflow
    from volano.workflows.replay import workflow_replay

    if args.quick:
        workspace = quick_workspace(
            f"bench-replay-{args.contacts}",
            contacts=args.contacts,
            companies=args.contacts // 5,
            anonymous_visitors=args.contacts // 5,
        )
    else:
        workspace = Workspace.objects.filter(slug=args.workspace).first()
        if workspace is None:
            print(f"no workspace {args.workspace!r}: run python -m bench.generate --full first")
            return 2
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()
    # the two templates most sent before, so the branch on clicks has comparable emails
    sent = Counter(
        Mailing.objects.for_workspace(workspace)
        .filter(params__has_key="template_id")
        .values_list("params__template_id", flat=True)
    )
    slugs = dict(EmailTemplate.objects.for_workspace(workspace).values_list("pk", "slug"))
    templates = [slugs[pk] for pk, _n in sent.most_common() if pk in slugs]
    draft = definition(templates)
    steps = 10
    workflow = Workflow(pk=999_999, workspace=workspace, name="Bench replay", draft=draft)
    timings, result, statements = [], {}, 0
    for _ in range(args.runs):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            result = workflow_replay(workspace=workspace, workflow=workflow, days=args.days)
        timings.append(time.perf_counter() - started)
        statements = len(queries.captured_queries)
        writes = [
            q["sql"][:60]
            for q in queries.captured_queries
            if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        ]
        assert not writes, writes
    counts = " ".join(f"{row['key']}={row['count']}" for row in result["steps"])
    print(counts)
    print(
        f"workflow_replay: db={connection.vendor} contacts={contacts:,} events={events:,} "
        f"steps={steps} days={args.days} entered={result['entered']:,} "
        f"goal={result['goal_reached']:,} statements={statements} "
        f"seconds_median={statistics.median(timings):.3f} first={timings[0]:.3f} "
        f"max={max(timings):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
