"""Writes for lead scoring: save a model, compute its scores set-based, react to new events.

A model's scores are computed by one SELECT over the workspace's contacts (or a few of them):
each fit or negative rule is a `CASE WHEN <condition> THEN points ELSE 0 END` column, each
engagement rule a LEFT JOIN to one grouped query over its events, where
`ROW_NUMBER() OVER (PARTITION BY contact ORDER BY occurred_at DESC)` keeps the newest
`max_times` and `POWER(0.5, age_days / half_life_days)` decays each. The rows land in a
temporary table; then three statements write the difference: `score_changed` timeline events
(where the rounded score moved), the upsert of the changed scores, and the removal of the
scores that fell to nothing. The same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from volano.core.errors import NotFound
from volano.core.models import User, Workspace
from volano.core.sqlcache import statement_cached
from volano.events.models import Channel, Event, EventType
from volano.events.services import system_events_insert_select
from volano.scoring.models import ModelKind, Score, ScoreModel
from volano.scoring.rules import ModelDefinition, model_definition_parse
from volano.scoring.sql import db_now, json_object_sql, scores_select
from volano.segments.resolver import Dependencies, condition_dependencies

MAX_IDS_PER_STATEMENT = 5_000
FEW = 50  # up to this many contacts, the compiled statement is reused (an event's contacts)
TEMP_TABLE = "volano_scores_new"
ANALYZE_AFTER = 10_000  # new scores written in one go, beyond which the table is re-analysed


@dataclass
class ComputeResult:
    scored: int = 0  # contacts with a score other than 0 after the run (of those computed)
    changed: int = 0  # contacts whose rounded score moved (a score_changed event each)
    changed_ids: list[int] = field(default_factory=list)  # filled for a run over given ids


# -- models -----------------------------------------------------------------------------------


def score_model_save(*, workspace: Workspace, actor: User | None, data: Any) -> ScoreModel:
    """Create or replace (by slug) a rules model; its scores are recomputed in the background."""
    definition = model_definition_parse(data, workspace=workspace)
    values = {
        "name": definition.name,
        "product_line": definition.product_line,
        "rules": data["rules"],
        "active": definition.active,
        "kind": ModelKind.RULES,
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        model, _created = ScoreModel.objects.for_workspace(workspace).update_or_create(
            workspace=workspace, slug=definition.slug, defaults=values
        )
        transaction.on_commit(functools.partial(_recompute_enqueue, workspace.pk, model.pk))
    return model


def _recompute_enqueue(workspace_id: int, model_id: int) -> None:
    from volano.scoring.tasks import score_model_recompute_task

    score_model_recompute_task.enqueue(workspace_id, model_id)


def score_model_delete(*, workspace: Workspace, actor: User | None, model: ScoreModel) -> None:
    if model.workspace_id != workspace.pk:
        raise NotFound("no such score model")
    model.delete()


@functools.lru_cache(maxsize=256)
def _definition_cached(
    workspace_id: int, model_id: int, updated_at: dt.datetime, rules: str
) -> ModelDefinition:
    workspace = Workspace.objects.get(pk=workspace_id)
    model = ScoreModel.objects.for_workspace(workspace).get(pk=model_id)
    return model_definition_parse(
        {"slug": model.slug, "name": model.name, "rules": json.loads(rules)}, workspace=workspace
    )


def model_definition(model: ScoreModel) -> ModelDefinition:
    """The parsed rules of a saved model (cached until the model changes)."""
    return _definition_cached(
        model.workspace_id, model.pk, model.updated_at, json.dumps(model.rules, sort_keys=True)
    )


def model_dependencies(model: ScoreModel) -> Dependencies:
    """What the model's rules read: event types and fields (the tokens of segments)."""
    deps = Dependencies()
    for rule in model_definition(model).rules:
        found = condition_dependencies(rule.condition)
        deps.events |= found.events
        deps.fields |= found.fields
        deps.lists |= found.lists
        deps.segments |= found.segments
    return deps


# -- computing --------------------------------------------------------------------------------


