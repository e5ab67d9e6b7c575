"""Journeys, set-based: from events and conversions to the distinct paths the models run on.

One SQL statement per request (identical on SQLite and PostgreSQL but for two dialect helpers):

- *conversions* of the chosen kind in [from, to]: a contact created (lead); the first time a
  contact reached a lifecycle stage (MQL, SQL, opportunity, customer) or a later one of the
  funnel (a lead made SQL in one step passed MQL too, as the funnel report counts), when that
  falls in the period; each won deal (its amount, at `closed_at`) and each completed order (its total, at
  `ordered_at`) for revenue;
- *touches*: the marketing events of `volano.campaigns.selectors.TOUCH_TYPES` (page views,
  forms, downloads, email clicks, webinars, fairs) with their key for the dimension (channel
  group by the workspace's rules, `source / medium`, UTM campaign, UTM content), resolved at
  read time by `volano.campaigns.channels`. An anonymous visitor's earlier touches are their
  contact's once identified (identity resolution moves them);
- a converting journey is the contact's touches in the `lookback_days` before the conversion
  (one journey per conversion); a journey that never converted is the touches in [from, to] of a
  person (a contact, or an anonymous visitor never identified) with no conversion in the period;
- grouped by journey (touch keys in time order, ages in hours), then by distinct path: the rows
  that leave the database are distinct paths with how many journeys converted, their value
  and how many did not; conversions with no touch at all form the path `(no touch)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, Concat, NullIf

from volano.attribution.engine import Paths
from volano.campaigns.channels import (
    channel_group_of,
    touch_campaign,
    touch_medium,
    touch_source,
    touch_values,
    workspace_rules,
)
from volano.campaigns.selectors import TOUCH_TYPES
from volano.contacts.models import Contact
from volano.core.db import UnicodeLower, db_now
from volano.core.models import Workspace
from volano.deals.models import Deal, DealStage
from volano.events.models import Event
from volano.lifecycle.models import StageChange

DIMENSIONS = ("channel", "source_medium", "campaign", "content")
CONVERSIONS = ("lead", "mql", "sql", "opportunity", "customer", "revenue")
STAGE_CONVERSIONS = ("mql", "sql", "opportunity", "customer")
NOT_SET = "(not set)"
NO_TOUCH = "(no touch)"
SEPARATOR = "\x1f"  # the unit separator: never part of a UTM value a form or link carries
RECORD = "\x1e"  # the record separator, between the parts of a channel touch's raw key
COMPLETED_ORDER = "completed"


def key_expression(workspace: Workspace, dimension: str) -> Any:
    """The SQL expression of a touch's key. For channel groups, the (source, medium, campaign)
    the rules read, joined by RECORD: a handful of distinct values the Python twin of the rules
    (`channel_group_of`) classifies after the query, instead of the rules' regular expressions
    running on every event (`channel_group_expression` gives the same result, row by row)."""
    if dimension == "channel":
        return Concat(
            touch_source(),
            Value(RECORD),
            touch_medium(),
            Value(RECORD),
            touch_campaign(),
            output_field=CharField(),
        )
    if dimension == "source_medium":
        return Concat(
            Coalesce(NullIf(touch_source(), Value("")), Value(NOT_SET)),
            Value(" / "),
            touch_medium(),
            output_field=CharField(),
        )
    if dimension == "campaign":
        return Coalesce(NullIf(touch_campaign(), Value("")), Value(NOT_SET))
    if dimension == "content":
        return Coalesce(
            NullIf(UnicodeLower("utm_content"), Value("")), Value(NOT_SET), output_field=CharField()
        )
    raise ValueError(f"unknown dimension {dimension!r}")


def conversions(
    workspace: Workspace, conversion: str, start: dt.datetime, end: dt.datetime
) -> QuerySet:
    """(contact_id, at, value) of each conversion of that kind in [start, end)."""
    if conversion == "lead":
        return (
            Contact.objects.for_workspace(workspace)
            .filter(created_at__gte=start, created_at__lt=end)
            .values(
                conv_contact=F("pk"), conv_at=F("created_at"), conv_worth=Value(1.0, FloatField())
            )
        )
    if conversion in STAGE_CONVERSIONS:
        return (
            StageChange.objects.for_workspace(workspace)
            .filter(to_stage__in=STAGE_CONVERSIONS[STAGE_CONVERSIONS.index(conversion) :])
            .values(conv_contact=F("contact_id"))
            .annotate(conv_at=Min("changed_at"), conv_worth=Value(1.0, FloatField()))
            .filter(conv_at__gte=start, conv_at__lt=end)
        )
    if conversion == "revenue":
        from volano.orders.models import Order

        deals = (
            Deal.objects.for_workspace(workspace)
            .filter(
                stage=DealStage.WON,
                contact__isnull=False,
                closed_at__gte=start,
                closed_at__lt=end,
            )
            .values(
                conv_contact=F("contact_id"),
                conv_at=Cast("closed_at", DateTimeField()),
                conv_worth=Cast("amount", FloatField()),
            )
        )
        orders = (
            Order.objects.for_workspace(workspace)
            .filter(
                status=COMPLETED_ORDER,
                contact__isnull=False,
                ordered_at__gte=start,
                ordered_at__lt=end,
            )
            .values(
                conv_contact=F("contact_id"),
                conv_at=Cast("ordered_at", DateTimeField()),
                conv_worth=Cast("total", FloatField()),
            )
        )
        return deals.order_by().union(orders.order_by(), all=True).order_by()
    raise ValueError(f"unknown conversion {conversion!r}")


# -- reading arrays from the database ----------------------------------------------------------

EPOCH_2000_US = 946_684_800_000_000  # µs from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch)
US_PER_DAY = 86_400_000_000


def _time_us(column: str) -> str:
    """A timestamp column for `_arrays`' kind "t": on PostgreSQL the column itself (sent as its
    binary form, µs since 2000-01-01 UTC); on SQLite that integer computed from the stored text
    (exact to tens of µs, the same value for the same text)."""
    if connection.vendor == "postgresql":
        return f"CAST({column} AS timestamptz)"
    return f"CAST(ROUND((julianday({column}) - 2451544.5) * 86400000000.0) AS INTEGER)"


_SEND = {
    "i8": "int8send(CAST({} AS BIGINT))",
    "f8": "float8send(CAST({} AS DOUBLE PRECISION))",
    "t": "timestamptz_send(CAST({} AS timestamptz))",
}
ROWS_PER_BLOB = 4_000_000  # a blob stays far below PostgreSQL's 1 GB per value


def _arrays(
    sql: str,
    params: tuple,
    columns: tuple[tuple[str, str], ...],
    *,
    rows: int = 0,
    bucket: int = 0,
) -> dict[str, Any]:
    """The statement's rows as one NumPy array per column (`columns`: (name, kind) in the
    SELECT's order, kind "i8", "f8" or "t" (a timestamp, as int64 µs since 2000-01-01 UTC); no
    NULLs). On PostgreSQL each row is packed into bytes by the server (`int8send` …) and the
    rows are concatenated by `string_agg` into a few blobs (about `rows` / 4M of them, by the
    value of column `bucket`), read straight into a structured array: no Python object per row.
    On SQLite, the rows."""
    if connection.vendor == "postgresql":
        aliases = [f"c{i}" for i in range(len(columns))]
        packed = " || ".join(
            _SEND[kind].format(alias) for alias, (_name, kind) in zip(aliases, columns, strict=True)
        )
        blobs = max(1, -(-rows // ROWS_PER_BLOB))
        blob_sql = (
            f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) AS q({', '.join(aliases)}) "
            f"GROUP BY MOD(CAST({aliases[bucket]} AS BIGINT), {blobs})"
        )
        dtype = np.dtype([(name, ">i8" if kind == "t" else f">{kind}") for name, kind in columns])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(blob_sql, params)
            parts = [np.frombuffer(blob, dtype=dtype) for (blob,) in cursor.fetchall() if blob]
        got = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        return {name: got[name].astype("i8" if kind == "t" else kind) for name, kind in columns}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    return {
        name: np.array([row[i] for row in fetched], dtype="i8" if kind == "t" else kind)
        for i, (name, kind) in enumerate(columns)
    }


# -- touches, once for every dimension and conversion ------------------------------------------

# The stored columns of an event that decide all four keys.
COMBO_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "channel", "campaign", "utm_content")


@dataclass
class Touches:
    """Every touch of the window, as arrays sorted by (person, time, id): `person` is the
    contact id, or minus a number per anonymous visitor never identified; `at` µs since
    2000-01-01 UTC; `combo` an index into `combos` (the distinct stored UTM columns), from
    which `keys_of(dimension)` gives each touch's key. Read once, shared by the models and the
    conversions of a request (the ROI report's five)."""

    person: np.ndarray
    at: np.ndarray
    combo: np.ndarray
    combos: list[tuple[str, ...]]
    rules: tuple = ()
    _keys: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)

    def keys_of(self, dimension: str) -> tuple[list[str], np.ndarray]:
        """(the sorted keys of the dimension, the key index of each combo)."""
        if dimension not in self._keys:
            labels = [combo_key(dimension, combo, self.rules) for combo in self.combos]
            keys = sorted(set(labels))
            index = {key: i for i, key in enumerate(keys)}
            self._keys[dimension] = (
                keys,
                np.array([index[label] for label in labels], dtype=np.int64),
            )
        return self._keys[dimension]


