"""Database functions Volano adds so the same SQL means the same thing on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Func, TextField


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def sqlite_functions_register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite's own lower() folds only A-Z ("CITTÀ" stays "cittÀ"); PostgreSQL's folds every
    letter. `volano_lower` is Python's str.lower, deterministic so SQLite may use it anywhere."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("volano_lower", 1, _unicode_lower, deterministic=True)


def signals_connect() -> None:
    connection_created.connect(sqlite_functions_register, dispatch_uid="volano_sqlite_functions")


class UnicodeLower(Func):
    """lower() of every letter, not only A-Z, on both databases."""

    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, function="volano_lower", **extra)
