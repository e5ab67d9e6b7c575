"""How long a hand-off alert takes to reach the SMTP server while a large broadcast is sending.

    python -m bench.email_transactional --quick    # 10,000 contacts, temp SQLite file
    python -m bench.email_transactional --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench_tx

A real SMTP server (aiosmtpd) listens in this process and notes when each message arrives; the
workers run as child processes, one per queue, as `volano serve` starts them. A broadcast to
every contact (10,000 quick, 100,000 full; all consented) is started; once it is under way, a
hand-off alert (`volano.notifications.services.notify`, the email on the `transactional` queue)
is sent every second, and the clock runs from `notify` to the alert's arrival at the SMTP
server. Target (issue 14): < 5 s while the broadcast is still sending. The bench workspace's
sending policy has no quiet hours and no cap, so the broadcast sends whatever the hour.
"""

from __future__ import annotations

import argparse
import os
import signal
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
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--alerts", type=int, default=20)
    args = parser.parse_args()
    contacts_n = args.contacts or (10_000 if args.quick else 100_000)
    data_dir = tempfile.mkdtemp(prefix="volano-bench-email-tx-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    from aiosmtpd.controller import Controller

    bulk: list[float] = []
    alerts: dict[str, float] = {}
    arrived = threading.Condition()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            now = time.perf_counter()
            content = envelope.content.decode(errors="replace")
            with arrived:
                if "Subject: Alert " in content:
                    subject = content.partition("Subject: Alert ")[2].split("\n", 1)[0].strip()
                    alerts[subject] = now
                else:
                    bulk.append(now)
                arrived.notify_all()
            return "250 OK"

    smtp = Controller(Handler(), hostname="127.0.0.1", port=free_port(8026))
    smtp.start()
    os.environ["VOLANO_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}"
    django_setup(database_url, data_dir)

    from django.db import connection

    from volano.contacts.models import Consent, Contact
    from volano.core import services as core_services
    from volano.core.management.commands.serve import WORKER_QUEUES
    from volano.core.models import Role, User
    from volano.emails.models import Mailing
    from volano.emails.policy import email_policy_save
    from volano.emails.sending.services import mailing_create, mailing_send
    from volano.notifications.services import notify

    workspace = bench_workspace("bench-email-tx")
    email_policy_save(
        workspace=workspace, actor=None, data={"quiet_enabled": False, "cap_enabled": False}
    )
    rep = User.objects.filter(email="rep@bench-email-tx.it").first() or core_services.user_create(
        email="rep@bench-email-tx.it", password=None, full_name="Marco Bench"
    )
    core_services.membership_set(workspace=workspace, user=rep, role=Role.SALES)
    started = time.perf_counter()
    for low in range(0, contacts_n, 10_000):
        made = Contact.objects.bulk_create(
            Contact(workspace=workspace, email=f"c{i:06d}@bench-email-tx.it", first_name=f"N{i}")
            for i in range(low, min(contacts_n, low + 10_000))
        )
        Consent.objects.bulk_create(
            Consent(workspace=workspace, contact=c, purpose="email_marketing", status="granted")
            for c in made
        )
    mailing = mailing_create(
        workspace=workspace,
        actor=None,
        kind="broadcast",
        renderer="plain",
        params={
            "subject": "Novità per {first_name}",
            "html": '<p>Ciao {first_name}, <a href="https://www.example.it/">la gamma</a></p>',
            "text": "Ciao {first_name}",
        },
        audience_queryset=Contact.objects.for_workspace(workspace),
        campaign="bench-tx",
    )
    print(f"{contacts_n} contacts and the outbox in {time.perf_counter() - started:.1f} s")

    env = {**os.environ, "DATABASE_URL": database_url or "", "VOLANO_DATA_DIR": data_dir}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "volano", "worker", "--queue", queue],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for queue in WORKER_QUEUES
    ]
    delays: list[float] = []
    during: list[bool] = []
    try:
        time.sleep(4)  # the workers start (import Django, connect)
        send_started = time.perf_counter()
        mailing_send(workspace=workspace, actor=None, mailing=mailing)
        with arrived:
            arrived.wait_for(lambda: len(bulk) >= min(500, contacts_n // 20), timeout=120)
        for n in range(args.alerts):
            title = f"{n:04d}"
            sent_at = time.perf_counter()
            notify(
                workspace=workspace,
                recipients=[rep],
                kind="lead_assigned",
                title=f"Alert {title}",
                body="Un nuovo lead ti aspetta.",
                link="/contacts/",
            )
            with arrived:
                arrived.wait_for(lambda title=title: title in alerts, timeout=60)
            if title not in alerts:
                print(f"alert {title} did not arrive within 60 s")
                return 1
            delays.append(alerts[title] - sent_at)
            during.append(Mailing.all_workspaces.filter(pk=mailing.pk, status="sending").exists())
            time.sleep(1)
        measured = time.perf_counter() - send_started
        bulk_then = len(bulk)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        smtp.stop()

    print(f"database: {connection.vendor}; broadcast to {contacts_n} contacts")
    print(
        f"broadcast: {bulk_then} messages in the first {measured:.1f} s "
        f"({bulk_then / measured:.0f}/s); still sending at {sum(during)} of {len(during)} alerts"
    )
    print(
        f"hand-off alert → SMTP server during the broadcast: median "
        f"{statistics.median(delays):.2f} s, p95 "
        f"{sorted(delays)[max(0, int(len(delays) * 0.95) - 1)]:.2f} s, max {max(delays):.2f} s"
    )
    return 0 if all(during) and max(delays) < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
