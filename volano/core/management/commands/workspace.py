from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from volano.core import services
from volano.core.management.base import VolanoCommand, database_require
from volano.core.models import Workspace


class Command(VolanoCommand):
    help = "Manage workspaces: `workspace create SLUG --name NAME`, `workspace list`."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a workspace (one client company)")
        create.add_argument("slug", help="short name used in URLs, e.g. officina-rossi")
        create.add_argument("--name", required=True, help="company name")
        create.add_argument("--currency", default="EUR")
        create.add_argument("--language", default="it")
        actions.add_parser("list", help="list the workspaces")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        if action == "create":
            workspace = services.workspace_create(
                slug=options["slug"],
                name=options["name"],
                currency=options["currency"],
                language=options["language"],
            )
            self.stdout.write(f"Created workspace {workspace.slug} ({workspace.name})")
            return
        for workspace in Workspace.objects.order_by("slug"):
            members = workspace.memberships.count()
            self.stdout.write(f"{workspace.slug}\t{workspace.name}\t{members} members")
