"""What SQLite's share of batch event ingestion is made of: the same synthetic events written by
a bare executemany into the events table as migrated, then without one index or setting at a
time, to show what each part costs.

    python -m bench.events_write_parts --full           # 1,000,000 events a variant
    python -m bench.events_write_parts --quick          # 100,000
    python -m bench.events_write_parts --in-order       # the events in time order
    python -m bench.events_write_parts --events 200000 --variants "as is" "without either"

The table is `events_event` exactly as the migrations make it (its DDL read from a freshly
migrated database), in a file of its own beside 200,000 contacts and one workspace, with the
pragmas of `volano/settings.py`. The events are shaped like `bench.events_ingest`'s: 60% on
10,000 known contacts, 10% on new ones, 30% anonymous (half of them known visitors), one in four
with a dedup key, a page URL in the properties, each at a random minute of the last 90 days (as
the API bench sends them; `--in-order` for events in time order, as a live tracker sends them);
BATCH rows a transaction. Not the API: see
`bench.events_ingest` for that, and for the by-hand figure on the rows the API stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.events_ingest import BATCH, TYPES
from bench.generate import django_setup

COLUMNS = (
    "anonymous_id, type, occurred_at, received_at, channel, source, utm_source, utm_medium,"
    " utm_campaign, utm_term, utm_content, campaign, content, properties, dedup_key, contact_id,"
    " workspace_id"
)
VARIANTS = {  # name: (indexes left out, pragmas added after the settings' own)
    "as is": ((), ""),
    "SQLite's checkpoint (every 1,000 pages)": ((), "PRAGMA wal_autocheckpoint=1000;"),
    "without event_contact_time": (("event_contact_time",), ""),
    "without event_ws_type_time": (("event_ws_type_time",), ""),
    "without either": (("event_contact_time", "event_ws_type_time"), ""),
}


def _events(count: int, in_order: bool) -> list[tuple]:
    rnd = random.Random(2026)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    new_contact = 10_001
    rows = []
    for i in range(count):
        draw = rnd.random()
        if draw < 0.6:
            contact, anonymous = rnd.randint(1, 10_000), None
        elif draw < 0.7:
            contact, anonymous, new_contact = new_contact, None, new_contact + 1
        else:
            contact = rnd.randint(1, 2_000) if rnd.random() < 0.5 else None
            anonymous = f"anon-{rnd.randint(1, 10**9)}"
        offset = (
            dt.timedelta(seconds=i) if in_order else dt.timedelta(minutes=rnd.randrange(129_600))
        )
        when = (start + offset).isoformat(sep=" ")
        url = f"https://officinarossi.it/p/{rnd.randint(1, 500)}"
        dedup = f"k{i}" if rnd.random() < 0.25 else None
        blank = ("",) * 8  # source, the utm_ columns, campaign, content
        properties = json.dumps({"url": url})
        rows.append(
            (anonymous, rnd.choice(TYPES), when, when, "web", *blank, properties, dedup, contact, 1)
        )
    return rows


def _run(
    folder: Path, ddl: list[str], pragmas: str, rows: list[tuple], name: str, in_order: bool
) -> None:
    left_out, added = VARIANTS[name]
    path = folder / f"{len(os.listdir(folder))}.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(pragmas + " " + added)
    db.executescript(
        "CREATE TABLE core_workspace (id integer PRIMARY KEY); INSERT INTO core_workspace VALUES (1);"
        " CREATE TABLE contacts_contact (id integer PRIMARY KEY);"
        " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
        " INSERT INTO contacts_contact SELECT i FROM n;"
    )
    for statement in ddl:
        if not any(f'"{index}"' in statement for index in left_out):
            db.execute(statement)
    sql = f"INSERT INTO events_event ({COLUMNS}) VALUES ({', '.join('?' * 17)})"
    seconds = 0.0
    for first in range(0, len(rows), BATCH):
        began = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(sql, rows[first : first + BATCH])
        db.execute("COMMIT")
        seconds += time.perf_counter() - began
    db.close()
    print(
        f"events_write_parts {name}: {len(rows):,} events in {seconds:.1f} s ="
        f" {len(rows) / seconds:,.0f} events/s, file {path.stat().st_size / 1e6:,.0f} MB"
        f" (batches of {BATCH}, {'in time order' if in_order else 'random times'}; load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="100,000 events a variant")
    size.add_argument("--full", action="store_true", help="1,000,000 events a variant (default)")
    size.add_argument("--events", type=int)
    parser.add_argument("--in-order", action="store_true", help="events in time order")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    django_setup(None)
    from django.conf import settings
    from django.db import connection

    pragmas = settings.DATABASES["default"]["OPTIONS"]["init_command"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events_event' AND sql IS NOT NULL"
            " ORDER BY type DESC"  # the table first, then its indexes
        )
        ddl = [sql for (sql,) in cursor.fetchall()]
    count = args.events or (100_000 if args.quick else 1_000_000)
    rows = _events(count, args.in_order)
    with tempfile.TemporaryDirectory(prefix="volano-bench-writes-") as folder:
        for name in args.variants:
            _run(Path(folder), ddl, pragmas, rows, name, args.in_order)


if __name__ == "__main__":
    main()
