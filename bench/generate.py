"""Fill a database with the demo generator and report rows/s.

    python -m bench.generate --quick                 # small (2,000 contacts) on a temp SQLite
    python -m bench.generate --full --database-url postgres://postgres@127.0.0.1:5432/volano_bench_democli
    python -m bench.generate --size medium           # any size of volano.demo.generator.SIZES

The workspace "bench-<size>" is wiped and loaded again, so a run can be repeated. The
database is migrated first (and created on PostgreSQL when it does not exist).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def django_setup(database_url: str | None, data_dir: str | None = None) -> None:
    """Point Volano at the bench database (migrated, created if needed) and set Django up."""
    os.environ["VOLANO_DATA_DIR"] = data_dir or tempfile.mkdtemp(prefix="volano-bench-")
    os.makedirs(os.path.join(os.environ["VOLANO_DATA_DIR"], "static"), exist_ok=True)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        if database_url.startswith("postgres"):
            _postgres_database_create(database_url)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _postgres_database_create(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_workspace(slug: str):
    """A fresh, empty workspace for a benchmark (the previous one is wiped)."""
    from volano.core.models import Workspace
    from volano.core.services import workspace_create
    from volano.demo.load import workspace_wipe

    if old := Workspace.objects.filter(slug=slug).first():
        workspace_wipe(workspace=old)
    return workspace_create(slug=slug, name=f"Bench {slug}")


def free_port(preferred: int) -> int:
    """`preferred` when it is free on 127.0.0.1, else any free port."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


def quick_workspace(slug: str, *, contacts: int, companies: int, anonymous_visitors: int):
    """A fresh workspace filled by the demo generator at a size between its named ones."""
    from django.utils import timezone

    from volano.demo.generator import SIZES, Size
    from volano.demo.load import demo_generate

    size_name = f"{slug}-{contacts}"
    SIZES.setdefault(
        size_name,
        Size(
            contacts=contacts,
            companies=companies,
            activity=0.8,
            anonymous_visitors=anonymous_visitors,
        ),
    )
    workspace = bench_workspace(slug)
    started = time.perf_counter()
    demo_generate(workspace=workspace, size=size_name, now=timezone.now())
    print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    return workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="size small")
    mode.add_argument("--full", action="store_true", help="size 1m (1M contacts, ~10M events)")
    mode.add_argument("--size", choices=["small", "medium", "1m"])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--data-dir", help="VOLANO_DATA_DIR (default: a temp folder)")
    args = parser.parse_args()
    size = args.size or ("1m" if args.full else "small")
    django_setup(args.database_url, args.data_dir)

    from django.db import connection
    from django.utils import timezone

    from volano.demo.load import demo_generate

    workspace = bench_workspace(f"bench-{size}")
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            print(f"  {done:,}/{total:,} contacts, {now - started:.0f} s", flush=True)

    rows = demo_generate(workspace=workspace, size=size, now=timezone.now(), progress=progress)
    seconds = time.perf_counter() - started
    print(
        f"generate: size={size} db={connection.vendor} rows={rows:,} "
        f"seconds={seconds:.1f} rows/s={rows / seconds:,.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
