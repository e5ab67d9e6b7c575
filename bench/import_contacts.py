"""Benchmark: import a contacts CSV with de-duplication, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.import_contacts --quick     # 20,000 rows
    .venv/bin/python -m bench.import_contacts --full      # 1,000,000 rows
    options: --db sqlite|postgres|both (default both), --pg-url URL, --rows N

The CSV is what an Italian Excel writes (";" separators, UTF-8 with BOM): Email, Nome, Cognome,
Telefono, CAP, Comune, Provincia, Ruolo, Azienda. About 2% of the rows are dirty (bad email,
CAP or phone, ragged rows) and about 5% are contacts that already exist in the workspace (loaded,
untimed, before the run), so the import creates, updates and leaves unchanged. On PostgreSQL the
same run then writes the same typed rows by hand (`COPY` of every contact and its `imported`
event into the same indexed tables) and prints the ratio between the two.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL = "postgres://postgres@127.0.0.1:5432/volano_bench_imports"
FIRST = [
    "Mario",
    "Luca",
    "Giulia",
    "Anna",
    "Marco",
    "Francesca",
    "Paolo",
    "Sara",
    "Davide",
    "Elena",
]
LAST = ["Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci"]
PLACES = [
    ("20121", "Milano", "MI"),
    ("00184", "Roma", "RM"),
    ("10121", "Torino", "TO"),
    ("40121", "Bologna", "BO"),
    ("80121", "Napoli", "NA"),
    ("25121", "Brescia", "BS"),
    ("24121", "Bergamo", "BG"),
    ("37121", "Verona", "VR"),
    ("50121", "Firenze", "FI"),
]
ROLES = ["Titolare", "Responsabile acquisti", "Ufficio tecnico", "Amministrazione", ""]
HEADER = ["Email", "Nome", "Cognome", "Telefono", "CAP", "Comune", "Provincia", "Ruolo", "Azienda"]


def _row(rng: random.Random, i: int) -> list[str]:
    cap, city, prov = PLACES[i % len(PLACES)]
    phone = f"3{rng.randrange(10, 99)} {rng.randrange(1000000, 9999999)}" if i % 3 else ""
    return [
        f"contatto{i}@azienda{i % 5000}.it",
        FIRST[i % len(FIRST)],
        LAST[(i // 7) % len(LAST)],
        phone,
        cap,
        city,
        prov,
        ROLES[i % len(ROLES)],
        f"Azienda {i % 2000} S.r.l." if i % 4 == 0 else "",
    ]


def generate(path: Path, rows: int, existing: int) -> None:
    """`rows` data rows; rows 0..existing-1 are the contacts loaded beforehand (every 20th row
    of the file points at one of them) and about 2% of the rows are dirty."""
    rng = random.Random(42)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for n in range(rows):
            if n % 20 == 0:
                i = rng.randrange(existing)  # a contact that already exists (5%)
                row = _row(rng, i)
                if n % 40 == 0:
                    row[7] = "Direttore commerciale"  # changed: an update
            else:
                row = _row(rng, existing + n)
            if n % 50 == 7:  # 2% dirty, in four ways
                kind = (n // 50) % 4
                if kind == 0:
                    row[0] = row[0].replace("@", "")
                elif kind == 1:
                    row[4] = "2012A"
                elif kind == 2:
                    row[3] = "12"
                else:
                    row.append("spostato")
            writer.writerow(row)


def generate_seed(path: Path, existing: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for i in range(existing):
            writer.writerow(_row(rng, i))


def run_one(db: str, csv_path: Path, seed_path: Path) -> None:
    """Runs in a child process whose environment selects the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from volano.contacts.models import Contact
    from volano.core.services import workspace_create
    from volano.imports.services import import_file

    call_command("migrate", verbosity=0)
    workspace = workspace_create(slug="bench-import", name="Bench import")
    import_file(workspace=workspace, actor=None, kind="contacts", path=seed_path)
    before = Contact.objects.for_workspace(workspace).count()
    watch = _BackendCPU() if connection.vendor == "postgresql" else None
    cpu_started = os.times()
    started = time.perf_counter()
    report = import_file(workspace=workspace, actor=None, kind="contacts", path=csv_path)
    seconds = time.perf_counter() - started
    cpu_ended = os.times()
    own_cpu = (cpu_ended.user - cpu_started.user) + (cpu_ended.system - cpu_started.system)
    database_cpu = watch.stop() if watch is not None else None
    after = Contact.objects.for_workspace(workspace).count()
    rate = report.rows / seconds
    print(
        f"import_contacts db={db} rows={report.rows} seconds={seconds:.2f} rows_per_s={rate:,.0f}"
        f" created={report.created} updated={report.updated} unchanged={report.unchanged}"
        f" errors={report.error_count} duplicates={len(report.warnings)}"
        f" contacts_before={before} contacts_after={after}"
        f" cpu_s: import process {own_cpu:.1f}"
        + (f", database backends {database_cpu:.1f}" if database_cpu is not None else "")
        + f" load_1min={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if connection.vendor == "postgresql":
        _raw_copy_postgres(workspace, report.rows, seconds)


class _BackendCPU:
    """The CPU seconds of the PostgreSQL backends of this database (same machine, /proc), polled
    every 0.2 s while the import runs: its writers and lookup use connections of their own.
    A backend that ends between two polls loses at most 0.2 s of its time."""

    def __init__(self) -> None:
        import threading

        from django.conf import settings

        self.name = settings.DATABASES["default"]["NAME"]
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self.stopping = threading.Event()
        self._poll()
        self.start = dict(self.seen)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres"
        ) as conn:
            pids = [
                pid
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.name]
                )
            ]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self.stopping.wait(0.2):
            self._poll()

    def stop(self) -> float:
        self.stopping.set()
        self.thread.join()
        self._poll()
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.seen.items())


