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
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    CharField,
    DateTimeField,
    F,
    FloatField,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf

from volano.attribution.engine import Paths
from volano.campaigns.channels import (
    channel_group_of,
    touch_campaign,
    touch_medium,
    touch_source,
    workspace_rules,
)
from volano.campaigns.selectors import TOUCH_TYPES
from volano.contacts.models import Contact
from volano.core.db import UnicodeLower
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


def _sql(queryset: QuerySet) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _days_before(column: str) -> str:
    """`column` minus %s days."""
    if connection.vendor == "postgresql":
        return f"({column} - (%s * INTERVAL '1 day'))"
    return f"datetime({column}, '-' || %s || ' days')"


def _hours_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0) AS INTEGER)"
    return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 24.0) AS INTEGER)"


def _journeys_sql() -> str:
    """One row per journey: its touch keys and ages (hours) in time order, joined by the
    separator (two parameters). PostgreSQL orders inside the aggregate; SQLite before 3.44 has
    no ORDER BY in aggregates, so there the concatenation is a window over the ordered
    journey, read from its first row."""
    if connection.vendor == "postgresql":
        return """
        SELECT string_agg(touch_key, %s ORDER BY occurred_at, id) AS path,
               string_agg(CAST(age_hours AS TEXT), %s ORDER BY occurred_at, id) AS ages,
               MAX(converted) AS converted, MAX(worth) AS worth, person, jid
        FROM journey_touch GROUP BY person, jid, visitor"""
    return """
        SELECT path, ages, converted, worth, person, jid FROM (
            SELECT group_concat(touch_key, %s) OVER whole AS path,
                   group_concat(CAST(age_hours AS TEXT), %s) OVER whole AS ages,
                   converted, worth, person, jid,
                   ROW_NUMBER() OVER (PARTITION BY jid, person, visitor ORDER BY occurred_at, id)
                       AS rn
            FROM journey_touch
            WINDOW whole AS (PARTITION BY jid, person, visitor ORDER BY occurred_at, id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ) AS ordered_journey WHERE rn = 1"""


def _datetime_param(value: dt.datetime) -> Any:
    from volano.core.db import db_now

    return db_now(value)


