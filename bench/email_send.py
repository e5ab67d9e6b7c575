"""Email sending at speed, each beside the simplest thing that does the same work by hand.

    python -m bench.email_send --quick                  # 2,000 messages, temp SQLite file
    python -m bench.email_send --full [--database-url postgres://…]   # 20,000 messages
    python -m bench.email_send --outbox --database-url postgres://…/volano_ereport_bench1m [--runs 3]
    add --profile to the first two for a cProfile (CPU time) of the sending core's run (top 25),
    --connections N for the SMTP process's connections (default: the mailer's, 2)

Throughput (--quick/--full): the demo newsletter (variables and a block per product line,
renderer "template") to N consented contacts, sent by one worker loop (`mailing_deliver`, what
the email queue's task runs: claim a batch in a transaction with the consent and suppression
checks, render the batch, build each message with tracking and List-Unsubscribe, hand it to
SMTP, write "sent" and the email_sent events) to a local aiosmtpd server in its own process
(aiosmtpd's Sink handler: accepts and drops). The worker's SMTP process talks to the server
over two connections at once (the mailer's `connections`, default 2): one worker, two
connections. By hand, in the same run: one `smtplib` connection sending N pre-built messages
of the same size to the same server; run before and after the core's run, their mean is the
limit (the goal's measure). For reference only, after each round: the same bare loop over as
many connections as the core used, a thread each. In `--rounds` rounds (default 3), each its
own mailing to its own slice of the audience, so the machine's load drifting within a run
weighs on both sides alike. Prints messages/s of both per round, the median ratio (goal ≥
0.80), and each process's CPU ms a message: the server's during the bare loop and during the
core's run, the bare loop's own, the worker's and the SMTP process's.

Outbox (--outbox, PostgreSQL): audience resolution and outbox creation for a 1M-contact
segment: `mailing_create` with the audience a broadcast's send gives it (the segment's current
memberships, `broadcast_audience_rows`), the same with the members as a Contact queryset
(`segment_members`), and by hand a raw `INSERT … SELECT` of the same ids from the membership
table. The 1M contacts
(90% in the segment, all with email_marketing consent) are built once with `generate_series`
and kept for later runs (workspace "bench-email-1m"). Goal < 30 s.
"""

from __future__ import annotations

import argparse
import cProfile
import email.policy
import io
import os
import pstats
import resource
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench.generate import django_setup