def combo_key(dimension: str, combo: tuple[str, ...], rules: tuple = ()) -> str:
    """A touch's key for the dimension from its stored columns: the Python twin of
    `key_expression` (the same result as that SQL, row by row)."""
    utm_source, utm_medium, utm_campaign, channel, campaign, utm_content = combo
    source, medium, campaign_name = touch_values(
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        channel=channel,
        campaign=campaign,
    )
    if dimension == "channel":
        return channel_group_of(source, medium, campaign_name, rules=rules)
    if dimension == "source_medium":
        return f"{source or NOT_SET} / {medium}"
    if dimension == "campaign":
        return campaign_name or NOT_SET
    if dimension == "content":
        return utm_content.lower() or NOT_SET
    raise ValueError(f"unknown dimension {dimension!r}")


def _touch_queryset(
    workspace: Workspace,
    start: dt.datetime,
    end: dt.datetime,
    contact_ids: list[int] | None = None,
) -> QuerySet:
    events = Event.objects.for_workspace(workspace).filter(
        type__in=TOUCH_TYPES, occurred_at__gte=start, occurred_at__lt=end
    )
    if contact_ids is not None:
        return events.filter(contact_id__in=contact_ids)
    return events.filter(Q(contact__isnull=False) | Q(anonymous_id__isnull=False))


