from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser

from volano.core.management.base import VolanoCommand, database_require
from volano.jobs.sweeper import Sweeper


class Command(VolanoCommand):
    help = (
        "Run a background worker: django-tasks-db's db_worker for one queue (default: "
        "'default', the work a user waits for; 'transactional' for the mail one person waits "
        "for; 'bulk' for imports and full recomputes; '*' for all), plus, on the default queue, the sweeper that re-enqueues work stuck in Volano's "
        "own tables."
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
            default="default",
            help="the queues to work on, comma-separated, or '*' (default: default)",
        )
        parser.add_argument(
            "--sweep-interval",
            type=float,
            default=10.0,
            help="seconds between two sweeps: stuck work, and segment membership for contacts"
            " with new events (default: 10)",
        )

    def handle(
        self, *args: Any, interval: float, queue: str, sweep_interval: float, **options: Any
    ) -> None:
        database_require()
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
