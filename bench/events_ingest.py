"""Batch event ingestion through the API: POST /api/v1/events on one server process.

    python -m bench.events_ingest --quick              # SQLite, ~50,000 events
    python -m bench.events_ingest --full --postgres    # PostgreSQL (volano_bench_ingestspeed), ~1M
    python -m bench.events_ingest --full --sqlite-cache-mb 512 --sqlite-mmap-mb 1024
    python -m bench.events_ingest --full --postgres --pg-options "-c synchronous_commit=off"

A fresh database with one workspace, one token, 10,000 known contacts and 2,000 identified
website visitors. granian serves volano.wsgi with one worker; two client processes POST batches
of 1,000 events (60% known emails, 10% new emails, 30% anonymous ids, half of them known
visitors; one in four with a dedup_key) over keep-alive connections. Prints events/s and checks
that every event landed, the rate over the whole run and over the last 100,000 events (the steady
state, once the indexes outgrow the caches), and the server's CPU seconds per 1M events (on
PostgreSQL also the database backend's). Target: ≥ 20,000 events/s on one server process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.generate import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "volano_bench_ingestspeed"
BATCH = 1000
KNOWN_CONTACTS = 10_000
KNOWN_VISITORS = 2_000
CLIENTS = 2
TYPES = ["page_view"] * 6 + [
    "email_opened",
    "email_clicked",
    "content_downloaded",
    "form_submitted",
]


SETUP = """
import django
django.setup()
from django.utils import timezone
from volano.contacts.models import Contact
from volano.core import services
from volano.core.models import Role
from volano.events.models import Visitor


ws = services.workspace_create(slug="officina-rossi", name="Officina Rossi")
user = services.user_create(email="bench@example.it", password="bench-pass-2026")
services.membership_set(workspace=ws, user=user, role=Role.ADMIN)
now = timezone.now()
Contact.objects.bulk_create(
    [Contact(workspace=ws, email=f"known{i}@example.it", created_at=now, updated_at=now)
     for i in range(%(contacts)d)], batch_size=2000)
ids = list(Contact.objects.for_workspace(ws).order_by("pk").values_list("pk", flat=True))
Visitor.objects.bulk_create(
    [Visitor(workspace=ws, anonymous_id=f"known-visitor-{i}", contact_id=ids[i])
     for i in range(%(visitors)d)], batch_size=2000)
from django.conf import settings
print(settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""))
print(services.token_create(workspace=ws, user=user)[1])
"""


def prepare_database(env: dict[str, str], postgres: bool) -> tuple[str, str]:
    """Migrate a fresh database, create the workspace and its data; returns the API token and
    the SQLite pragmas of `volano/settings.py` (the connection's init_command; empty on
    PostgreSQL)."""
    if postgres:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_NAME}")
    subprocess.run(
        [sys.executable, "-m", "volano", "migrate", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    code = SETUP % {"contacts": KNOWN_CONTACTS, "visitors": KNOWN_VISITORS}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    pragmas, token = out.stdout.rstrip("\n").splitlines()[-2:]  # pragmas empty on PostgreSQL
    return token, pragmas


def batch_body(client: int, number: int | str, rng: random.Random) -> bytes:
    now = dt.datetime.now(dt.UTC)
    items = []
    for i in range(BATCH):
        roll = rng.random()
        item: dict = {
            "type": rng.choice(TYPES),
            "occurred_at": (now - dt.timedelta(minutes=rng.randrange(60 * 24 * 90))).isoformat(),
            "properties": {
                "url": f"https://www.officinarossi.it/p/{rng.randrange(200)}",
                "title": "Frese CNC",
                "dwell_seconds": rng.randrange(300),
            },
        }
        if roll < 0.6:
            item["email"] = f"known{rng.randrange(KNOWN_CONTACTS)}@example.it"
        elif roll < 0.7:
            item["email"] = f"new-{client}-{number}-{i}@example.it"
        elif roll < 0.85:
            item["anonymous_id"] = f"known-visitor-{rng.randrange(KNOWN_VISITORS)}"
        else:
            item["anonymous_id"] = f"anon-{client}-{rng.randrange(50_000)}"
        if i % 4 == 0:
            item["dedup_key"] = f"b-{client}-{number}-{i}"
            item["utm"] = {"source": "newsletter", "medium": "email", "campaign": "fiera-2026"}
        items.append(item)
    return json.dumps(items).encode()


def client_run(args: tuple[int, int, int, str]) -> tuple[int, int, float, list[float]]:
    """POST `batches` batches; returns (accepted, rejected, seconds spent waiting on the server,
    the moment each batch was answered on the machine-wide monotonic clock)."""
    client, batches, port, token = args
    rng = random.Random(client)
    # A few templates made up front; each batch only fills in its number, so new emails and
    # dedup keys stay unique while the client spends next to no CPU beside the server.
    templates = [batch_body(client, "@@", rng) for _ in range(min(batches, 8))]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = rejected = 0
    waited = 0.0
    answered: list[float] = []
    for number in range(batches):
        body = templates[number % len(templates)].replace(b"@@", str(number).encode())
        started = time.perf_counter()
        conn.request("POST", "/api/v1/events", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        answered.append(time.perf_counter())
        waited += answered[-1] - started
        if response.status not in (200, 207):
            raise SystemExit(f"HTTP {response.status}: {payload[:300]!r}")
        result = json.loads(payload)
        accepted += result["accepted"]
        rejected += len(result["rejected"]) + len(result["duplicates"])
    conn.close()
    return accepted, rejected, waited, answered


def wait_for(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (Linux /proc): granian's worker is
    a child of the process we started."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children)


def postgres_backends() -> list[int]:
    """The pids of the PostgreSQL backends serving the benchmark's database (same machine)."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [PG_NAME],
        ).fetchall()
    return [pid for (pid,) in rows]