def paths(
    workspace: Workspace,
    *,
    dimension: str,
    conversion: str,
    start: dt.datetime,
    end: dt.datetime,
    lookback_days: int = 90,
) -> Paths:
    """The distinct paths of the journeys ending in [start, end): see the module docstring."""
    (sql, params), (totals_sql, conv_params) = paths_sql(
        workspace,
        dimension=dimension,
        conversion=conversion,
        start=start,
        end=end,
        lookback_days=lookback_days,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # one big sort and aggregation: in memory rather than in temporary files
            cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        cursor.execute(totals_sql, conv_params)
        conv_count, conv_value = cursor.fetchone()
    result = _paths_from_rows(rows, float(conv_count or 0), float(conv_value or 0))
    if dimension == "channel":
        rules = workspace_rules(workspace)
        result = relabel(
            result,
            [
                key if RECORD not in key else channel_group_of(*key.split(RECORD), rules=rules)
                for key in result.keys
            ],
        )
    return result


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


def paths_sql(
    workspace: Workspace,
    *,
    dimension: str,
    conversion: str,
    start: dt.datetime,
    end: dt.datetime,
    lookback_days: int = 90,
) -> tuple[tuple[str, tuple], tuple[str, tuple]]:
    """(the paths statement, its parameters), (the conversions' count and value, theirs)."""
    lookback_start = start - dt.timedelta(days=lookback_days)
    touch_qs = (
        Event.objects.for_workspace(workspace)
        .filter(type__in=TOUCH_TYPES, occurred_at__gte=lookback_start, occurred_at__lt=end)
        .filter(Q(contact__isnull=False) | Q(anonymous_id__isnull=False))
        .values("id", "contact_id", "anonymous_id", "occurred_at")
        .annotate(touch_key=key_expression(workspace, dimension))
    )
    touch_sql, touch_params = _sql(touch_qs)
    conv_sql, conv_params = _sql(conversions(workspace, conversion, start, end))
    s = _datetime_param(start)
    sql = f"""
    WITH conv AS (
        SELECT ROW_NUMBER() OVER (ORDER BY conv_contact, conv_at) AS jid,
               conv_contact AS contact, conv_at AS at, conv_worth AS worth
        FROM ({conv_sql}) AS raw_conv
    ),
    converters AS (SELECT DISTINCT contact FROM conv),
    journey_touch AS (
        SELECT t.contact_id AS person, c.jid AS jid,
               CASE WHEN t.contact_id IS NULL THEN t.anonymous_id END AS visitor,
               t.occurred_at AS occurred_at, t.id AS id, t.touch_key AS touch_key,
               CASE WHEN c.jid IS NULL THEN 0 ELSE {_hours_between("c.at", "t.occurred_at")} END
                   AS age_hours,
               CASE WHEN c.jid IS NULL THEN 0 ELSE 1 END AS converted,
               COALESCE(c.worth, 0) AS worth
        FROM ({touch_sql}) AS t
        LEFT JOIN conv AS c
          ON c.contact = t.contact_id AND t.occurred_at <= c.at
         AND t.occurred_at >= {_days_before("c.at")}
        WHERE c.jid IS NOT NULL OR t.occurred_at >= %s
    ),
    journey AS ({_journeys_sql()})
    SELECT path, ages, SUM(converted), SUM(CASE WHEN converted = 1 THEN worth ELSE 0 END),
           SUM(1 - converted)
    FROM journey
    LEFT JOIN converters AS p ON p.contact = journey.person
    WHERE journey.jid IS NOT NULL OR p.contact IS NULL
    GROUP BY path, ages
    """
    params = (
        *conv_params,
        *touch_params,
        lookback_days,
        s,
        SEPARATOR,
        SEPARATOR,
    )
    totals_sql = f"SELECT COUNT(*), COALESCE(SUM(conv_worth), 0) FROM ({conv_sql}) AS raw_conv"
    return (sql, params), (totals_sql, conv_params)


def _paths_from_rows(rows: list[tuple], conv_count: float, conv_value: float) -> Paths:
    """The SQL's rows as flat NumPy arrays; the conversions no path holds (no touch in their
    lookback window) become the path `(no touch)`."""
    paths_text = [row[0] or "" for row in rows]
    converted = np.array([float(row[2] or 0) for row in rows], dtype=np.float64)
    value = np.array([float(row[3] or 0) for row in rows], dtype=np.float64)
    nulls = np.array([float(row[4] or 0) for row in rows], dtype=np.float64)
    missing_count = conv_count - float(converted.sum())
    missing_value = conv_value - float(value.sum())
    ages_text = [row[1] or "0" for row in rows]
    if missing_count > 0.5 or missing_value > 1e-6:
        paths_text.append(NO_TOUCH)
        ages_text.append("0")
        converted = np.append(converted, max(missing_count, 0.0))
        value = np.append(value, max(missing_value, 0.0))
        nulls = np.append(nulls, 0.0)
    tokens = SEPARATOR.join(paths_text).split(SEPARATOR) if paths_text else []
    keys = sorted(set(tokens))
    index = {key: i for i, key in enumerate(keys)}
    touches = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    lengths = np.fromiter(
        (text.count(SEPARATOR) + 1 for text in paths_text), dtype=np.int64, count=len(paths_text)
    )
    offsets = np.zeros(len(paths_text) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ages = (
        np.array(SEPARATOR.join(ages_text).split(SEPARATOR), dtype=np.float64) / 24.0
        if ages_text
        else np.zeros(0)
    )
    return Paths(
        keys=keys,
        offsets=offsets,
        touches=touches,
        ages=ages,
        converted=converted,
        value=value,
        nulls=nulls,
    )