def touches_load(
    workspace: Workspace,
    start: dt.datetime,
    end: dt.datetime,
    *,
    contact_ids: list[int] | None = None,
) -> Touches:
    """Every touch in [start, end), in two statements: the distinct stored UTM columns (a
    handful of combinations, classified afterwards in Python so that the rules' regular
    expressions never run per event), then each touch as three integers joined to them.
    `contact_ids`: only these contacts' touches (the journeys of a few conversions: the days
    `daily` recomputes)."""
    if contact_ids is not None:
        return _touches_of(workspace, start, end, sorted({int(pk) for pk in contact_ids}))
    events = _touch_queryset(workspace, start, end)
    counted = [
        (tuple(row[name] or "" for name in COMBO_COLUMNS), row["n"])
        for row in events.order_by().values(*COMBO_COLUMNS).annotate(n=Count("id"))
    ]
    # the same stored values with and without NULLs are one combination
    combos = sorted({combo for combo, _n in counted})
    total = sum(n for _combo, n in counted)
    rules = workspace_rules(workspace)
    if not combos:
        empty = np.zeros(0, dtype=np.int64)
        return Touches(person=empty, at=empty, combo=empty, combos=[], rules=rules)
    # the combinations as a VALUES table (NULLs stored as empty strings match as '')
    values = ", ".join(
        "(" + ", ".join(["%s"] * len(COMBO_COLUMNS)) + f", {i})" for i in range(len(combos))
    )
    on = " AND ".join(f"COALESCE(e.{name}, '') = k.c{i}" for i, name in enumerate(COMBO_COLUMNS))
    k_columns = ", ".join(f"c{i}" for i in range(len(COMBO_COLUMNS)))
    types = ", ".join(["%s"] * len(TOUCH_TYPES))
    where = f"e.workspace_id = %s AND e.type IN ({types}) AND e.occurred_at >= %s AND e.occurred_at < %s"
    where_params = (workspace.pk, *(str(t) for t in TOUCH_TYPES), db_now(start), db_now(end))
    table = Event._meta.db_table
    sql = f"""
        WITH k({k_columns}, cid) AS (VALUES {values})
        SELECT CAST(-DENSE_RANK() OVER (ORDER BY e.anonymous_id) AS BIGINT) AS person,
               {_time_us("e.occurred_at")} AS at, CAST(e.id AS BIGINT) AS id,
               CAST(k.cid AS BIGINT) AS combo
        FROM {table} e
        JOIN k ON {on}
        WHERE {where} AND e.contact_id IS NULL AND e.anonymous_id IS NOT NULL
        UNION ALL
        SELECT CAST(e.contact_id AS BIGINT), {_time_us("e.occurred_at")},
               CAST(e.id AS BIGINT), CAST(k.cid AS BIGINT)
        FROM {table} e
        JOIN k ON {on}
        WHERE {where} AND e.contact_id IS NOT NULL
    """
    flat = tuple(value for combo in combos for value in combo)
    params = (*flat, *where_params, *where_params)
    got = _arrays(
        sql,
        params,
        (("person", "i8"), ("at", "t"), ("id", "i8"), ("combo", "i8")),
        rows=total,
        bucket=2,
    )
    order = np.lexsort((got["id"], got["at"], got["person"]))
    return Touches(
        person=got["person"][order],
        at=got["at"][order],
        combo=got["combo"][order],
        combos=combos,
        rules=rules,
    )


