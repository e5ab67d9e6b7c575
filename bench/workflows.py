"""Due workflow steps per minute on one worker: the engine (`workflows_run_due`) over N
enrolments, set-based.

    python -m bench.workflows --quick                       # temp SQLite file, 5,000 contacts
    python -m bench.workflows --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench

N contacts are enrolled in one workflow (one INSERT … SELECT), then two passes of the engine
run every due step as of two moments, as `volano workflows run-due --as-of` does:

    update_property (job_title) → wait 1 day → branch (a condition on job_title)
        then: add_to_list, update_property (city)      else: update_property (city)

The first pass runs 2 steps per enrolment (the update and the wait), the second 3 (the branch,
then the list and the update, or the update). Steps per minute = steps run / seconds × 60;
the goal is 100,000 per minute per worker on PostgreSQL (issue 15). Emails are not part of
this benchmark (the sending core has its own: bench.email_send).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time

from bench.generate import bench_workspace, django_setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--contacts", type=int, default=None)
    args = parser.parse_args()
    contacts = args.contacts or (5_000 if args.quick else 100_000)
    data_dir = tempfile.mkdtemp(prefix="volano-bench-workflows-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    from django.db import connection
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.segments.services import list_create
    from volano.workflows import services
    from volano.workflows.models import Enrolment, StepRun

    workspace = bench_workspace("bench-workflows")
    list_create(workspace=workspace, actor=None, slug="tecnici", name="Tecnici")
    started = time.perf_counter()
    Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email=f"c{i}@bench-workflows.it", first_name=f"C{i}")
            for i in range(contacts)
        ],
        batch_size=5_000,
    )
    print(f"{contacts:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    if connection.vendor == "postgresql":  # the planner needs the table's new size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    workflow = services.workflow_create(
        workspace=workspace,
        actor=None,
        definition={
            "name": "Bench",
            "trigger": {"kind": "manual"},
            "steps": [
                {
                    "key": "ruolo",
                    "kind": "update_property",
                    "field": "job_title",
                    "value": "Tecnico",
                },
                {"key": "un-giorno", "kind": "wait", "days": 1},
                {
                    "key": "tecnico",
                    "kind": "branch",
                    "when": {"field": "job_title", "op": "eq", "value": "Tecnico"},
                    "then": [
                        {"key": "lista", "kind": "add_to_list", "list": "tecnici"},
                        {
                            "key": "citta",
                            "kind": "update_property",
                            "field": "city",
                            "value": "Bergamo",
                        },
                    ],
                    "else": [
                        {
                            "key": "altrove",
                            "kind": "update_property",
                            "field": "city",
                            "value": "Altrove",
                        }
                    ],
                },
            ],
        },
    )
    workflow = services.workflow_publish(workspace=workspace, actor=None, workflow=workflow)
    now = timezone.now()
    started = time.perf_counter()
    enrolled = services.workflow_enrol(
        workspace=workspace,
        actor=None,
        workflow=workflow,
        contacts=Contact.objects.for_workspace(workspace),
        source="bench",
        now=now,
    )
    print(f"{enrolled:,} enrolled in {time.perf_counter() - started:.1f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total_steps, total_seconds = 0, 0.0
    for label, moment in (
        ("first", now),
        ("after the wait", now + dt.timedelta(days=1, minutes=1)),
    ):
        started = time.perf_counter()
        result = services.workflows_run_due(workspace=workspace, now=moment)
        seconds = time.perf_counter() - started
        total_steps += result["steps"]
        total_seconds += seconds
        print(
            f"{label}: {result['steps']:,} steps in {seconds:.1f} s "
            f"({result['steps'] / seconds * 60:,.0f} per minute)",
            flush=True,
        )
    runs = StepRun.objects.for_workspace(workspace).count()
    done = Enrolment.objects.for_workspace(workspace).filter(status="completed").count()
    assert runs == total_steps == contacts * 5, (runs, total_steps)
    assert done == contacts, done
    rate = total_steps / total_seconds * 60
    print(
        f"total: {total_steps:,} steps in {total_seconds:.1f} s = {rate:,.0f} steps per minute "
        f"({connection.vendor}); goal 100,000",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
