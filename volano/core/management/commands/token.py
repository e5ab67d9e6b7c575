from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from volano.core import selectors, services
from volano.core.errors import NotFound
from volano.core.management.base import VolanoCommand, database_require
from volano.core.models import ApiToken, User


def token_status(token: ApiToken, now) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(VolanoCommand):
    help = (
        "Manage API tokens: `token create --workspace SLUG --user EMAIL [--expires-days N]` "
        "(printed once; only its hash is kept), `token list --workspace SLUG`, "
        "`token revoke ID|PREFIX`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a bearer token for the API")
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument("--user", required=True, help="email of a member of the workspace")
        create.add_argument("--name", default="", help="what the token is for")
        create.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="the token stops working after this many days (default: never)",
        )
        listing = actions.add_parser("list", help="the workspace's tokens, newest first")
        listing.add_argument("--workspace", required=True, help="workspace slug")
        listing.add_argument("--json", action="store_true", help="machine-readable output")
        revoke = actions.add_parser("revoke", help="revoke a token: it gets 401 from then on")
        revoke.add_argument("token", help="the token's id or prefix (as `token list` shows it)")
        revoke.add_argument("--workspace", default=None, help="workspace slug (optional)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        getattr(self, f"_{action}")(**options)

    def _create(self, **options: Any) -> None:
        workspace = selectors.workspace_get(slug=options["workspace"])
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise NotFound(f"no user {options['user']}", field="user")
        _token, raw = services.token_create(
            workspace=workspace,
            user=user,
            name=options["name"],
            expires_days=options["expires_days"],
        )
        if self.stdout.isatty():
            self.stderr.write("Keep this token now: it is shown only once.")
        self.stdout.write(raw)

    def _list(self, **options: Any) -> None:
        workspace = selectors.workspace_get(slug=options["workspace"])
        tokens = list(selectors.tokens_visible(workspace=workspace, user=None))
        now = timezone.now()
        if options["json"]:
            records = [
                {
                    "id": t.pk,
                    "prefix": t.prefix,
                    "name": t.name,
                    "user": t.user.email,
                    "created_at": t.created_at.isoformat(),
                    "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                    "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                    "status": token_status(t, now),
                }
                for t in tokens
            ]
            self.stdout.write(json.dumps(records, indent=2))
            return
        header = ("ID", "PREFIX", "NAME", "USER", "CREATED", "LAST USED", "EXPIRES", "STATUS")
        rows = [header] + [
            (
                str(t.pk),
                t.prefix,
                t.name or "-",
                t.user.email,
                _when(t.created_at),
                _when(t.last_used_at),
                _when(t.expires_at) if t.expires_at else "never",
                token_status(t, now),
            )
            for t in tokens
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def _revoke(self, **options: Any) -> None:
        workspace = (
            selectors.workspace_get(slug=options["workspace"]) if options["workspace"] else None
        )
        token = selectors.token_find(reference=options["token"], workspace=workspace)
        services.token_revoke(workspace=token.workspace, actor=None, token_id=token.pk)
        self.stdout.write(f"revoked {token.prefix} ({token.name or 'unnamed'}, {token.user.email})")
