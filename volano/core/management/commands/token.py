from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from volano.core import services
from volano.core.errors import NotFound
from volano.core.management.base import VolanoCommand, database_require
from volano.core.models import User
from volano.core.selectors import workspace_get


class Command(VolanoCommand):
    help = (
        "Manage API tokens: `token create --workspace SLUG --user EMAIL`. The token is printed "
        "once; only its hash is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a bearer token for the API")
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument("--user", required=True, help="email of a member of the workspace")
        create.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise NotFound(f"no user {options['user']}", field="user")
        _token, raw = services.token_create(workspace=workspace, user=user, name=options["name"])
        if self.stdout.isatty():
            self.stderr.write("Keep this token now: it is shown only once.")
        self.stdout.write(raw)
