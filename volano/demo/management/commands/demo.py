from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandParser

from volano.core.management.base import VolanoCommand, database_require
from volano.core.models import Membership, Role
from volano.demo.generator import SIZES, TERRITORIES
from volano.demo.load import NAME, SLUG, demo_load

ROLE_WORDS = {Role.ADMIN: "admin", Role.MARKETER: "marketer", Role.SALES: "sales rep"}
ZONES = {email: zone for _name, email, zone, _regions in TERRITORIES}


class Command(VolanoCommand):
    help = (
        "Load the demo workspace 'officina-rossi' (Officina Rossi S.r.l.) and print its logins "
        "(the admin, the marketer and the sales reps). "
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
        self.stdout.write(f"  Password  {login.password}  (the same for every demo user)")
        self.stdout.write("")
        for email, who in demo_logins(login.email):
            self.stdout.write(f"  {email:<32}  {who}")
        self.stdout.write("")


def demo_logins(admin_email: str) -> list[tuple[str, str]]:
    """(email, who) of every member of the demo workspace, the admin first:
    who is "sales rep, Nord-Ovest (Marco Neri)"."""
    order = list(Role)
    members = sorted(
        Membership.objects.filter(workspace__slug=SLUG).select_related("user"),
        key=lambda m: (m.user.email != admin_email, order.index(Role(m.role)), m.user.email),
    )
    logins = []
    for member in members:
        who = ROLE_WORDS.get(Role(member.role), member.role)
        if member.user.email in ZONES:
            who += f", {ZONES[member.user.email]}"
        if member.user.full_name:
            who += f" ({member.user.full_name})"
        logins.append((member.user.email, who))
    return logins


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
