from __future__ import annotations

import secrets
import select
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser
from django.db import transaction

from volano.core import services
from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require
from volano.core.models import Role
from volano.core.selectors import workspace_get


class Command(VolanoCommand):
    help = (
        "Manage users: `user create EMAIL --workspace SLUG --role ROLE`. The password is read "
        "from standard input when one is piped in, otherwise generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a user with a role in a workspace")
        create.add_argument("email")
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument("--role", required=True, choices=Role.values)
        create.add_argument("--name", default="", help="full name")
        create.add_argument(
            "--region", action="append", default=[], help="sales territory: a region (repeatable)"
        )
        create.add_argument(
            "--province",
            action="append",
            default=[],
            help="sales territory: a province, e.g. MI (repeatable)",
        )
        create.add_argument(
            "--product-line", action="append", default=[], help="product line (repeatable)"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        given = _password_from_stdin()
        password = given or secrets.token_urlsafe(12)
        try:
            validate_password(password)
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages), field="password") from None
        with transaction.atomic():
            user = services.user_create(
                email=options["email"], password=password, full_name=options["name"]
            )
            services.membership_set(
                workspace=workspace,
                user=user,
                role=options["role"],
                regions=options["region"],
                provinces=options["province"],
                product_lines=options["product_line"],
            )
        self.stdout.write(f"Created user {user.email} ({options['role']} in {workspace.slug})")
        if not given:
            self.stdout.write(f"Password: {password}")


def _password_from_stdin() -> str:
    """The first line piped in, or "" on a terminal or when nothing comes within a moment."""
    stdin = sys.stdin
    if stdin is None or stdin.closed or stdin.isatty():
        return ""
    try:
        ready, _, _ = select.select([stdin], [], [], 0.5)
    except (OSError, ValueError):
        return ""
    if not ready:
        return ""
    return stdin.readline().strip()
