"""Event facts: per-contact aggregates of many event conditions, from one pass over the events.

A full refresh of every segment evaluates many conditions on the same event type ("visited
/prezzi in the last 60 days", "visited /ricambi…", twenty-five of them on page views). Alone,
each reads the window's page views and pulls the URL out of their JSON; together they read the
same rows twenty-five times. `event_facts` reads each such event type once:

    CREATE TEMPORARY TABLE volano_facts_0 AS
    SELECT e_contact AS contact_id,
           COUNT(*) FILTER (WHERE <window and filters of condition 0>) AS n0,
           SUM(p1) FILTER (WHERE …) AS s0, MIN(e_at) FILTER (WHERE …) AS f0, …
    FROM (SELECT contact_id AS e_contact, occurred_at AS e_at, <url as text> AS p0, …
          FROM events WHERE workspace = … AND type = 'page_view' AND occurred_at >= <earliest>
          OFFSET 0) e
    GROUP BY e_contact

The inner query extracts every property the conditions test once per row (`OFFSET 0` keeps the
planner from copying each extraction into every FILTER); the compiler then turns each condition
into a lookup in that table (`condition_q(..., facts=...)`). The window and property tests are
the compiler's own (`event_test`, `having_test`), applied to the inner columns, so a condition
means the same with or without facts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection, transaction
from django.db.models import (
    DateTimeField,
    Expression,
    F,
    FloatField,
    IntegerField,
    Q,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.db.models.lookups import GreaterThan
from django.db.models.sql import Query

from volano.conditions.compiler import JsonValue, bounds_test, compiler_for, normalised
from volano.conditions.types import AllOf, AnyOf, Condition, EventCondition, Not
from volano.core.models import Workspace
from volano.events.models import Event

SHARED_FROM = 2  # an event type read by fewer conditions than this is left to plain SQL
_table_numbers = itertools.count()


class Column(Expression):
    """A column of the facts' subquery or table, by its bare name. `normalised`: the column
    holds text already trimmed and lower-cased (compiler.normalised uses it as it is)."""

    def __init__(self, name: str, output_field: Any, normalised: bool = False):
        super().__init__(output_field=output_field)
        self.name = name
        self.normalised = normalised

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:  # type: ignore[override]
        return connection.ops.quote_name(self.name), []


@dataclass(frozen=True)
class _Columns:
    table: str
    n: str
    total: str | None
    first: str | None
    last: str | None


class EventFacts:
    """The facts tables of one refresh: built by `event_facts`, read through `q`."""

    def __init__(self, workspace: Workspace, now: dt.datetime):
        self.workspace = workspace
        self.now = now
        self.columns: dict[EventCondition, _Columns] = {}
        self.tables: list[str] = []

    def q(self, node: EventCondition) -> Q | None:
        """The contacts that match `node`, read from the facts (None: not among them)."""
        found = self.columns.get(node)
        if found is None:
            return None
        n = Column(found.n, IntegerField())
        if node.zero_matches:
            failing = ~bounds_test(n, node.count)
            return ~Q(pk__in=_select(found.table, failing))
        moment = DateTimeField()
        test = Q(GreaterThan(n, 0)) & compiler_for(self.workspace, self.now).having_test(
            node,
            n,
            Column(found.total, FloatField()) if found.total else None,
            Column(found.first, moment) if found.first else None,
            Column(found.last, moment) if found.last else None,
        )
        return Q(pk__in=_select(found.table, test))

    def build(self, conditions: Iterable[Condition]) -> None:
        by_type: dict[str, list[EventCondition]] = {}
        for node in _event_nodes(conditions):
            nodes = by_type.setdefault(node.type, [])
            if node not in nodes:
                nodes.append(node)
        for nodes in by_type.values():
            if len(nodes) >= SHARED_FROM:
                self._table_create(nodes)

    def _table_create(self, nodes: list[EventCondition]) -> None:
        compiler = compiler_for(self.workspace, self.now)
        properties: dict[tuple[str, str], str] = {}

        def value_of(name: str, kind: str) -> Column:
            # Text is extracted already normalised: a LOWER per condition and event was most
            # of the time (21 s for six conditions on 2M page views).
            alias = properties.setdefault((name, kind), f"p{len(properties)}")
            if kind == "number":
                return Column(alias, FloatField())
            return Column(alias, TextField(), normalised=kind == "text")

        occurred_at = Column("e_at", DateTimeField())
        table = f"volano_facts_{next(_table_numbers)}"
        parts: list[str] = ["e_contact AS contact_id"]
        params: list[Any] = []
        for k, node in enumerate(nodes):
            test_sql, test_params = _where_sql(compiler.event_test(node, occurred_at, value_of))
            only = f" FILTER (WHERE {test_sql})" if test_sql else ""
            aggregates = [("COUNT(*)", f"n{k}")]
            total = first = last = None
            if node.sum is not None:
                total = f"s{k}"
                column = connection.ops.quote_name(value_of(node.sum.property, "number").name)
                aggregates.append((f"SUM({column})", total))
            if node.first is not None:
                first = f"f{k}"
                aggregates.append(("MIN(e_at)", first))
            if node.last is not None:
                last = f"l{k}"
                aggregates.append(("MAX(e_at)", last))
            for aggregate, alias in aggregates:
                parts.append(f"{aggregate}{only} AS {alias}")
                params += test_params
            self.columns[node] = _Columns(table, f"n{k}", total, first, last)
        rows = Event.objects.for_workspace(self.workspace).filter(
            type=nodes[0].type, contact_id__isnull=False
        )
        starts = [compiler.window_start(node) for node in nodes]
        if all(start is not None for start in starts):
            rows = rows.filter(occurred_at__gte=min(s for s in starts if s is not None))
        rows = rows.annotate(
            e_contact=F("contact_id"),
            e_at=F("occurred_at"),
            **{alias: _extracted(name, kind) for (name, kind), alias in properties.items()},
        )
        inner_sql, inner_params = (
            rows.order_by()
            .values("e_contact", "e_at", *properties.values())
            .query.sql_with_params()
        )
        fence = " LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else " OFFSET 0"
        self.tables.append(table)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # per-contact aggregates of a million contacts: in memory, not spilled to disk
                cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {table} AS SELECT {', '.join(parts)} "
                f"FROM ({inner_sql}{fence}) e GROUP BY e_contact",
                [*params, *inner_params],
            )
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        self.tables.clear()
        self.columns.clear()


@contextlib.contextmanager
def event_facts(
    *, workspace: Workspace, conditions: Iterable[Condition], now: dt.datetime
) -> Iterator[EventFacts]:
    """Facts for the event conditions that share an event type, dropped on the way out."""
    facts = EventFacts(workspace, now)
    try:
        facts.build(conditions)
        yield facts
    finally:
        facts.drop()


def _extracted(name: str, kind: str) -> Any:
    value = JsonValue("properties", name, kind)
    return normalised(value) if kind == "text" else value


def _event_nodes(conditions: Iterable[Condition]) -> Iterator[EventCondition]:
    for condition in conditions:
        match condition:
            case EventCondition():
                yield condition
            case AllOf(items=items) | AnyOf(items=items):
                yield from _event_nodes(items)
            case Not(item=item):
                yield from _event_nodes([item])


def _where_sql(test: Q) -> tuple[str, list]:
    """SQL of a Q over `Column`s only ("" when it holds for every row)."""
    query = Query(Event)
    where = query.build_where(test)
    try:
        sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    except FullResultSet:
        return "", []
    except EmptyResultSet:
        return "1 = 0", []
    return sql, list(params)


def _select(table: str, test: Q) -> RawSQL:
    sql, params = _where_sql(test)
    return RawSQL(f"SELECT contact_id FROM {table} WHERE {sql or '1 = 1'}", params)
