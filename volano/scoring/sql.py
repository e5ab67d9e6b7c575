"""The SQL of a score model: one SELECT of (contact_id, points, parts) over the contacts a rule
gives points to. Services write it to the scores table; the editor's preview counts it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Q, Value, When

from volano.conditions.compiler import compiler_for, condition_events, condition_q
from volano.conditions.types import ConditionError
from volano.contacts.models import Contact
from volano.core.db import db_now
from volano.core.models import Workspace
from volano.events.models import Event
from volano.scoring.rules import SCORE_RULES, ModelDefinition, Rule


def scores_select(
    workspace: Workspace,
    definition: ModelDefinition,
    ids: list[int] | None,
    now: dt.datetime,
    *,
    per_rule: bool = False,
) -> tuple[str, list]:
    """SELECT contact_id, points, parts for the contacts with any rule giving points.

    Over the whole workspace (`ids` None) the engagement rules read the events in one pass
    (`engagement_one_pass`); for some contacts, or with `per_rule`, each rule reads its own
    (`engagement_stacked`, by the contacts' index). Both give the same points."""
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
    parts = []
    engaging = [
        (index, rule) for index, rule in enumerate(definition.rules) if rule.kind == "engagement"
    ]
    for index, rule in enumerate(definition.rules):
        if rule.kind != "engagement":
            parts.append(f"f.r{index}")
        else:
            # kept to the hundredth of a point: a score does not churn with every second of decay
            parts.append(f"ROUND(COALESCE(g.e{index}, 0.0) * 100.0) / 100.0")
    total = " + ".join(parts)
    array = "jsonb_build_array" if connection.vendor == "postgresql" else "json_array"
    any_points = " OR ".join(f"{part} <> 0" for part in parts)
    engagement = ""
    if engaging:
        if ids is None and not per_rule:
            grouped, grouped_params = engagement_one_pass(workspace, engaging, now)
        else:
            grouped, grouped_params = engagement_stacked(workspace, engaging, ids, now)
        engagement = f"LEFT JOIN ({grouped}) g ON g.contact_id = f.cid"
        params += grouped_params
    # A materialised CTE: each rule's CASE runs once per contact (a flattened subquery would
    # repeat it in the total, the parts and the filter).
    select = (
        f"WITH f AS MATERIALIZED ({fit_sql}) "
        f"SELECT f.cid AS contact_id, {total} AS points, {array}({', '.join(parts)}) AS parts "
        f"FROM f {engagement} WHERE {any_points}"
    )
    return select, params


def engagement_stacked(
    workspace: Workspace,
    rules: list[tuple[int, Rule]],
    ids: list[int] | None,
    now: dt.datetime,
) -> tuple[str, list]:
    """contact_id, e<index> per engagement rule: one grouped query per rule, stacked (UNION
    ALL) and pivoted to one row per contact."""
    stacked, pivot, params = [], [], []
    for index, rule in rules:
        sql, rule_params = engagement_select(workspace, rule, ids, now)
        stacked.append(f"SELECT e.contact_id, {index} AS rule, e.pts FROM ({sql}) e")
        params += rule_params
        pivot.append(f"SUM(CASE WHEN s.rule = {index} THEN s.pts ELSE 0.0 END) AS e{index}")
    return (
        f"SELECT s.contact_id, {', '.join(pivot)} "
        f"FROM ({' UNION ALL '.join(stacked)}) s GROUP BY s.contact_id",
        params,
    )


def engagement_one_pass(
    workspace: Workspace, rules: list[tuple[int, Rule]], now: dt.datetime
) -> tuple[str, list]:
    """contact_id, e<index> per engagement rule, every contact's, reading the events once.

    One scan of the rules' event types labels each event with the rule it counts for (a CASE
    of the rules' own event tests, the compiler's); rules that share an event type need one
    scan each beyond the first ("slots": the n-th rule of every type). One window ranks each
    contact's events per rule (newest first, for `max_times`) and one GROUP BY sums every
    rule's decayed points into its column. Stacking a grouped query per rule read each type by
    its index, with a random heap read per event (events are stored in time order), and sorted
    and grouped each rule apart."""
    compiler = compiler_for(workspace, now)
    slots: list[list[tuple[int, Rule]]] = []
    for index, rule in rules:
        free = next((s for s in slots if all(r.event.type != rule.event.type for _i, r in s)), None)
        if free is None:
            free = []
            slots.append(free)
        free.append((index, rule))
    scans, params = [], []
    fence = " LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else " OFFSET 0"
    for slot in slots:
        label = Case(
            *(
                When(Q(type=rule.event.type) & compiler.event_test(rule.event), then=Value(index))
                for index, rule in slot
            ),
            default=None,
            output_field=IntegerField(),
        )
        rows = Event.objects.for_workspace(workspace).filter(
            contact_id__isnull=False, type__in=sorted({rule.event.type for _i, rule in slot})
        )
        starts = [compiler.window_start(rule.event) for _i, rule in slot]
        if all(start is not None for start in starts):
            rows = rows.filter(occurred_at__gte=min(s for s in starts if s is not None))
        sql, scan_params = (
            rows.annotate(cid=F("contact_id"), at=F("occurred_at"), eid=F("pk"), rule=label)
            .order_by()
            .values_list("cid", "at", "eid", "rule")
            .query.sql_with_params()
        )
        # the fence keeps the CASE computed once per event (not copied into the outer WHERE)
        scans.append(f"SELECT l.cid, l.at, l.eid, l.rule FROM ({sql}{fence}) l")
        params += scan_params
    matched = f"SELECT m.cid, m.at, m.eid, m.rule FROM ({' UNION ALL '.join(scans)}) m"
    matched += " WHERE m.rule IS NOT NULL"
    if any(rule.max_times is not None for _i, rule in rules):
        matched = (
            "SELECT k.cid, k.at, k.rule, ROW_NUMBER() OVER (PARTITION BY k.cid, k.rule "
            f"ORDER BY k.at DESC, k.eid DESC) AS rn FROM ({matched}) k"
        )
    columns, column_params = [], []
    for index, rule in rules:
        weight, weight_params = _weight_sql(rule, now)
        within = f" AND r.rn <= {int(rule.max_times)}" if rule.max_times is not None else ""
        columns.append(f"SUM(CASE WHEN r.rule = {index}{within} THEN {weight} END) AS e{index}")
        column_params += weight_params
    return (
        f"SELECT r.cid AS contact_id, {', '.join(columns)} FROM ({matched}) r GROUP BY r.cid",
        [*column_params, *params],
    )


def _weight_sql(rule: Rule, now: dt.datetime) -> tuple[str, list]:
    """One event's points for `rule` (decayed by its age at `now`), over r.at."""
    if rule.half_life_days is None:
        return "CAST(%s AS DOUBLE PRECISION)", [rule.points]
    # double precision throughout: PostgreSQL's numeric POWER is many times slower
    return (
        "CAST(%s AS DOUBLE PRECISION) * POWER(CAST(0.5 AS DOUBLE PRECISION), "
        f"{age_days_sql('r.at')} / CAST(%s AS DOUBLE PRECISION))",
        [rule.points, db_now(now), rule.half_life_days],
    )


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
    weight, weight_params = _weight_sql(rule, now)
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
