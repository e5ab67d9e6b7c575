"""Fast, set-based inserts of generated rows: COPY on PostgreSQL, one executemany elsewhere.

Rows are plain tuples in the order of `columns` (attribute names such as "contact_id"), so the
generator never builds model instances. Rows that other rows point at (companies, contacts,
orders) get their ids from `IdRange`, allocated before insertion, so events can name their contact
without a query; `sequences_reset` puts PostgreSQL's sequences past them afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max


def _identity(value: Any) -> Any:
    return value


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class TableWriter:
    """Writes tuples into one model's table."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], table: str | None = None):
        """`table`: another table with the model's columns (a staging table), if not its own."""
        fields = {f.attname: f for f in model._meta.concrete_fields}
        self.model = model
        self.columns = list(columns)
        self.table = table or model._meta.db_table
        quote = connection.ops.quote_name
        self.column_sql = ", ".join(quote(str(fields[name].column)) for name in self.columns)
        self.postgres = connection.vendor == "postgresql"
        self.adapters: list[Callable[[Any], Any]] = [
            self._adapter(fields[name]) for name in self.columns
        ]
        self.rows_written = 0

    def _adapter(self, field: models.Field) -> Callable[[Any], Any]:
        if isinstance(field, models.JSONField):
            return _json
        if self.postgres:
            return _identity
        if isinstance(field, models.DateTimeField):
            adapt_dt = connection.ops.adapt_datetimefield_value
            return lambda v: None if v is None else adapt_dt(v)
        if isinstance(field, models.DateField):
            return lambda v: None if v is None else v.isoformat()
        if isinstance(field, models.DecimalField):
            return lambda v: None if v is None else str(v)
        return _identity

    def write(self, rows: Iterable[tuple]) -> int:
        adapters = self.adapters
        adapted = [tuple(a(v) for a, v in zip(adapters, row, strict=True)) for row in rows]
        if not adapted:
            return 0
        with connection.cursor() as cursor:
            if self.postgres:
                sql = f"COPY {connection.ops.quote_name(self.table)} ({self.column_sql}) FROM STDIN"
                with cursor.copy(sql) as copy:
                    for row in adapted:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {connection.ops.quote_name(self.table)} ({self.column_sql}) "
                    f"VALUES ({marks})",
                    adapted,
                )
        self.rows_written += len(adapted)
        return len(adapted)


class IdRange:
    """Hands out primary keys after the table's current highest one."""

    def __init__(self, model: type[models.Model]):
        manager = getattr(model, "all_workspaces", model._default_manager)
        self.next = (manager.aggregate(top=Max("id"))["top"] or 0) + 1

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


def sequences_reset(model_classes: Sequence[type[models.Model]]) -> None:
    """After explicit ids, make PostgreSQL's sequences continue past them (no-op on SQLite)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def tables_analyze(model_classes: Sequence[type[models.Model]]) -> None:
    """Refresh the planner's statistics after a bulk load."""
    with connection.cursor() as cursor:
        for model in model_classes:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class TimeOrderedEvents:
    """Stages generated events, then appends them to the event table in time order.

    The generator writes contact after contact, each with a year of history; a live workspace
    receives its events as they happen, so its table holds them (and their ids) in time order,
    and "the last 30 days" is the end of the table rather than a row on every page. Loading
    through this stage gives the demo and the benchmarks the layout production has.
    """

    STAGE = "volano_demo_events"

    def __init__(self, model: type[models.Model], columns: Sequence[str]):
        self.model = model
        self.writer = TableWriter(model, columns, table=self.STAGE)
        self.column_sql = self.writer.column_sql
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.STAGE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.STAGE} AS SELECT {self.column_sql} "
                f"FROM {connection.ops.quote_name(model._meta.db_table)} WHERE 1 = 0"
            )

    @property
    def rows_written(self) -> int:
        return self.writer.rows_written

    def write(self, rows: Iterable[tuple]) -> int:
        return self.writer.write(rows)

    def finish(self) -> None:
        """Move the staged events into the event table, oldest first (new ids in that order)."""
        occurred_at = connection.ops.quote_name("occurred_at")
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL work_mem = '512MB'")
            cursor.execute(
                f"INSERT INTO {table} ({self.column_sql}) SELECT {self.column_sql} "
                f"FROM {self.STAGE} ORDER BY {occurred_at}"
            )
            cursor.execute(f"DROP TABLE {self.STAGE}")