OUTBOX_CONTACTS = 1_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smtp_sink(port: int) -> subprocess.Popen:
    """aiosmtpd in its own process, accepting and dropping every message."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise SystemExit("aiosmtpd did not start")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the SMTP process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _bare_loop(
    port: int, messages: list[tuple[str, bytes]], server: int
) -> tuple[float, float, float]:
    """Messages/s of one smtplib connection sending pre-built messages, and the CPU ms a
    message of the server and of the loop meanwhile."""
    cpu, own = _cpu_of(server), time.process_time()
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, raw in messages:
            smtp.sendmail("volano@bench.it", [to], raw)
    elapsed = time.perf_counter() - began
    per = 1000 / len(messages)
    return (
        len(messages) / elapsed,
        (_cpu_of(server) - cpu) * per,
        (time.process_time() - own) * per,
    )


def _bare_loops(port: int, messages: list[tuple[str, bytes]], connections: int) -> float:
    """Messages/s of `connections` smtplib connections (a thread each) sending the messages
    between them: the bare loop with as many connections as the core's SMTP process."""
    import threading

    def loop(part: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for to, raw in part:
                smtp.sendmail("volano@bench.it", [to], raw)

    threads = [
        threading.Thread(target=loop, args=(messages[i::connections],)) for i in range(connections)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(messages) / (time.perf_counter() - began)


def throughput(n: int, profile: bool, rounds: int, connections: int = 0) -> None:

    from bench.email_render import newsletter_audience
    from volano.contacts.models import Contact
    from volano.emails.models import Delivery, EmailPolicy
    from volano.emails.rendering import render_mailing, template_mailing_params
    from volano.emails.sending.services import (
        build_message,
        mailing_create,
        mailing_deliver,
        mailing_send,
    )
    from volano.emails.sending.transport import connections_of

    workspace, template, ids = newsletter_audience("bench-email-send", n, consent=True)
    # one mailing per round, each to its own slice of the audience
    size = -(-n // rounds)
    slices = [ids[i : i + size] for i in range(0, n, size)]
    mailings = [
        mailing_create(
            workspace=workspace,
            actor=None,
            kind="broadcast",
            renderer="template",
            params=template_mailing_params(template),
            audience_queryset=Contact.objects.for_workspace(workspace).filter(pk__in=part),
            name=f"Bench newsletter {index + 1}",
            campaign="bench-newsletter",
        )
        for index, part in enumerate(slices)
    ]
    # quiet hours off: the bench measures a send, not the policy's hold (the cap stays on;
    # the policy exists from the first marketing mailing on)
    EmailPolicy.objects.for_workspace(workspace).update(quiet_enabled=False)
    # the by-hand side's messages: the core's own message for the first contact, as bytes,
    # addressed to each contact (built before the clock starts)
    first = (
        Contact.objects.for_workspace(workspace).select_related("company", "owner").get(pk=ids[0])
    )
    sample = build_message(
        mailing=mailings[0], delivery_id=1, address=first.email,
        rendered=render_mailing(mailings[0], [first])[first.pk],
    ).message(policy=email.policy.SMTP).as_bytes()  # fmt: skip
    port = _free_port()
    sink = _smtp_sink(port)
    # CPU time, not wall time: on a loaded machine a call's wall time is mostly its wait for a
    # core, which lands on whichever call happens to be running
    profiler = cProfile.Profile(time.process_time) if profile else None
    results = []  # (core messages/s, bare before, bare after) per round
    bare_many: list[float] = []  # the bare loop over as many connections as the core's
    load_before = os.getloadavg()[0]
    cpu: list[dict[str, float]] = []  # CPU ms a message per round: server (bare, core), ours
    total_sent, total_elapsed = 0, 0.0
    try:
        from django.conf import settings

        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 30},
                **({"CONNECTIONS": connections} if connections else {}),
            }
        }
        connections = connections_of("default")
        # rounds of bare loop, core, bare loop: the machine's load drifts within a run, so
        # each round's core figure is compared with the bare loop around it
        for mailing, part in zip(mailings, slices, strict=True):
            messages = [(f"c{i}@bench.it", sample) for i in range(len(part))]
            bare_before, server_before, loop_before = _bare_loop(port, messages, sink.pid)
            mailing_send(workspace=workspace, actor=None, mailing=mailing)
            server_cpu, worker_cpu, child_cpu = (
                _cpu_of(sink.pid),
                time.process_time(),
                _children_cpu(),
            )
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            mailing_deliver(mailing_id=mailing.pk)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - began
            server_cpu, worker_cpu, child_cpu = (
                _cpu_of(sink.pid) - server_cpu,
                time.process_time() - worker_cpu,
                _children_cpu() - child_cpu,
            )
            bare_after, server_after, loop_after = _bare_loop(port, messages, sink.pid)
            if connections > 1:  # for reference: not the goal's measure (one connection)
                bare_many.append(_bare_loops(port, messages, connections))
            sent = Delivery.all_workspaces.filter(mailing=mailing, status="sent").count()
            total_sent += sent
            total_elapsed += elapsed
            results.append((sent / elapsed, bare_before, bare_after))
            per = 1000 / max(1, sent)
            cpu.append(
                {
                    "server bare": (server_before + server_after) / 2,
                    "bare loop": (loop_before + loop_after) / 2,
                    "server core": server_cpu * per,
                    "worker": worker_cpu * per,
                    "smtp process": child_cpu * per,
                }
            )
    finally:
        sink.terminate()
        sink.wait(10)
    from django.db import connection

    ratios = [core / ((before + after) / 2) for core, before, after in results]
    for index, (core, before, after) in enumerate(results):
        many = (
            f"; bare over {connections} connections {bare_many[index]:,.0f} "
            f"(ratio {core / bare_many[index]:.2f})"
            if bare_many
            else ""
        )
        print(
            f"round {index + 1}: {core:,.0f} messages/s; bare smtplib {before:,.0f} before, "
            f"{after:,.0f} after; ratio {ratios[index]:.2f}{many}; CPU ms a message: "
            + ", ".join(f"{k} {v:.2f}" for k, v in cpu[index].items())
        )
    bare = statistics.mean(b for _, before, after in results for b in (before, after))
    load = os.getloadavg()[0]
    print(
        f"{total_sent:,} of {n:,} personalised messages on {connection.vendor}, one worker "
        f"({connections} SMTP connection{'s' if connections > 1 else ''}), "
        f"{len(results)} rounds: {total_sent / total_elapsed:,.0f} messages/s "
        f"({total_elapsed:.1f} s); bare smtplib loop (one connection) {bare:,.0f} messages/s "
        f"({len(sample):,} bytes each); ratio median {statistics.median(ratios):.2f} (rounds "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; goal >= 0.80); load {load_before:.2f} -> "
        f"{load:.2f}"
    )
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        dump = os.path.join(tempfile.gettempdir(), f"email_send-{os.getpid()}.prof")
        stats.dump_stats(dump)
        print(f"the whole profile: {dump} (python -m pstats)")


