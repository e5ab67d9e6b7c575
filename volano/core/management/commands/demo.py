from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandParser

from volano.core.management.base import VolanoCommand, database_require
from volano.demo.generator import SIZES
from volano.demo.load import NAME, demo_load


class Command(VolanoCommand):
    help = (
        "Load the demo workspace 'officina-rossi' (Officina Rossi S.r.l.) and print the login. "
        "A second run reuses the data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--size",
            choices=list(SIZES),
            default="small",
            help="small: 2,000 contacts; medium: 50,000; 1m: 1,000,000 (default: small)",
        )
        parser.add_argument(
            "--force", action="store_true", help="delete the demo workspace and load it again"
        )

    def handle(self, *args: Any, size: str, force: bool, **options: Any) -> None:
        database_require()
        with progress_bar(SIZES[size].contacts, enabled=size != "small") as progress:
            login = demo_load(size=size, force=force, progress=progress)
        if login.created:
            self.stdout.write(
                f"Loaded the demo workspace {NAME}: {login.contacts:,} contacts, "
                f"{login.events:,} events in {login.seconds:.1f} s."
            )
        else:
            self.stdout.write(
                f"The demo workspace {NAME} is already there ({login.contacts:,} contacts): "
                "reusing it (--force loads it again)."
            )
        self.stdout.write("")
        self.stdout.write(f"  Open      {login.url}")
        self.stdout.write(f"  Email     {login.email}")
        self.stdout.write(f"  Password  {login.password}")
        self.stdout.write("")


@contextmanager
def progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal (stderr), nothing otherwise."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Generating contacts", total=total)
        yield lambda done, _total: bar.update(task, completed=done)
