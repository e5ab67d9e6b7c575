"""Trigger event → first email of a workflow received by a real SMTP server (aiosmtpd), end to
end: the event goes in through the events service (as the API and the tracking endpoint do),
the reaction enrols the contact, the worker runs the send step, the sending core hands the
message to SMTP, and the clock stops when the SMTP server has the message.

    python -m bench.workflow_trigger --quick        # SQLite file, the embedded worker, 10 events
    python -m bench.workflow_trigger --full --database-url postgres://…/volano_bench
    python -m bench.workflow_trigger --full --database-url postgres://… \\
        --broker amqp://guest:guest@127.0.0.1:5672// --workers 2      # two Celery workers

The workers are real `volano worker` processes (the embedded database worker on every queue,
or Celery workers with `--broker`), started before the clock and ready. Events are sent one at
a time, each for a new contact, waiting for its email before the next. The goal (issue 15):
under 2 s with the embedded worker.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.generate import bench_workspace, django_setup, free_port

ROOT = Path(__file__).resolve().parents[1]


class Inbox:
    """aiosmtpd handler: the moment each recipient's message arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.perf_counter()
        with self.lock:
            for address in envelope.rcpt_tos:
                self.arrived.setdefault(address.lower(), now)
        return "250 Message accepted for delivery"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--broker", default="", help="a broker URL: Celery workers")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--events", type=int, default=None)
    args = parser.parse_args()
    count = args.events or (10 if args.quick else 30)
    data_dir = tempfile.mkdtemp(prefix="volano-bench-trigger-")
    database_url = args.database_url
    if not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    port = free_port(2525)
    env_extra = {"VOLANO_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    if args.broker:
        env_extra["VOLANO_BROKER_URL"] = args.broker
        env_extra["VOLANO_BROKER_QUEUE_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}-"
    os.environ.update(env_extra)
    django_setup(database_url, data_dir)

    from aiosmtpd.controller import Controller
    from django.db import connection
    from django.utils import timezone

    from volano.contacts import services as contacts
    from volano.emails.templating.services import template_save
    from volano.events.services import events_ingest
    from volano.workflows import services

    # a workspace of its own per run (wiping one with mailings is refused by their foreign keys)
    workspace = bench_workspace(f"bench-trigger-{uuid.uuid4().hex[:8]}")
    template_save(
        workspace=workspace, actor=None, slug="grazie", name="Grazie", subject="Grazie",
        html='<html><body><p>Ciao {{ contact.first_name }},</p>'
             '<p><a href="https://x.it/report.pdf">Il report</a></p></body></html>',
    )  # fmt: skip
    people = []
    for i in range(count):
        contact = contacts.contact_create(
            workspace=workspace,
            actor=None,
            data={"email": f"p{i}@bench-trigger.it", "first_name": f"P{i}"},
        )
        contacts.consent_set(
            workspace=workspace, actor=None, contact=contact, purpose="email_marketing",
            status="granted", source="bench",
        )  # fmt: skip
        people.append(contact)
    workflow = services.workflow_create(
        workspace=workspace,
        actor=None,
        definition={
            "name": "Grazie",
            "trigger": {"kind": "form_submitted", "form": "report"},
            "steps": [
                {"key": "grazie", "kind": "send_email", "template": "grazie"},
                {"key": "una-settimana", "kind": "wait", "days": 7},
            ],
        },
    )
    services.workflow_publish(workspace=workspace, actor=None, workflow=workflow)
    connection.close()  # the workers open their own

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, **env_extra}
    procs = []
    logs = []
    for n in range(args.workers):
        log = open(Path(data_dir) / f"worker-{n}.log", "wb")  # noqa: SIM115 (closed below)
        logs.append(log)
        command = [sys.executable, "-m", "volano", "worker"]
        if args.broker:
            command += ["--concurrency", "1"]
        else:
            command += ["--queue", "*"]
        procs.append(
            subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        time.sleep(8 if args.broker else 4)  # the workers start and take their queues
        # a warm-up event (first imports, compiled statements), not counted
        seconds: list[float] = []
        for index, contact in enumerate(people):
            address = contact.email.lower()
            started = time.perf_counter()
            result = events_ingest(
                workspace=workspace,
                items=[{"type": "form_submitted", "contact_id": contact.pk,
                        "occurred_at": timezone.now().isoformat(),
                        "properties": {"form": "report"}}],
            )  # fmt: skip
            assert result.accepted == 1, result
            deadline = started + 60
            while address not in inbox.arrived and time.perf_counter() < deadline:
                time.sleep(0.005)
            if address not in inbox.arrived:
                print(f"event {index}: no email within 60 s", flush=True)
                return 1
            elapsed = inbox.arrived[address] - started
            print(f"event {index}: email received after {elapsed:.3f} s", flush=True)
            if index:
                seconds.append(elapsed)
        print(
            f"trigger → email received ({connection.vendor}, "
            f"{f'celery x{args.workers}' if args.broker else 'embedded worker'}): "
            f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s over "
            f"{len(seconds)} events (first one left out as warm-up); goal < 2 s",
            flush=True,
        )
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        for log in logs:
            log.close()
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