def scores_compute(
    *,
    workspace: Workspace,
    model: ScoreModel,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    stamped_at: dt.datetime | None = None,
) -> ComputeResult:
    """Compute `model`'s scores for every contact of the workspace, or for `contact_ids`, as of
    `now`; the score_changed events and the scores are stamped `stamped_at` (default `now`)."""
    now = now or timezone.now()
    stamped_at = stamped_at or now
    definition = model_definition(model)
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids is not None and len(ids) > MAX_IDS_PER_STATEMENT:
        total = ComputeResult()
        for start in range(0, len(ids), MAX_IDS_PER_STATEMENT):
            part = scores_compute(
                workspace=workspace,
                model=model,
                contact_ids=ids[start : start + MAX_IDS_PER_STATEMENT],
                now=now,
                stamped_at=stamped_at,
            )
            total.scored += part.scored
            total.changed += part.changed
            total.changed_ids += part.changed_ids
        return total
    if ids is not None and len(ids) <= FEW:
        return _compute_few(workspace, model, definition, ids, now, stamped_at)
    select_sql, params = scores_select(workspace, definition, ids, now)
    result = ComputeResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
        parts_type = "jsonb" if connection.vendor == "postgresql" else "text"
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TEMP_TABLE} (contact_id bigint PRIMARY KEY, "
            f"points double precision NOT NULL, parts {parts_type} NOT NULL)"
        )
        cursor.execute(f"INSERT INTO {TEMP_TABLE} (contact_id, points, parts) {select_sql}", params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TEMP_TABLE}")  # autovacuum never sees temporary tables
        changes_sql, changes_params = _changes_select(model, ids)
        if ids is not None:
            cursor.execute(f"SELECT contact_id FROM ({changes_sql}) c", changes_params)
            result.changed_ids = [row[0] for row in cursor.fetchall()]
        result.changed = system_events_insert_select(
            workspace=workspace,
            type=EventType.SCORE_CHANGED,
            at=stamped_at,
            select_sql=changes_sql,
            params=changes_params,
            properties_sql=json_object_sql(
                "model", "%s", "name", "%s", "from", "s.old_points", "to", "s.new_points"
            ),
            properties_params=[model.slug, model.name],
        )
        _scores_write(cursor, workspace, model, ids, stamped_at)
        cursor.execute(f"SELECT COUNT(*) FROM {TEMP_TABLE}")
        result.scored = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {TEMP_TABLE}")
        ScoreModel.objects.for_workspace(workspace).filter(pk=model.pk).update(computed_at=now)
    return result


def _compute_few(
    workspace: Workspace,
    model: ScoreModel,
    definition: ModelDefinition,
    ids: list[int],
    now: dt.datetime,
    stamped_at: dt.datetime,
) -> ComputeResult:
    """The same SELECT for a few contacts (after an event), compiled once per model and moment
    and kept (core/sqlcache.py); the difference is found in Python and written in bulk."""
    statement = statement_cached(
        ("scores", model.pk, model.updated_at, now),
        len(ids),
        lambda slots: scores_select(workspace, definition, slots, now),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(ids))
        new = {row[0]: (float(row[1]), _parts(row[2])) for row in cursor.fetchall()}
    old = {
        contact_id: (points, parts)
        for contact_id, points, parts in Score.objects.for_workspace(workspace)
        .filter(model=model, contact_id__in=ids)
        .values_list("contact_id", "points", "parts")
    }
    result = ComputeResult(scored=len(new))
    writes = [
        Score(
            workspace=workspace,
            model=model,
            contact_id=contact_id,
            points=points,
            parts=parts,
            updated_at=stamped_at,
        )
        for contact_id, (points, parts) in new.items()
        if old.get(contact_id) != (points, parts)
    ]
    gone = [contact_id for contact_id in old if contact_id not in new]
    moved = [
        (contact_id, round_half_away(old.get(contact_id, (0.0, []))[0]), round_half_away(points))
        for contact_id, (points, _parts_) in new.items()
    ] + [(contact_id, round_half_away(old[contact_id][0]), 0) for contact_id in gone]
    moved = [(contact_id, before, after) for contact_id, before, after in moved if before != after]
    with transaction.atomic():
        if writes:
            Score.objects.bulk_create(
                writes,
                update_conflicts=True,
                unique_fields=["model", "contact"],
                update_fields=["points", "parts", "updated_at"],
            )
        if gone:
            Score.objects.for_workspace(workspace).filter(model=model, contact_id__in=gone).delete()
        Event.objects.bulk_create(
            Event(
                workspace=workspace,
                contact_id=contact_id,
                type=EventType.SCORE_CHANGED,
                occurred_at=stamped_at,
                received_at=stamped_at,
                channel=Channel.SYSTEM,
                source="volano",
                properties={"model": model.slug, "name": model.name, "from": before, "to": after},
            )
            for contact_id, before, after in moved
        )
    result.changed = len(moved)
    result.changed_ids = sorted(contact_id for contact_id, _b, _a in moved)
    return result


