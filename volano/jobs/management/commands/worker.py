from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require
from volano.jobs.sweeper import Sweeper


class Command(VolanoCommand):
    help = (
        "Run a background worker: django-tasks-db's db_worker for one queue (default: "
        "'default', the work a user waits for; 'transactional' for the mail one person waits "
        "for; 'email' for marketing sends; 'bulk' for imports and full recomputes; '*' for "
        "all), plus, on the default queue, the sweeper that re-enqueues work stuck in Volano's "
        "own tables. With VOLANO_BROKER_URL set: a Celery worker for every queue (or "
        "--queues), with the sweeper (one sweeps per installation)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.25,
            help="seconds to wait for new tasks when the queue is empty (default: 0.25: a lead"
            " that turns SQL reaches its rep's inbox within 2 s; each poll is one small query)",
        )
        parser.add_argument(
            "--queue",
            "--queues",
            dest="queue",
            default=None,
            help="the queues to work on, comma-separated, or '*' (default: 'default' for the"
            " database worker; every queue for a Celery worker)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="with VOLANO_BROKER_URL: tasks this worker runs at once, each in a process of"
            " its own (default: the number of CPUs)",
        )
        parser.add_argument(
            "--no-sweeper",
            action="store_true",
            help="with VOLANO_BROKER_URL: do not run the sweeper in this worker",
        )
        parser.add_argument(
            "--sweep-interval",
            type=float,
            default=10.0,
            help="seconds between two sweeps: stuck work, and segment membership for contacts"
            " with new events (default: 10)",
        )

    def handle(
        self,
        *args: Any,
        interval: float,
        queue: str | None,
        sweep_interval: float,
        concurrency: int | None,
        no_sweeper: bool,
        **options: Any,
    ) -> None:
        database_require()
        if settings.VOLANO_BROKER_URL:
            celery_worker_run(
                self,
                queues=queue,
                concurrency=concurrency,
                sweep_interval=sweep_interval,
                sweeper=not no_sweeper,
                verbosity=options["verbosity"],
            )
            return
        if concurrency is not None:
            raise ApplicationError(
                _("--concurrency needs VOLANO_BROKER_URL (Celery workers)"), field="concurrency"
            )
        queue = queue or "default"
        stop = threading.Event()
        if queue in ("default", "*"):  # one sweeper per installation's default worker
            sweeper = threading.Thread(
                target=Sweeper().run_forever,
                kwargs={"interval": sweep_interval, "stop": stop},
                name="volano-sweeper",
                daemon=True,
            )
            sweeper.start()
        if options["verbosity"] >= 2:  # every task run, as db_worker logs it (settings.LOGGING)
            for handler in logging.getLogger().handlers:
                handler.setLevel(logging.DEBUG)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Background worker started (queue: {queue})")
            self.stdout.flush()
        try:
            call_command(
                "db_worker",
                queue_name=queue,
                interval=interval,
                reload=False,
                startup_delay=False,
                verbosity=options["verbosity"],
            )
        finally:
            stop.set()


def celery_worker_run(
    command: VolanoCommand,
    *,
    queues: str | None,
    concurrency: int | None,
    sweep_interval: float,
    sweeper: bool,
    verbosity: int,
) -> None:
    """A Celery worker (volano.jobs.celery) on the given queues, with the sweeper in a thread of
    its main process (the installation's lease and lock make one sweep at a time)."""
    import os
    import socket

    from volano.jobs.celery import broker_queue, broker_shown, celery_app
    from volano.jobs.celery import queues as all_queues

    known = all_queues()
    chosen = known if queues in (None, "", "*") else [q.strip() for q in queues.split(",") if q]
    unknown = [q for q in chosen if q not in known]
    if unknown:
        raise ApplicationError(
            _("unknown queue %(queues)s (the queues are %(known)s)")
            % {"queues": ", ".join(unknown), "known": ", ".join(known)},
            field="queues",
        )
    if concurrency is not None and concurrency < 1:
        raise ApplicationError(_("--concurrency must be 1 or more"), field="concurrency")
    stop = threading.Event()
    thread = threading.Thread(
        target=Sweeper().run_forever,
        kwargs={"interval": sweep_interval, "stop": stop},
        name="volano-sweeper",
        daemon=True,
    )
    if sweeper:
        thread.start()
    if verbosity >= 1:
        command.stdout.write(
            f"Celery worker started (broker: {broker_shown()}, queues: {', '.join(chosen)}"
            f"{'' if concurrency is None else f', concurrency: {concurrency}'}"
            f"{', with the sweeper' if sweeper else ''})"
        )
        command.stdout.flush()
    argv = [
        "worker",
        "--queues",
        ",".join(broker_queue(q) for q in chosen),
        # one node name per process, so two workers on one machine are told apart
        "--hostname",
        f"volano-{os.getpid()}@{socket.gethostname()}",
        "--loglevel",
        "INFO" if verbosity >= 2 else os.environ.get("VOLANO_LOG_LEVEL", "WARNING"),
        "--without-gossip",
        "--without-mingle",
    ]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    try:
        celery_app().worker_main(argv)
    finally:
        stop.set()
        if thread.is_alive():  # it gives the lease back, so another worker sweeps at once
            thread.join(timeout=10)
