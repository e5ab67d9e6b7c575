from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser

from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require

STOP_TIMEOUT = 10
READY_POLL = 0.1  # seconds between two attempts to connect to the new server
# One embedded worker per queue of settings.TASKS (`volano worker --queue Q` runs one alone).
WORKER_QUEUES = ("default", "transactional", "email", "bulk")


def web_threads() -> int:
    """Threads running Django in each web process. On SQLite every write queues on one lock, and
    many threads only lengthen the queue (bench/tracking.py: p99 83 ms with 16, 25 ms with 2). On
    PostgreSQL a few threads overlap database waits, and more only queue for the interpreter
    lock: the tracking endpoint's p99 was 19.9–23.5 ms with 4 and 69 ms with granian's default
    on a quiet machine (docs/benchmarks.md, 2026-12-04)."""
    return 2 if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4


class Command(VolanoCommand):
    help = (
        "Serve Volano (granian, WSGI) with its embedded background workers (the default, "
        "transactional, email and bulk queues). Ctrl-C stops them all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web processes (default: 2)")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start the embedded background worker (run `volano worker` elsewhere)",
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="with VOLANO_BROKER_URL: start a Celery worker beside the web app too (by"
            " default the Celery workers are the `volano worker`s you run)",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        workers: int,
        no_worker: bool,
        with_worker: bool,
        **options: Any,
    ) -> None:
        port_require_free(host, port)  # before anything starts: a second server never shares it
        database_require()
        # WhiteNoise serves files straight from the apps when WHITENOISE_USE_FINDERS is on; it
        # still expects STATIC_ROOT to exist.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if not settings.WHITENOISE_USE_FINDERS:
            call_command("collectstatic", interactive=False, verbosity=0)
        children: list[subprocess.Popen] = []
        worker_commands: dict[int, list[str]] = {}  # the embedded workers' pids and their commands
        restarts: list[float] = []
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            if settings.VOLANO_BROKER_URL:
                # background work runs on the Celery workers (`volano worker`), wherever they are
                if with_worker and not no_worker:
                    children.append(subprocess.Popen([sys.executable, "-m", "volano", "worker"]))
                else:
                    self.stdout.write(
                        "VOLANO_BROKER_URL is set: no embedded worker; background work runs on "
                        "the Celery workers (`volano worker`; --with-worker starts one here)"
                    )
            elif not no_worker:
                # the work a user waits for, the mail one person waits for, and the long
                # jobs, each on a worker of its own
                for queue in WORKER_QUEUES:
                    command = [sys.executable, "-m", "volano", "worker", "--queue", queue]
                    child = subprocess.Popen(command)
                    worker_commands[child.pid] = command
                    children.append(child)
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "granian",
                        "--interface",
                        "wsgi",
                        "--host",
                        host,
                        "--port",
                        str(port),
                        "--workers",
                        str(workers),
                        "--blocking-threads",
                        str(web_threads()),
                        "--no-ws",
                        "--log-level",
                        "error",
                        "volano.wsgi:application",
                    ]
                )
            )
            self.stdout.write("Starting Volano…")
            self.stdout.flush()
            # "running" only once the port accepts connections (granian needs a few seconds)
            while not stopping and all(child.poll() is None for child in children):
                if port_accepts(host, port):
                    self.stdout.write(
                        f"Volano is running on http://{url_host(host)}:{port}/ (Ctrl-C stops it)"
                    )
                    self.stdout.flush()
                    break
                time.sleep(READY_POLL)
            while not stopping:
                exited = [child for child in children if child.poll() is not None]
                if any(child.pid not in worker_commands for child in exited):
                    break  # the web server stopped: everything stops
                if exited:
                    # an embedded worker that died (a database locked for too long on SQLite,
                    # say) starts again: the work it held is claimed again by the sweeper; one
                    # that keeps dying (5 times in a minute) stops the server, as a bug should
                    now = time.monotonic()
                    restarts[:] = [t for t in restarts if now - t < 60] + [now] * len(exited)
                    if len(restarts) > 5:
                        break
                    for child in exited:
                        command = worker_commands.pop(child.pid)
                        self.stderr.write(
                            f"A background worker stopped (exit status {child.returncode}); "
                            "starting it again"
                        )
                        again = subprocess.Popen(command)
                        worker_commands[again.pid] = command
                        children[children.index(child)] = again
                time.sleep(0.2)
            if stopping:
                self.stdout.write("Stopping Volano…")
                self.stdout.flush()
        finally:
            _stop_all(children)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if failed and not stopping:
            sys.exit(1)


def port_require_free(host: str, port: int) -> None:
    """Refuse a port another program (a first `volano serve`, say) already listens on.

    granian binds with SO_REUSEPORT, so a second server would start silently and share the
    traffic with the first one. The test socket sets SO_REUSEADDR only: a port whose last
    connections linger in TIME_WAIT after a restart is still free, a listening one is not."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise ApplicationError(f"cannot serve on {host!r}: {error.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ApplicationError(
                    f"port {port} on {host} is already in use (is Volano already running?): "
                    "stop the other server, or choose another port with --port"
                ) from None
            raise ApplicationError(f"cannot serve on {host}:{port}: {error.strerror}") from None


def url_host(host: str) -> str:
    """The host to print in the address: a wildcard host is reachable on the loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def port_accepts(host: str, port: int) -> bool:
    target = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


def _stop_all(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
