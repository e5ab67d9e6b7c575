"""From the event that makes a lead SQL to the rep's email handed to SMTP, with the embedded worker.

    python -m bench.handoff --quick                       # temp SQLite file
    python -m bench.handoff --full --database-url postgres://postgres@127.0.0.1:5432/volano_1m

A real SMTP server (aiosmtpd) listens in this process; `volano worker` runs as a child process,
as `volano serve` runs it. For each of N leads a webinar attendance arrives through
`events_ingest` (what POST /api/v1/events does); the clock stops when the rep's email reaches
the SMTP server. The path: scoring task → threshold rules (Lead → MQL → SQL) → hand-off task →
notification email task. Target: < 2 s. --full adds the workspace "bench-handoff" to an existing
(large) database, so the event store is the big one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench.generate import bench_workspace, django_setup, free_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--leads", type=int, default=10)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="volano-bench-handoff-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    from aiosmtpd.controller import Controller

    received: list[tuple[float, str]] = []
    arrived = threading.Condition()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with arrived:
                received.append((time.perf_counter(), envelope.content.decode(errors="replace")))
                arrived.notify_all()
            return "250 OK"

    smtp = Controller(Handler(), hostname="127.0.0.1", port=free_port(8025))
    smtp.start()
    os.environ["VOLANO_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}"
    django_setup(database_url, data_dir)

    from django.utils import timezone

    from volano.contacts.services import contact_create
    from volano.core import services as core_services
    from volano.core.models import Role, User
    from volano.deals.models import ProductLine
    from volano.events.services import events_ingest
    from volano.handoff.models import AssignmentRule
    from volano.lifecycle.services import threshold_rule_save
    from volano.scoring.services import score_model_save

    workspace = bench_workspace("bench-handoff")
    rep = User.objects.filter(email="rep@bench-handoff.it").first() or core_services.user_create(
        email="rep@bench-handoff.it", password=None, full_name="Marco Bench"
    )
    core_services.membership_set(
        workspace=workspace,
        user=rep,
        role=Role.SALES,
        regions=["Lombardia"],
        product_lines=["ricambi"],
    )
    ProductLine.objects.create(workspace=workspace, slug="ricambi", name="Ricambi")
    AssignmentRule.objects.create(
        workspace=workspace,
        name="Lombardia ricambi",
        regions=["Lombardia"],
        product_lines=["ricambi"],
        reps=[rep.pk],
    )
    score_model_save(
        workspace=workspace,
        actor=None,
        data={
            "slug": "ricambi",
            "name": "Ricambi",
            "rules": [
                {
                    "kind": "engagement",
                    "when": {"event": "webinar_attended"},
                    "points": 60,
                    "max_times": 2,
                    "half_life_days": 60,
                }
            ],
        },
    )
    for rule in (
        {
            "name": "Ricambi ≥ 50 → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "score.ricambi", "op": "gte", "value": 50},
        },
        {
            "name": "MQL + webinar → SQL",
            "from_stages": ["mql"],
            "to_stage": "sql",
            "product_line": "ricambi",
            "condition": {"event": "webinar_attended", "within_days": 30},
        },
    ):
        threshold_rule_save(workspace=workspace, actor=None, data=rule)
    leads = [
        contact_create(
            workspace=workspace,
            actor=None,
            data={
                "email": f"lead{n}@bench-handoff.it",
                "first_name": "Lead",
                "last_name": f"N{n:03d}",
                "postal_code": "20121",
            },
        )
        for n in range(args.leads)
    ]
    env = {**os.environ, "DATABASE_URL": database_url or "", "VOLANO_DATA_DIR": data_dir}
    worker = subprocess.Popen(
        [sys.executable, "-m", "volano", "worker"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(4)  # the worker starts (imports Django, connects)
        timings = []
        for lead in leads:
            before = len(received)
            started = time.perf_counter()
            events_ingest(
                workspace=workspace,
                items=[
                    {
                        "type": "webinar_attended",
                        "contact_id": lead.pk,
                        "occurred_at": timezone.now().isoformat(),
                    }
                ],
            )
            with arrived:
                arrived.wait_for(lambda before=before: len(received) > before, timeout=30)
            if len(received) <= before:
                print(f"no email for {lead.email} within 30 s")
                return 1
            at, message = received[-1]
            assert lead.last_name in message, message[:300]
            timings.append(at - started)
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(10)
        smtp.stop()
    from django.db import connection

    print(f"database: {connection.vendor}; {len(timings)} leads")
    print(
        f"event → SQL → rep's email at the SMTP server: median {statistics.median(timings):.2f} s,"
        f" max {max(timings):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
