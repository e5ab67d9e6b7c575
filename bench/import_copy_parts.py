"""What the database's share of a contacts import is made of: COPY of the contacts, COPY of
their `imported` events, and the deferred foreign-key checks, timed apart; then the same with
the events' foreign keys dropped, to show what those checks cost.

    python -m bench.import_contacts --rows 500000 --db postgres --pg-url URL   # first, once
    python -m bench.import_copy_parts --pg-url URL [--rounds 2] [--rows 50000]

Runs on the database the import bench left (its name must start with volano_bench): takes
`--rows` of the typed contacts the import wrote, COPYs them (new emails, reserved ids) and one
`imported` event each into the same indexed tables in one transaction, fires the deferred
checks with `SET CONSTRAINTS ALL IMMEDIATE`, and rolls everything back (the constraints dropped
for the comparison come back with the rollback). The last mode writes the contacts alone: what
an import would cost the database with no `imported` event per contact.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

CONTACT_COLUMNS = (
    "email, first_name, last_name, phone, job_title, street, postal_code, city, province,"
    " region, country, language, company_id, tags, custom"
)
EVENT_COLUMNS = (
    "workspace_id, contact_id, type, occurred_at, received_at, channel, source, utm_source,"
    " utm_medium, utm_campaign, utm_term, utm_content, campaign, content, properties"
)
MODES = {  # mode: (tables whose foreign keys are dropped, whether the events are written)
    "as is": ([], True),
    "events without their foreign keys": (["events_event"], True),
    "contacts only, no imported events": ([], False),
}


def _cpu(pid: int) -> float:
    """CPU seconds of a backend (same machine): the load changes wall time far more."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drop_foreign_keys(cursor, table: str) -> None:
    names = [
        name
        for (name,) in cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
    ]
    for name in names:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    if not args.pg_url.rsplit("/", 1)[1].startswith("volano_bench"):
        raise SystemExit("only on a bench database (its name starts with volano_bench)")
    conn = psycopg.connect(args.pg_url, autocommit=True)
    ws = conn.execute("SELECT min(id) FROM core_workspace").fetchone()[0]
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with (
        conn.cursor() as cursor,
        cursor.copy(
            f"COPY (SELECT {CONTACT_COLUMNS} FROM contacts_contact WHERE workspace_id = {ws}"
            f" ORDER BY id LIMIT {int(args.rows)}) TO STDOUT"
        ) as copy,
    ):
        typed = b"".join(copy).decode().splitlines()
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    properties = '{"file": "contacts.csv", "job": null, "action": "created"}'
    tail = f"\timported\t{now}\t{now}\tsystem\timport{chr(9) * 8}{properties}\n"
    for number in range(args.rounds):
        for mode, (tables, with_events) in MODES.items():
            ids = [
                i
                for (i,) in conn.execute(
                    "SELECT nextval(pg_get_serial_sequence('contacts_contact', 'id'))"
                    " FROM generate_series(1, %s)",
                    [len(typed)],
                )
            ]
            contacts = "".join(
                f"{i}\t{ws}\timport\t{now}\t{now}\tp{number}{len(tables)}{line}\n"
                for i, line in zip(ids, typed, strict=True)
            )
            events = "".join(f"{ws}\t{i}{tail}" for i in ids)
            times: dict[str, float] = {}
            cpu: dict[str, float] = {}
            with conn.transaction(force_rollback=True), conn.cursor() as cursor:
                for table in tables:
                    _drop_foreign_keys(cursor, table)
                started, cpu_started = time.perf_counter(), _cpu(backend)
                with cursor.copy(
                    "COPY contacts_contact (id, workspace_id, source, created_at, updated_at,"
                    f" {CONTACT_COLUMNS}) FROM STDIN"
                ) as copy:
                    copy.write(contacts)
                times["COPY contacts"] = time.perf_counter() - started
                cpu["COPY contacts"] = _cpu(backend) - cpu_started
                if with_events:
                    started, cpu_started = time.perf_counter(), _cpu(backend)
                    with cursor.copy(f"COPY events_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                        copy.write(events)
                    times["COPY events"] = time.perf_counter() - started
                    cpu["COPY events"] = _cpu(backend) - cpu_started
                started, cpu_started = time.perf_counter(), _cpu(backend)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                times["foreign-key checks"] = time.perf_counter() - started
                cpu["foreign-key checks"] = _cpu(backend) - cpu_started
            what = "contacts and events" if with_events else "contacts"
            parts = ", ".join(
                f"{name} {seconds:.2f} s ({cpu[name]:.2f} CPU s)" for name, seconds in times.items()
            )
            print(
                f"import_copy_parts round={number + 1} {mode}: {len(typed):,} {what}:"
                f" {parts}, total {sum(times.values()):.2f} s ="
                f" {len(typed) / sum(times.values()):,.0f} rows/s, {sum(cpu.values()):.2f} CPU s"
                f" (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
