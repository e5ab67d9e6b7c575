"""Database functions Volano adds so the same SQL means the same thing on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import DateTimeField, Func, TextField


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


# Helpers for raw SQL that must read the same on both databases: one definition each, for every
# domain (a second copy in a domain drifts; import these).


def db_now(now: dt.datetime) -> Any:
    """A datetime as the database driver wants it as a parameter of a raw statement (naive UTC
    text on SQLite, the aware datetime on PostgreSQL)."""
    return DateTimeField().get_db_prep_save(now, connection)


def json_object_sql(*pairs: str) -> str:
    """A JSON object built in SQL from key, expression, key, expression…"""
    items = ", ".join(f"'{pairs[i]}', {pairs[i + 1]}" for i in range(0, len(pairs), 2))
    if connection.vendor == "postgresql":
        return f"jsonb_build_object({items})"
    return f"json_object({items})"


def days_between_sql(later: str, earlier: str) -> str:
    """The days (fractional) from the SQL expression `earlier` to `later`."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"