# -- the 1M-contact outbox ------------------------------------------------------------------------


def _outbox_workspace(contacts: int = OUTBOX_CONTACTS):
    """The workspace of 1M contacts (or `contacts`) with consent and a 90% segment, built once
    by SQL."""
    from django.db import connection, transaction
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.core.services import workspace_create
    from volano.segments.models import Segment

    slug = "bench-email-1m" if contacts == OUTBOX_CONTACTS else f"bench-email-{contacts}"
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        workspace = workspace_create(slug=slug, name=f"Bench email {contacts:,}")
    segment = Segment.objects.for_workspace(workspace).filter(slug="bench-lombardia").first()
    have = Contact.objects.for_workspace(workspace).count()
    if have >= contacts and segment is not None:
        return workspace, segment
    began = time.perf_counter()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_contact WHERE workspace_id = %s", [workspace.pk])
        cursor.execute(
            """
            INSERT INTO contacts_contact (workspace_id, email, first_name, last_name, phone,
                job_title, street, postal_code, city, province, region, country, language,
                tags, source, custom, created_at, updated_at, lifecycle_stage)
            SELECT %s, 'c' || g || '@bench.it', 'Nome' || g, 'Cognome', '', '', '', '', '',
                '', CASE WHEN g %% 10 = 0 THEN 'Sicilia' ELSE 'Lombardia' END, 'IT', 'it',
                '[]'::jsonb, 'bench', '{}'::jsonb, %s, %s, 'lead'
            FROM generate_series(1, %s) AS g
            """,
            [workspace.pk, now, now, contacts],
        )
        cursor.execute(
            """
            INSERT INTO contacts_consent (workspace_id, contact_id, purpose, status, source,
                recorded_at, form, proof)
            SELECT workspace_id, id, 'email_marketing', 'granted', 'bench', %s, '', ''
            FROM contacts_contact WHERE workspace_id = %s
            """,
            [now, workspace.pk],
        )
        if segment is None:
            segment = Segment.objects.create(
                workspace=workspace,
                slug="bench-lombardia",
                name="Lombardia",
                definition={"field": "region", "op": "eq", "value": "Lombardia"},
            )
        cursor.execute(
            """
            INSERT INTO segments_segmentmembership (workspace_id, segment_id, contact_id,
                entered_at)
            SELECT workspace_id, %s, id, %s FROM contacts_contact
            WHERE workspace_id = %s AND region = 'Lombardia'
            """,
            [segment.pk, now, workspace.pk],
        )
        count = cursor.rowcount
        Segment.objects.for_workspace(workspace).filter(pk=segment.pk).update(
            size=count, refreshed_at=now
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {contacts:,} contacts, consents and a {count:,}-member segment "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    return workspace, segment


def outbox(runs: int, contacts: int = OUTBOX_CONTACTS) -> None:
    from django.db import connection

    from volano.emails.broadcasts.services import broadcast_audience_rows
    from volano.emails.models import Broadcast, Mailing
    from volano.emails.sending.services import mailing_create
    from volano.segments.selectors import segment_members

    if connection.vendor != "postgresql":
        raise SystemExit("--outbox runs on PostgreSQL: pass --database-url postgres://…")
    workspace, segment = _outbox_workspace(contacts)

    def clean() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM emails_delivery WHERE workspace_id = %s", [workspace.pk])
            cursor.execute("DELETE FROM emails_mailing WHERE workspace_id = %s", [workspace.pk])
            cursor.execute("VACUUM ANALYZE emails_delivery")

    broadcast = Broadcast(workspace=workspace, segment=segment)  # unsaved: only its audience
    core_times, contacts_times, raw_times, rows = [], [], [], 0
    for _ in range(runs):
        for audience, times in (
            # what a broadcast's send does: the segment's current memberships
            (broadcast_audience_rows(workspace=workspace, broadcast=broadcast), core_times),
            # the segment's members as a Contact queryset (a workflow's or any caller's way)
            (segment_members(workspace=workspace, segment=segment), contacts_times),
        ):
            clean()
            began = time.perf_counter()
            mailing = mailing_create(
                workspace=workspace,
                actor=None,
                kind="broadcast",
                renderer="plain",
                params={"subject": "Bench", "html": "<p>Ciao {first_name}</p>", "text": "Ciao"},
                audience_queryset=audience,
                name="Bench 1M",
            )
            times.append(time.perf_counter() - began)
            rows = mailing.deliveries.count()
        clean()
        by_hand = Mailing.objects.create(
            workspace=workspace, kind="broadcast", renderer="plain", name="Bench 1M by hand"
        )
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO emails_delivery (workspace_id, mailing_id, contact_id, status, reason,
                    address, attempts, next_attempt_at, claimed_by, message_id,
                    provider_message_id, bounce_kind, error)
                SELECT workspace_id, %s, contact_id, 'queued', '', '', 0, now(), '', '', '', '',
                    ''
                FROM segments_segmentmembership
                WHERE segment_id = %s AND left_at IS NULL
                """,
                [by_hand.pk, segment.pk],
            )
        raw_times.append(time.perf_counter() - began)
    clean()
    core, raw = statistics.median(core_times), statistics.median(raw_times)
    as_contacts = statistics.median(contacts_times)

    def listed(times: list[float]) -> str:
        return ", ".join(f"{t:.1f}" for t in times)

    print(
        f"outbox of a {rows:,}-contact segment (of {contacts:,}) on PostgreSQL: "
        f"a broadcast's mailing_create (membership rows) {core:.1f} s median "
        f"({listed(core_times)}); with the members as a Contact queryset {as_contacts:.1f} s "
        f"({listed(contacts_times)}); raw INSERT … SELECT {raw:.1f} s ({listed(raw_times)}); "
        f"ratio {raw / core:.2f}; goal < 30 s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    mode.add_argument("--outbox", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="--outbox: how many runs")
    parser.add_argument(
        "--rounds", type=int, default=3, help="throughput: rounds of bare loop, core, bare loop"
    )
    parser.add_argument(
        "--connections", type=int, default=0,
        help="throughput: SMTP connections of the worker's SMTP process (default: the mailer's, 2)",
    )  # fmt: skip
    parser.add_argument("--messages", type=int, help="instead of 2,000 (quick) / 20,000 (full)")
    parser.add_argument(
        "--contacts", type=int, default=OUTBOX_CONTACTS, help="--outbox: instead of 1,000,000"
    )
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="volano-bench-send-")
    database_url = args.database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)
    if args.outbox:
        outbox(args.runs, args.contacts)
    else:
        throughput(
            args.messages or (20_000 if args.full else 2_000),
            args.profile,
            args.rounds,
            args.connections,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