def _parts(raw: Any) -> list:
    return json.loads(raw) if isinstance(raw, str | bytes) else list(raw)


def round_half_away(value: float) -> int:
    """Rounding as SQL's ROUND does it (half away from zero), for the score_changed events."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _changes_select(model: ScoreModel, ids: list[int] | None) -> tuple[str, list]:
    """contact_id, old_points, new_points for the contacts whose rounded score moves."""
    scores = Score._meta.db_table
    only, only_params = "", []
    if ids is not None:
        only = f" AND o.contact_id IN ({', '.join(['%s'] * len(ids))})"
        only_params = list(ids)
    sql = (
        f"SELECT n.contact_id, ROUND(COALESCE(o.points, 0)) AS old_points, "
        f"ROUND(n.points) AS new_points FROM {TEMP_TABLE} n LEFT JOIN {scores} o "
        f"ON o.model_id = %s AND o.contact_id = n.contact_id "
        f"WHERE ROUND(COALESCE(o.points, 0)) <> ROUND(n.points) "
        f"UNION ALL SELECT o.contact_id, ROUND(o.points) AS old_points, 0 AS new_points "
        f"FROM {scores} o WHERE o.model_id = %s{only} AND ROUND(o.points) <> 0 "
        f"AND NOT EXISTS (SELECT 1 FROM {TEMP_TABLE} n WHERE n.contact_id = o.contact_id)"
    )
    return sql, [model.pk, model.pk, *only_params]


def _scores_write(
    cursor: Any, workspace: Workspace, model: ScoreModel, ids: list[int] | None, now: dt.datetime
) -> None:
    scores = Score._meta.db_table
    # An UPDATE … FROM and an INSERT of the new ones: hash joins, where an upsert would probe
    # the unique index once per contact.
    cursor.execute(
        f"UPDATE {scores} SET points = n.points, parts = n.parts, updated_at = %s "
        f"FROM {TEMP_TABLE} n WHERE {scores}.model_id = %s "
        f"AND {scores}.contact_id = n.contact_id "
        f"AND ({scores}.points <> n.points OR {scores}.parts <> n.parts)",
        [db_now(now), model.pk],
    )
    cursor.execute(
        f"INSERT INTO {scores} (workspace_id, model_id, contact_id, points, parts, updated_at) "
        f"SELECT %s, %s, n.contact_id, n.points, n.parts, %s FROM {TEMP_TABLE} n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {scores} o "
        "WHERE o.model_id = %s AND o.contact_id = n.contact_id) ON CONFLICT DO NOTHING",
        [workspace.pk, model.pk, db_now(now), model.pk],
    )
    if cursor.rowcount > ANALYZE_AFTER and connection.vendor == "postgresql":
        # a new model's first scores: without fresh statistics the planner expects none and
        # the DELETE below becomes a nested loop over a million rows
        cursor.execute(f"ANALYZE {scores}")
    only, only_params = "", []
    if ids is not None:
        only = f" AND contact_id IN ({', '.join(['%s'] * len(ids))})"
        only_params = list(ids)
    cursor.execute(  # NOT EXISTS: an anti-join (NOT IN over a million rows is not hashed)
        f"DELETE FROM {scores} WHERE model_id = %s{only} AND NOT EXISTS "
        f"(SELECT 1 FROM {TEMP_TABLE} n WHERE n.contact_id = {scores}.contact_id)",
        [model.pk, *only_params],
    )


# -- what runs when ---------------------------------------------------------------------------


def _rules_models(workspace: Workspace) -> list[ScoreModel]:
    return list(
        ScoreModel.objects.for_workspace(workspace).filter(kind=ModelKind.RULES, active=True)
    )


def scores_recompute(
    *, workspace: Workspace, now: dt.datetime | None = None
) -> dict[str, ComputeResult]:
    """The full recompute: every active rules model over every contact, then the predictive
    model's probabilities (when it is trained), then the threshold rules over every contact."""
    from volano.lifecycle.services import thresholds_apply

    now = now or timezone.now()
    results = {
        model.slug: scores_compute(workspace=workspace, model=model, now=now)
        for model in _rules_models(workspace)
    }
    predictive = _predictive_scorer()
    if predictive is not None and (
        ScoreModel.objects.for_workspace(workspace)
        .filter(kind=ModelKind.PREDICTIVE, trained__isnull=False)
        .exists()
    ):
        results["predictive"] = ComputeResult(scored=predictive(workspace=workspace, now=now))
    thresholds_apply(workspace=workspace, now=now)
    if any(result.changed for result in results.values()):
        # Segments that read scores follow; many contacts moved, so a full refresh.
        transaction.on_commit(functools.partial(_segments_full_enqueue, workspace.pk))
    return results


