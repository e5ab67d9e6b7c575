"""Due workflow steps per minute on Celery workers over a real broker (RabbitMQ or Redis),
sharing PostgreSQL: the engine's claims (`SELECT … FOR UPDATE SKIP LOCKED`) split the due
enrolments between the workers.

    python -m bench.workflows_celery --database-url postgres://…/volano_bench \\
        --broker amqp://guest:guest@127.0.0.1:5672// --workers 2 --contacts 100000

N contacts are enrolled in one published workflow (one INSERT … SELECT) while the workers are
already up and idle; then one `workflows_run_due_task` per worker is enqueued, and the clock
runs until every enrolment completed (polled every 0.2 s). The workflow has no wait, so each
enrolment runs its 4 steps at once:

    update_property (job_title) → branch (a condition on job_title)
        then: add_to_list, update_property (city)      else: update_property (city)

Every step runs once: the step runs equal 4 × N (a unique key per step execution). The goal
(issue 15) is 100,000 per minute per worker.

`--in-process` runs the same workflow over the same data with no Celery: the bench's own
process calls the engine (`workflows_run_due`) once the enrolment committed, on the same clock.
It is the reference for what the Celery workers add (the broker, the worker's task, its
sweeper), measured in the same minutes and at the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.generate import bench_workspace, django_setup

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--broker", default=None, help="amqp://… or redis://… (Celery workers)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="no Celery: the bench's process runs the engine itself (the reference)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    if not (args.database_url or "").startswith("postgres"):
        print("Celery workers share PostgreSQL: give --database-url postgres://…")
        return 2
    if not args.in_process and not args.broker:
        print("give --broker amqp://… (or redis://…), or --in-process")
        return 2
    data_dir = tempfile.mkdtemp(prefix="volano-bench-wfcelery-")
    env_extra = {
        "VOLANO_BROKER_URL": args.broker or "",
        "VOLANO_BROKER_QUEUE_PREFIX": f"bench-{uuid.uuid4().hex[:8]}-",
    }
    os.environ.update(env_extra)
    django_setup(args.database_url, data_dir)

    from django.db import connection

    from volano.contacts.models import Contact
    from volano.segments.services import list_create
    from volano.workflows import services
    from volano.workflows.models import Enrolment
    from volano.workflows.tasks import workflows_run_due_task

    workspace = bench_workspace(f"bench-wfcelery-{uuid.uuid4().hex[:6]}")
    list_create(workspace=workspace, actor=None, slug="tecnici", name="Tecnici")
    started = time.perf_counter()
    Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email=f"c{i}@bench-wfcelery.it", first_name=f"C{i}")
            for i in range(args.contacts)
        ],
        batch_size=5_000,
    )
    print(f"{args.contacts:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    workflow = services.workflow_create(
        workspace=workspace,
        actor=None,
        definition={
            "name": "Bench celery",
            "trigger": {"kind": "manual"},
            "steps": [
                {"key": "ruolo", "kind": "update_property", "field": "job_title",
                 "value": "Tecnico"},
                {"key": "tecnico", "kind": "branch",
                 "when": {"field": "job_title", "op": "eq", "value": "Tecnico"},
                 "then": [{"key": "lista", "kind": "add_to_list", "list": "tecnici"},
                          {"key": "citta", "kind": "update_property", "field": "city",
                           "value": "Bergamo"}],
                 "else": [{"key": "altrove", "kind": "update_property", "field": "city",
                           "value": "Altrove"}]},
            ],
        },
    )  # fmt: skip
    workflow = services.workflow_publish(workspace=workspace, actor=None, workflow=workflow)

    if args.in_process:
        # the database task backend: the run task the enrolment enqueues waits in its table,
        # taken by no worker; this process runs the engine instead
        clock = _enrol(services, workspace, workflow)
        services.workflows_run_due(workspace=workspace)
        return _report(workspace, args.contacts, clock, "in this process (no Celery)", 1)

    env = {**os.environ, **env_extra}
    procs, logs = [], []
    for n in range(args.workers):
        log = open(Path(data_dir) / f"worker-{n}.log", "wb")  # noqa: SIM115 (closed below)
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "volano",
                    "worker",
                    "--concurrency",
                    "1",
                    "--sweep-interval",
                    "2",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        from volano.jobs.celery import celery_app

        wanted = {f"volano-{p.pid}@{os.uname().nodename}" for p in procs}
        deadline = time.time() + 120
        while time.time() < deadline:
            replies = celery_app().control.ping(destination=sorted(wanted), timeout=0.5)
            if {name for reply in replies for name in reply} >= wanted:
                break
        else:
            print("the workers did not answer in 120 s")
            return 1
        print(f"{args.workers} Celery workers ready", flush=True)
        # enrolling enqueues one run after commit: the workers start at once
        # the clock starts at the enrolment's commit (its run is enqueued then), a moment
        # before workflow_enrol returns
        clock = _enrol(services, workspace, workflow)
        for _worker in range(args.workers - 1):
            workflows_run_due_task.enqueue(workspace.pk)
        enrolments = Enrolment.objects.for_workspace(workspace)
        while enrolments.filter(status="active").exists():
            if time.perf_counter() - clock > 1800:
                print("not done in 30 min")
                return 1
            time.sleep(0.2)
        return _report(
            workspace, args.contacts, clock, f"on {args.workers} Celery workers", args.workers
        )
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        for log in logs:
            log.close()
    return 0


def _enrol(services, workspace, workflow) -> float:
    """Enrol every contact of the workspace; the moment it committed (the clock's start)."""
    from volano.contacts.models import Contact

    started = time.perf_counter()
    enrolled = services.workflow_enrol(
        workspace=workspace,
        actor=None,
        workflow=workflow,
        contacts=Contact.objects.for_workspace(workspace),
        source="bench",
    )
    clock = time.perf_counter()
    print(f"{enrolled:,} enrolled in {clock - started:.1f} s", flush=True)
    return clock


def _report(workspace, contacts: int, clock: float, where: str, workers: int) -> int:
    from volano.workflows.models import Enrolment, StepRun

    seconds = time.perf_counter() - clock
    assert not Enrolment.objects.for_workspace(workspace).filter(status="active").exists()
    runs = StepRun.objects.for_workspace(workspace).count()
    assert runs == 4 * contacts, (runs, 4 * contacts)
    rate = runs / seconds * 60
    print(
        f"total: {runs:,} steps in {seconds:.1f} s (after the enrolment) = {rate:,.0f} steps "
        f"per minute {where} ({rate / workers:,.0f} per worker); every step ran once; goal "
        "100,000 per worker",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