CONTACT_COLUMNS = (
    "email, first_name, last_name, phone, job_title, street, postal_code, city, province,"
    " region, country, language, company_id, tags, custom"
)
EVENT_COLUMNS = (
    "workspace_id, contact_id, type, occurred_at, received_at, channel, source, utm_source,"
    " utm_medium, utm_campaign, utm_term, utm_content, campaign, content, properties"
)


def _raw_copy_postgres(workspace, rows: int, import_seconds: float) -> None:
    """The same work by hand, in the same run: the typed rows the import wrote (every contact
    of the workspace, and one `imported` event each) COPY-ed into the same tables, with their
    indexes and foreign keys, 50,000 rows a transaction, on one connection, into a second
    workspace. What the import costs beyond that is cleaning, de-duplication and merging."""
    from django.db import connection

    from volano.core.services import workspace_create

    other = workspace_create(slug="bench-import-raw", name="Bench import, raw COPY")
    raw = connection.connection  # psycopg's own connection, autocommit as Django leaves it
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    with raw.cursor() as cursor:
        # The rows as COPY text, and their ids, made before the clock starts: only the writes
        # are timed.
        with cursor.copy(
            f"COPY (SELECT {CONTACT_COLUMNS} FROM contacts_contact WHERE workspace_id = {workspace.pk}"
            " ORDER BY id) TO STDOUT"
        ) as copy:
            typed = b"".join(copy).decode().splitlines()
        ids = [
            i
            for (i,) in cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('contacts_contact', 'id'))"
                " FROM generate_series(1, %s)",
                [len(typed)],
            )
        ]
    head = f"{other.pk}\timport\t{now}\t{now}\t"
    properties = '{"file": "contacts.csv", "job": null, "action": "created"}'
    tail = f"\timported\t{now}\t{now}\tsystem\timport{chr(9) * 8}{properties}\n"
    parts = []
    for start in range(0, len(typed), 50_000):
        part_ids = ids[start : start + 50_000]
        contacts = "".join(
            f"{i}\t{head}{line}\n"
            for i, line in zip(part_ids, typed[start : start + 50_000], strict=True)
        )
        events = "".join(f"{other.pk}\t{i}{tail}" for i in part_ids)
        parts.append((contacts, events))
    started = time.perf_counter()
    for contacts, events in parts:
        with raw.transaction(), raw.cursor() as cursor:
            with cursor.copy(
                "COPY contacts_contact (id, workspace_id, source, created_at, updated_at,"
                f" {CONTACT_COLUMNS}) FROM STDIN"
            ) as copy:
                copy.write(contacts)
            with cursor.copy(f"COPY events_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                copy.write(events)
    seconds = time.perf_counter() - started
    print(
        f"raw_copy db=postgresql contacts={len(typed)} events={len(typed)} seconds={seconds:.2f}"
        f" rows_per_s={rows / seconds:,.0f} (the file's rows over this time)"
        f" ratio={seconds / import_seconds:.2f} (import rows/s ÷ raw COPY rows/s)",
        flush=True,
    )


def _fresh_pg_database(url: str) -> None:
    """Each run starts from an empty database (the bench's own, never a real one)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not (name.startswith("volano_bench") or name.endswith("_bench")):
        raise SystemExit(
            f"refusing to recreate {name!r}: a bench database's name starts with volano_bench"
            " or ends with _bench"
        )
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_URL))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child, Path(args.csv), Path(args.seed))
        return
    rows = args.rows or (1_000_000 if args.full else 20_000)
    existing = max(rows // 20, 100)
    with tempfile.TemporaryDirectory(prefix="volano-bench-import-") as tmp:
        folder = Path(tmp)
        csv_path, seed_path = folder / "contacts.csv", folder / "seed.csv"
        started = time.perf_counter()
        generate(csv_path, rows, existing)
        generate_seed(seed_path, existing)
        print(
            f"generated rows={rows} existing={existing} size_mb={csv_path.stat().st_size / 1e6:.1f}"
            f" seconds={time.perf_counter() - started:.1f}",
            flush=True,
        )
        targets = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        for db in targets:
            env = dict(os.environ, VOLANO_DATA_DIR=str(folder / "data"))
            env.pop("DATABASE_URL", None)
            env["VOLANO_IMPORT_MAX_BYTES"] = str(10**10)
            if db == "postgres":
                _fresh_pg_database(args.pg_url)
                env["DATABASE_URL"] = args.pg_url
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.import_contacts",
                    "--child",
                    db,
                    "--csv",
                    str(csv_path),
                    "--seed",
                    str(seed_path),
                ],
                env=env,
                check=True,
            )


if __name__ == "__main__":
    main()