def _touches_of(
    workspace: Workspace, start: dt.datetime, end: dt.datetime, contact_ids: list[int]
) -> Touches:
    """`touches_load` for a few contacts: one statement through their index (contact, time),
    the stored UTM columns classified in Python."""
    events = _touch_queryset(workspace, start, end, contact_ids).order_by()
    if connection.vendor == "postgresql":
        rows = events.values_list("contact_id", "occurred_at", "id", *COMBO_COLUMNS)
    else:  # the µs the other statements compute from the same stored text (`_time_us`)
        column = f'"{Event._meta.db_table}"."occurred_at"'
        rows = events.annotate(us=RawSQL(_time_us(column), ())).values_list(
            "contact_id", "us", "id", *COMBO_COLUMNS
        )
    index: dict[tuple[str, ...], int] = {}
    person, at, ids, combo = [], [], [], []
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for contact_id, occurred_at, pk, *stored in rows:
        key = tuple(value or "" for value in stored)
        person.append(contact_id)
        at.append(
            occurred_at
            if isinstance(occurred_at, int)
            else (occurred_at - epoch) // dt.timedelta(microseconds=1)
        )
        ids.append(pk)
        combo.append(index.setdefault(key, len(index)))
    combos = sorted(index)
    rank = np.array([combos.index(key) for key in index], dtype=np.int64)
    got = {
        "person": np.array(person, dtype=np.int64),
        "at": np.array(at, dtype=np.int64),
        "id": np.array(ids, dtype=np.int64),
        "combo": rank[np.array(combo, dtype=np.int64)] if combo else np.zeros(0, np.int64),
    }
    order = np.lexsort((got["id"], got["at"], got["person"]))
    return Touches(
        person=got["person"][order],
        at=got["at"][order],
        combo=got["combo"][order],
        combos=combos,
        rules=workspace_rules(workspace),
    )


def conversions_load(
    workspace: Workspace, conversion: str, start: dt.datetime, end: dt.datetime
) -> dict[str, np.ndarray]:
    """The conversions of that kind in [start, end) as arrays: person, at (µs since 2000),
    worth; sorted by (person, at, worth)."""
    conv_sql, conv_params = conversions(workspace, conversion, start, end).query.sql_with_params()
    sql = f"""
        SELECT CAST(conv_contact AS BIGINT), {_time_us("conv_at")},
               CAST(COALESCE(conv_worth, 0) AS DOUBLE PRECISION)
        FROM ({conv_sql}) AS raw_conv"""
    got = _arrays(sql, tuple(conv_params), (("person", "i8"), ("at", "t"), ("worth", "f8")))
    order = np.lexsort((got["worth"], got["at"], got["person"]))
    return {name: column[order] for name, column in got.items()}


def _gather(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the concatenated index ranges [starts[i], starts[i] + lengths[i]), the offsets)."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - starts, lengths)
    return index, offsets


