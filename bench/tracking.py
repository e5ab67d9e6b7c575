"""Tracking collect endpoint under load: granian (WSGI, 2 workers) driven by wrk on loopback.

    python -m bench.tracking --quick              # SQLite, 5 s
    python -m bench.tracking --full --postgres    # PostgreSQL (volano_bench_tracking), 15 s

A fresh database with one workspace; wrk POSTs page views as the snippet does (text/plain JSON,
a new page-view id per request) to /t/collect and reports requests/s and p99 latency. The target
is ≥ 2,000 requests/s with p99 < 50 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.generate import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "volano_bench_tracking"

LUA = r"""
local counter = 0
thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"k":"%s","aid":"bench-visitor-%d-%d","id":"%s-%d-%d","t":"page_view",' ..
    '"url":"https://www.officinarossi.it/prodotti/frese-%d","title":"Frese CNC",' ..
    '"ref":"https://www.google.it/","utm_source":"newsletter","utm_medium":"email",' ..
    '"utm_campaign":"fiera-2026"}',
    KEY, thread_id, counter % 5000, RUN, thread_id, counter, counter % 50)
  return wrk.format("POST", "/t/collect", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end
"""


def prepare_database(env: dict[str, str], postgres: bool) -> str:
    """Migrate a fresh database and create one workspace; returns its tracking key."""
    if postgres:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_NAME}")
    subprocess.run(
        [sys.executable, "-m", "volano", "migrate", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    code = (
        "from volano.core.services import workspace_create;"
        "print(workspace_create(slug='officina-rossi', name='Officina Rossi').tracking_key)"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "volano.settings"},
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def stored_page_views(env: dict[str, str]) -> int:
    code = (
        "from volano.events.models import Event;"
        "print(Event.all_workspaces.filter(type='page_view').count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "volano.settings"},
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("granian exited before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("granian did not come up in time")


def stop(server: subprocess.Popen) -> None:
    """Stop the granian we started (its own process group: the master and its workers)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def parse_wrk(output: str) -> dict[str, float]:
    def latency_ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = latency_ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = latency_ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "none",  # type: ignore[dict-item]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="5 s of load (default)")
    size.add_argument("--full", action="store_true", help="15 s of load")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="granian workers")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--through-django",
        action="store_true",
        help="serve volano.wsgi:django_application, without the collect fast path, to compare",
    )
    parser.add_argument(
        "--blocking-threads",
        type=int,
        default=None,
        help="granian Python threads per worker (granian's default when omitted)",
    )
    args = parser.parse_args()
    duration = 15 if args.full else 5
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    with tempfile.TemporaryDirectory(prefix="volano-bench-tracking-") as tmp:
        env = {
            **os.environ,
            "VOLANO_DATA_DIR": tmp,
            "VOLANO_SECRET_KEY": "bench-only-secret-key",
            "VOLANO_DEBUG": "0",
        }
        env.pop("VOLANO_REDIS_URL", None)
        if args.postgres:
            env["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
        else:
            env.pop("DATABASE_URL", None)
        key = prepare_database(env, args.postgres)
        port = free_port(args.port)
        warm_script, script = Path(tmp) / "warm.lua", Path(tmp) / "collect.lua"
        warm_script.write_text(f'KEY = "{key}"\nRUN = "warm"\n' + LUA)
        script.write_text(f'KEY = "{key}"\nRUN = "load"\n' + LUA)
        server = subprocess.Popen(
            [
                str(VENV_BIN / "granian"),
                "--interface",
                "wsgi",
                "--workers",
                str(args.workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *(
                    ["--blocking-threads", str(args.blocking_threads)]
                    if args.blocking_threads
                    else []
                ),
                "volano.wsgi:django_application"
                if args.through_django
                else "volano.wsgi:application",
            ],
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.tracking_settings"},
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/t/volano.js", server)
            warm = [wrk, "-t1", "-c4", "-d2s", "-s", str(warm_script), base]
            subprocess.run(warm, check=True, capture_output=True, timeout=30)
            before = stored_page_views(env)
            command = [
                wrk,
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{duration}s",
                "--latency",
                "-s",
                str(script),
                base,
            ]
            run = subprocess.run(
                command, check=True, capture_output=True, text=True, timeout=duration + 60
            )
            result = parse_wrk(run.stdout)
            stored = stored_page_views(env) - before
        finally:
            stop(server)

    database = "postgresql" if args.postgres else "sqlite"
    ok = result["rps"] >= 2000 and result["p99_ms"] < 50
    app = "django stack" if args.through_django else "fast path"
    threads = f", {args.blocking_threads} threads" if args.blocking_threads else ""
    print(
        f"tracking collect [{database}, {app}, {duration}s, {args.connections} connections, "
        f"{args.workers} granian workers{threads}]: {result['rps']:.0f} req/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"{result['requests']} requests, {stored} page views stored, "
        f"non-2xx {result['non_2xx']}, socket errors {result['socket_errors']} "
        f"-> {'meets' if ok else 'misses'} target (>= 2000 req/s, p99 < 50 ms)"
    )
    return 0 if result["non_2xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