def count_events(env: dict[str, str]) -> int:
    code = (
        "import django; django.setup();"
        "from volano.events.models import Event; print(Event.all_workspaces.count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def bare_executemany_sqlite(database: Path, copy: Path, pragmas: str) -> tuple[int, float]:
    """The same work by hand: the events the server stored, read back, and written into `copy`
    (the database as it was before the run: the same indexed table, the same contacts) by a bare
    executemany of BATCH rows a transaction, with the server's pragmas (`pragmas`: its
    init_command and the run's own). (rows, seconds writing)."""
    import sqlite3

    source = sqlite3.connect(database)
    target = sqlite3.connect(copy, isolation_level=None)
    target.executescript(pragmas)
    columns = [
        row[1]
        for row in source.execute("PRAGMA table_xinfo(events_event)")
        if row[1] != "id" and row[6] == 0  # not the id, not a generated column
    ]
    start = target.execute("SELECT coalesce(max(id), 0) FROM events_event").fetchone()[0]
    rows = source.execute(
        f"SELECT {', '.join(columns)} FROM events_event WHERE id > ? ORDER BY id", [start]
    )
    sql = (
        f"INSERT INTO events_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    count, seconds = 0, 0.0
    while batch := rows.fetchmany(BATCH):
        began = time.perf_counter()
        target.execute("BEGIN")
        target.executemany(sql, batch)
        target.execute("COMMIT")
        seconds += time.perf_counter() - began
        count += len(batch)
    source.close()
    target.close()
    return count, seconds


def main() -> int:
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="~50,000 events (default)")
    size.add_argument("--full", action="store_true", help="~1,000,000 events")
    parser.add_argument("--postgres", action="store_true", help=f"PostgreSQL ({PG_NAME})")
    parser.add_argument("--server", choices=["granian", "runserver"], default="granian")
    parser.add_argument("--sqlite-cache-mb", type=int, help="PRAGMA cache_size for the server")
    parser.add_argument("--sqlite-mmap-mb", type=int, help="PRAGMA mmap_size for the server")
    parser.add_argument("--sqlite-pragmas", help='more, e.g. "PRAGMA wal_autocheckpoint=10000;"')
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help=f"events per request (default {BATCH}, at most 5000)",
    )
    parser.add_argument("--port", type=int, default=8765, help="the server's port, if free")
    parser.add_argument(
        "--pg-options", help='session settings for the server, e.g. "-c synchronous_commit=off"'
    )
    args = parser.parse_args()
    BATCH = args.batch  # read by the client processes (forked after this) and the by-hand part
    total = 1_000_000 if args.full else 50_000
    batches_per_client = total // (BATCH * CLIENTS)

    data_dir = Path(tempfile.mkdtemp(prefix="volano-bench-events-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "volano.settings",
        "VOLANO_DATA_DIR": str(data_dir),
        "VOLANO_SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "VOLANO_DEBUG": "0",
    }
    if args.postgres:
        env["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        env.pop("DATABASE_URL", None)
    tuning = []
    if args.sqlite_cache_mb:
        tuning.append(f"PRAGMA cache_size={-1024 * args.sqlite_cache_mb};")
    if args.sqlite_mmap_mb is not None:
        tuning.append(f"PRAGMA mmap_size={1024 * 1024 * args.sqlite_mmap_mb};")
    if args.sqlite_pragmas:
        tuning.append(args.sqlite_pragmas)
    server_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "bench.events_ingest_settings",
        "VOLANO_BENCH_SQLITE_PRAGMAS": " ".join(tuning),
    }
    if args.pg_options:
        server_env["DATABASE_URL"] += "?" + urllib.parse.urlencode({"options": args.pg_options})
        tuning.append(args.pg_options)
    server = None
    try:
        token, settings_pragmas = prepare_database(env, args.postgres)
        port = free_port(args.port)
        if args.server == "granian":
            command = [
                str(VENV_BIN / "granian"),
                "--interface",
                "wsgi",
                "--workers",
                "1",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "volano.wsgi:application",
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "volano",
                "runserver",
                "--noreload",
                "--nothreading",
                f"127.0.0.1:{port}",
            ]
        server = subprocess.Popen(command, env=server_env, cwd=ROOT)
        wait_for(port, server)
        # one warm-up batch: imports, the first connection, the token lookup
        client_run((99, 1, port, token))
        before = count_events(env)
        if not args.postgres:  # the starting point of the same work done by hand, afterwards
            import sqlite3

            with (
                sqlite3.connect(data_dir / "volano.sqlite3") as live,
                sqlite3.connect(data_dir / "by-hand.sqlite3") as copy,
            ):
                live.backup(copy)

        backends = postgres_backends() if args.postgres else []
        db_cpu_before = sum(cpu_seconds(pid) for pid in backends)
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        with multiprocessing.Pool(CLIENTS) as pool:
            results = pool.map(
                client_run, [(c, batches_per_client, port, token) for c in range(CLIENTS)]
            )
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
        db_cpu = sum(cpu_seconds(pid) for pid in backends) - db_cpu_before
        accepted = sum(r[0] for r in results)
        not_stored = sum(r[1] for r in results)
        stored = count_events(env) - before
        if stored != accepted:
            print(f"MISMATCH: the server said {accepted} accepted, the database has {stored}")
            return 1
        db = "PostgreSQL" if args.postgres else "SQLite"
        sent = batches_per_client * CLIENTS * BATCH
        # The steady state: the last `tail` events, from the answers' moments on the
        # machine-wide monotonic clock (each answered batch is BATCH events).
        answered = sorted(moment for r in results for moment in r[3])
        tail = min(100_000, sent // 5)
        tail_batches = tail // BATCH
        tail_rate = tail / (answered[-1] - answered[-1 - tail_batches])
        per_million = 1_000_000 / sent
        db_part = f", database backend {db_cpu * per_million:.0f}" if args.postgres else ""
        print(
            f"events_ingest {db} {args.server}{' ' + ' '.join(tuning) if tuning else ''}: "
            f"{sent:,} events in {elapsed:.1f} s = {sent / elapsed:,.0f} events/s; "
            f"last {tail:,} = {tail_rate:,.0f} events/s; CPU s per 1M events: server "
            f"{server_cpu * per_million:.0f}{db_part} ({accepted:,} stored, {not_stored} not "
            f"stored; batches of {BATCH}, {CLIENTS} clients, 1 server process)",
            flush=True,
        )
        if not args.postgres:
            server.terminate()
            server.wait(timeout=30)
            rows, seconds = bare_executemany_sqlite(
                data_dir / "volano.sqlite3",
                data_dir / "by-hand.sqlite3",
                " ".join([settings_pragmas, *tuning]),
            )
            print(
                f"bare executemany SQLite: {rows:,} events in {seconds:.1f} s ="
                f" {rows / seconds:,.0f} events/s (batches of {BATCH}, one commit each, same"
                f" indexed table and pragmas); ratio API/by hand = {seconds / elapsed:.2f}",
                flush=True,
            )
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
