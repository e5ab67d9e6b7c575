"""What every `volano` command shares: ApplicationError becomes a clean message and exit status 2.

A command subclasses `VolanoCommand` and raises ApplicationError (or its subclasses) like any
service does; on the command line the user reads `error: <message>` on stderr, with no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from volano.core.errors import ApplicationError, ValidationFailed

EXIT_APPLICATION_ERROR = 2


def error_text(error: ApplicationError) -> str:
    if isinstance(error, ValidationFailed):
        return "; ".join(
            f"{item['field']}: {item['message']}" if item.get("field") else item["message"]
            for item in error.errors
        )
    return f"{error.field}: {error.message}" if error.field else error.message


class VolanoCommand(BaseCommand):
    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except ApplicationError as error:
            self.stderr.write(f"error: {error_text(error)}")
            sys.exit(EXIT_APPLICATION_ERROR)

    def handle(self, *args: Any, **options: Any) -> str | None:
        raise NotImplementedError


def migrations_pending() -> int:
    """How many migrations the database still needs."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def database_require() -> None:
    if migrations_pending():
        raise ApplicationError("the database is not ready: run `volano init` first")


def json_file_read(name: str, *, field: str) -> Any:
    """The JSON in file `name` ("-" for stdin); an unreadable file or bad JSON is an
    ApplicationError naming `field`."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise ApplicationError(f"cannot read {name}: {error.strerror}", field=field) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ApplicationError(f"{name} is not JSON: {error.msg}", field=field) from None
