"""The SQL of a score model: one SELECT of (contact_id, points, parts) over the contacts a rule
gives points to. Services write it to the scores table; the editor's preview counts it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Case, F, FloatField, Q, Value, When

from volano.conditions.compiler import condition_events, condition_q
from volano.conditions.types import ConditionError
from volano.contacts.models import Contact
from volano.core.db import db_now
from volano.core.models import Workspace
from volano.scoring.rules import SCORE_RULES, ModelDefinition, Rule


def scores_select(
    workspace: Workspace, definition: ModelDefinition, ids: list[int] | None, now: dt.datetime
) -> tuple[str, list]:
    """SELECT contact_id, points, parts for the contacts with any rule giving points."""
    contacts = Contact.objects.for_workspace(workspace)
    if ids is not None:
        contacts = contacts.filter(pk__in=ids)
    fit_columns: dict[str, Any] = {}
    for index, rule in enumerate(definition.rules):
        if rule.kind != "engagement":
            try:
                holds = condition_q(
                    workspace=workspace,
                    condition=rule.condition,
                    now=now,
                    resolver=SCORE_RULES,
                    few=ids is not None and connection.vendor == "sqlite",
                )
            except ConditionError as error:  # name the rule, as when the model is saved
                where = (error.field or "conditions").replace(
                    "conditions", f"rules[{index}].when", 1
                )
                raise ConditionError(error.message, field=where) from None
            if ids is not None and connection.vendor != "sqlite":
                # For a few contacts, the rule's own subqueries (consents, companies…) are
                # joined to just them, not hashed whole for a CASE in the select list
                # (SQLite probes the correlated EXISTS of `few` per contact instead).
                holds = Q(pk__in=contacts.filter(holds).values("pk"))
            fit_columns[f"r{index}"] = Case(
                When(holds, then=Value(rule.points)),
                default=Value(0.0),
                output_field=FloatField(),
            )
    fit_sql, fit_params = (  # aliased columns: SQLite names a derived table's columns by them
        contacts.annotate(cid=F("pk"), **fit_columns)
        .values_list("cid", *fit_columns)
        .query.sql_with_params()
    )
    # Engagement rules: one grouped query each, stacked (UNION ALL) and pivoted to one row per
    # contact, so the contacts meet them in a single join.
    params = [*fit_params]
    stacked, pivot, parts = [], [], []
    for index, rule in enumerate(definition.rules):
        if rule.kind != "engagement":
            parts.append(f"f.r{index}")
            continue
        sql, rule_params = engagement_select(workspace, rule, ids, now)
        stacked.append(f"SELECT e.contact_id, {index} AS rule, e.pts FROM ({sql}) e")
        params += rule_params
        pivot.append(f"SUM(CASE WHEN s.rule = {index} THEN s.pts ELSE 0.0 END) AS e{index}")
        # kept to the hundredth of a point: a score does not churn with every second of decay
        parts.append(f"ROUND(COALESCE(g.e{index}, 0.0) * 100.0) / 100.0")
    # Points given by hand or by a workflow step (`score_adjusted` events, services.
    # scores_adjust) add to the rules' total, without decay; not a part of any rule.
    adjusted_sql, adjusted_params = adjustments_select(workspace, definition.slug, ids)
    params += adjusted_params
    total = " + ".join([*parts, "COALESCE(a.pts, 0.0)"])
    array = "jsonb_build_array" if connection.vendor == "postgresql" else "json_array"
    any_points = " OR ".join(f"{part} <> 0" for part in [*parts, "COALESCE(a.pts, 0.0)"])
    engagement = ""
    if stacked:
        engagement = (
            f"LEFT JOIN (SELECT s.contact_id, {', '.join(pivot)} "
            f"FROM ({' UNION ALL '.join(stacked)}) s GROUP BY s.contact_id) g "
            "ON g.contact_id = f.cid"
        )
    engagement += f" LEFT JOIN ({adjusted_sql}) a ON a.contact_id = f.cid"
    # A materialised CTE: each rule's CASE runs once per contact (a flattened subquery would
    # repeat it in the total, the parts and the filter).
    select = (
        f"WITH f AS MATERIALIZED ({fit_sql}) "
        f"SELECT f.cid AS contact_id, {total} AS points, {array}({', '.join(parts)}) AS parts "
        f"FROM f {engagement} WHERE {any_points}"
    )
    return select, params


def adjustments_select(workspace: Workspace, slug: str, ids: list[int] | None) -> tuple[str, list]:
    """contact_id, pts: the sum of the `score_adjusted` events' points for the model."""
    from django.db.models import Sum
    from django.db.models.functions import Cast

    from volano.conditions.compiler import json_property
    from volano.events.models import Event

    events = Event.objects.for_workspace(workspace).filter(
        type="score_adjusted", properties__model=slug
    )
    if ids is not None:
        events = events.filter(contact_id__in=ids)
    sql, params = (
        events.order_by()
        .values("contact_id")
        .annotate(pts=Sum(Cast(json_property("points", "number"), FloatField())))
        .values_list("contact_id", "pts")
        .query.sql_with_params()
    )
    return sql, list(params)


def engagement_select(
    workspace: Workspace, rule: Rule, ids: list[int] | None, now: dt.datetime
) -> tuple[str, list]:
    """contact_id, pts: the rule's points over each contact's newest matching events."""
    events = condition_events(workspace=workspace, condition=rule.event, now=now)
    if ids is not None:
        events = events.filter(contact_id__in=ids)
    events_sql, events_params = (
        events.annotate(cid=F("contact_id"), at=F("occurred_at"), eid=F("pk"))
        .values_list("cid", "at", "eid")
        .query.sql_with_params()
    )
    params = list(events_params)
    weight, weight_params = "CAST(%s AS DOUBLE PRECISION)", [rule.points]
    if rule.half_life_days is not None:
        # double precision throughout: PostgreSQL's numeric POWER is many times slower
        weight = (
            "CAST(%s AS DOUBLE PRECISION) * POWER(CAST(0.5 AS DOUBLE PRECISION), "
            f"{age_days_sql('r.at')} / CAST(%s AS DOUBLE PRECISION))"
        )
        weight_params = [rule.points, db_now(now), rule.half_life_days]
    if rule.max_times is None:
        return (
            f"SELECT r.cid AS contact_id, SUM({weight}) AS pts FROM ({events_sql}) r "
            "GROUP BY r.cid",
            [*weight_params, *params],
        )
    ranked = (
        "SELECT ev.cid, ev.at, ROW_NUMBER() OVER (PARTITION BY ev.cid "
        f"ORDER BY ev.at DESC, ev.eid DESC) AS rn FROM ({events_sql}) ev"
    )
    return (
        f"SELECT r.cid AS contact_id, SUM({weight}) AS pts FROM ({ranked}) r "
        "WHERE r.rn <= %s GROUP BY r.cid",
        [*weight_params, *params, rule.max_times],
    )


def age_days_sql(column: str) -> str:
    """Days between a %s parameter (now) and `column`, never below 0 (future events count now)."""
    if connection.vendor == "postgresql":
        return f"GREATEST(CAST(EXTRACT(EPOCH FROM (%s - {column})) AS DOUBLE PRECISION) / 86400.0, 0.0)"
    return f"MAX(julianday(%s) - julianday({column}), 0)"