def _segments_full_enqueue(workspace_id: int) -> None:
    from volano.segments.tasks import segments_refresh_all_task

    segments_refresh_all_task.enqueue(workspace_id)


def _predictive_scorer() -> Any:
    try:
        from volano.scoring.predictive import predictive_score
    except ImportError:
        return None
    return predictive_score


def scores_refresh_contacts(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int],
    changed: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, ComputeResult]:
    """After new events or changes for a few contacts: recompute the models that read what
    `changed` names (segment tokens: "event:webinar_attended", "field:province", None = all),
    then run the threshold rules for these contacts."""
    from volano.lifecycle.services import thresholds_apply
    from volano.segments.services import segments_refresh_later

    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    # Computed as of the current minute: the statements compiled for it are reused until the
    # next one. What the computation writes is stamped with the real moment, never earlier than
    # the events that caused it (they were committed before this task ran).
    stamped_at = now or timezone.now()
    now = now or stamped_at.replace(second=0, microsecond=0)
    tokens = {"*"} if changed is None else set(changed)
    results = {}
    for model in _rules_models(workspace):
        if model_dependencies(model).touched_by(tokens):
            results[model.slug] = scores_compute(
                workspace=workspace, model=model, contact_ids=ids, now=now, stamped_at=stamped_at
            )
    thresholds_apply(workspace=workspace, contact_ids=ids, now=now, stamped_at=stamped_at)
    moved = sorted({i for r in results.values() for i in r.changed_ids})
    if moved:
        segments_refresh_later(
            workspace=workspace,
            contact_ids=moved,
            changed=[f"field:score.{slug}" for slug, r in results.items() if r.changed],
        )
    return results


def scores_refresh_later(
    *, workspace: Workspace, contact_ids: Iterable[int], changed: Iterable[str] | None = None
) -> None:
    """After the current transaction commits, enqueue the incremental scoring of these contacts."""
    from volano.scoring.tasks import scores_refresh_contacts_task

    ids = sorted(set(contact_ids))
    if not ids:
        return
    tokens = None if changed is None else sorted(set(changed))
    transaction.on_commit(
        functools.partial(scores_refresh_contacts_task.enqueue, workspace.pk, ids, tokens)
    )


TRACKING_SOURCES = ("tracking",)


def scores_refresh_recent(
    *, after_event_id: int | None, limit: int = 50_000
) -> tuple[int, dict[int, int]]:
    """The sweeper's pass for events stored without a task of their own: the website's page
    views (one INSERT per hit, nothing enqueued). Events from the API, forms, orders and
    services enqueue their scoring when they commit. Returns the new cursor and
    {workspace_id: contacts scored}."""
    from volano.events.selectors import contacts_with_new_events

    last, by_workspace = contacts_with_new_events(
        after_event_id=after_event_id, limit=limit, sources=TRACKING_SOURCES
    )
    done = {}
    for workspace_id, (ids, types) in by_workspace.items():
        workspace = Workspace.objects.get(pk=workspace_id)
        scores_refresh_contacts(workspace=workspace, contact_ids=ids, changed=types)
        done[workspace_id] = len(ids)
    return last, done