def paths_from(
    touches: Touches,
    converted: dict[str, np.ndarray],
    *,
    dimension: str,
    start: dt.datetime,
    lookback_days: int,
) -> Paths:
    """The journeys (see the module docstring), built with array operations: each conversion's
    touches are the range of its person's sorted touches inside [at - lookback, at], found by
    one sort of the touches with two sentinels per conversion; the touches in the period of
    the people with no conversion make the journeys that never converted."""
    keys, key_of_combo = touches.keys_of(dimension)
    n = len(touches.person)
    c_person, c_at, c_worth = converted["person"], converted["at"], converted["worth"]
    m = len(c_person)
    lookback = np.int64(lookback_days) * US_PER_DAY
    # the position of (person, at - lookback) and of (person, at) among the sorted touches:
    # sentinels sort before (kind 0) and after (kind 2) the touches (kind 1) at the same time
    persons = np.concatenate([touches.person, c_person, c_person])
    times = np.concatenate([touches.at, c_at - lookback, c_at])
    kinds = np.concatenate(
        [np.ones(n, dtype=np.int8), np.zeros(m, dtype=np.int8), np.full(m, 2, dtype=np.int8)]
    )
    order = np.lexsort((kinds, times, persons))
    before = np.cumsum(order < n) - (order < n)  # touches strictly before each position
    position = np.empty(n + 2 * m, dtype=np.int64)
    position[order] = before
    low, high = position[n : n + m], position[n + m :]
    lengths = high - low
    index, conv_offsets = _gather(low, lengths)
    ages = np.round((np.repeat(c_at, lengths) - touches.at[index]) / 3.6e9) / 24.0
    # journeys that never converted: the touches in the period of people with no conversion
    start_us = np.int64(
        round((start - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1e6)
    )
    free = (touches.at >= start_us) & ~np.isin(touches.person, c_person)
    free_index = np.flatnonzero(free)
    free_person = touches.person[free_index]
    cuts = np.flatnonzero(np.diff(free_person)) + 1 if len(free_person) else np.zeros(0, int)
    free_starts = np.concatenate([[0], cuts]).astype(np.int64) if len(free_person) else cuts
    free_lengths = np.diff(np.append(free_starts, len(free_person))).astype(np.int64)
    touched = lengths > 0
    # conversions with no touch in their window make one path, `(no touch)`
    missing = ~touched
    all_keys = list(keys)
    no_touch = None
    if missing.any():
        if NO_TOUCH not in all_keys:
            all_keys.append(NO_TOUCH)
        no_touch = all_keys.index(NO_TOUCH)
    conv_keys = key_of_combo[touches.combo[index]]
    free_keys = key_of_combo[touches.combo[free_index]]
    path_lengths = [lengths[touched], free_lengths]
    flat_touches = [conv_keys, free_keys]
    flat_ages = [ages, np.zeros(len(free_keys))]
    conv_count = [np.ones(int(touched.sum())), np.zeros(len(free_lengths))]
    value = [c_worth[touched], np.zeros(len(free_lengths))]
    nulls = [np.zeros(int(touched.sum())), np.ones(len(free_lengths))]
    if no_touch is not None:
        path_lengths.append(np.ones(1, dtype=np.int64))
        flat_touches.append(np.array([no_touch], dtype=np.int64))
        flat_ages.append(np.zeros(1))
        conv_count.append(np.array([float(missing.sum())]))
        value.append(np.array([float(c_worth[missing].sum())]))
        nulls.append(np.zeros(1))
    offsets = np.zeros(sum(len(part) for part in path_lengths) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(path_lengths), out=offsets[1:])
    del conv_offsets
    result = Paths(
        keys=all_keys,
        offsets=offsets,
        touches=np.concatenate(flat_touches).astype(np.int64),
        ages=np.concatenate(flat_ages).astype(np.float64),
        converted=np.concatenate(conv_count).astype(np.float64),
        value=np.concatenate(value).astype(np.float64),
        nulls=np.concatenate(nulls).astype(np.float64),
    )
    # only the keys the journeys touch, in order
    used = np.bincount(result.touches, minlength=len(all_keys)) > 0
    if not used.all() or all_keys != sorted(all_keys):
        kept = [key for key, on in zip(all_keys, used, strict=True) if on]
        index = np.cumsum(used) - 1
        result = relabel(
            Paths(
                keys=kept,
                offsets=result.offsets,
                touches=index[result.touches],
                ages=result.ages,
                converted=result.converted,
                value=result.value,
                nulls=result.nulls,
            ),
            kept,
        )
    return result


def paths(
    workspace: Workspace,
    *,
    dimension: str,
    conversion: str,
    start: dt.datetime,
    end: dt.datetime,
    lookback_days: int = 90,
    touches: Touches | None = None,
) -> Paths:
    """The journeys ending in [start, end): see the module docstring. `touches` (from
    `touches_load(workspace, start - lookback, end)`) when the caller reads them once for
    several conversions."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    if touches is None:
        touches = touches_load(workspace, start - dt.timedelta(days=lookback_days), end)
    return paths_from(
        touches,
        conversions_load(workspace, conversion, start, end),
        dimension=dimension,
        start=start,
        lookback_days=lookback_days,
    )


def relabel(paths: Paths, new_keys: list[str]) -> Paths:
    """The same paths with key i renamed new_keys[i] (several may merge into one)."""
    keys = sorted(set(new_keys))
    index = {key: i for i, key in enumerate(keys)}
    mapping = np.array([index[key] for key in new_keys], dtype=np.int64)
    return Paths(
        keys=keys,
        offsets=paths.offsets,
        touches=mapping[paths.touches] if len(paths.touches) else paths.touches,
        ages=paths.ages,
        converted=paths.converted,
        value=paths.value,
        nulls=paths.nulls,
    )
