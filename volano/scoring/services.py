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

import contextlib
import datetime as dt
import functools
import json
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DataError, connection, transaction
from django.utils import timezone

from volano.conditions.types import ConditionError
from volano.core.activity import activity_record
from volano.core.db import db_now, json_object_sql
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.facts import ScoresChanged
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.core.sqlcache import statement_cached_at
from volano.core.tenancy import ensure_in_workspace
from volano.events.models import Channel, Event, EventType
from volano.events.services import system_events_insert_select
from volano.scoring.models import ModelKind, Score, ScoreModel
from volano.scoring.rules import ModelDefinition, model_definition_parse
from volano.scoring.sql import scores_select
from volano.segments.resolver import Dependencies, condition_dependencies

logger = logging.getLogger(__name__)

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
        "report": {},  # a reason Volano switched the model off goes with the fix
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        model, _created = ScoreModel.objects.for_workspace(workspace).update_or_create(
            workspace=workspace, slug=definition.slug, defaults=values
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="score_model.save",
            obj=model,
            changes={"slug": model.slug, "rules": len(data["rules"]), "active": model.active},
        )
        transaction.on_commit(functools.partial(_recompute_enqueue, workspace.pk, model.pk))
    return model


def _recompute_enqueue(workspace_id: int, model_id: int) -> None:
    from volano.scoring.tasks import score_model_recompute_task

    score_model_recompute_task.enqueue(workspace_id, model_id)


def score_model_delete(*, workspace: Workspace, actor: User | None, model: ScoreModel) -> None:
    if model.workspace_id != workspace.pk:
        raise NotFound("no such score model")
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="score_model.delete",
            obj=model,
            changes={"slug": [model.slug, None]},
        )
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
    deps.events.add(ADJUSTED)  # points given by scores_adjust count in every rules model
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
    ensure_in_workspace(model, workspace)
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
    # A model's first computation reads no old scores at all: no join or anti-join to the
    # scores table, whose statistics (a new install's: empty) could turn one into a nested
    # loop over a million rows per contact.
    first = not Score.objects.for_workspace(workspace).filter(model=model).exists()
    if ids is None and connection.vendor == "postgresql" and not first:
        with transaction.atomic(), connection.cursor() as cursor:
            _statistics_refresh(cursor, Score._meta.db_table)
            result = _recompute_postgresql(cursor, workspace, model, select_sql, params, stamped_at)
            ScoreModel.objects.for_workspace(workspace).filter(pk=model.pk).update(computed_at=now)
        return result
    with transaction.atomic(), connection.cursor() as cursor:
        if ids is None and connection.vendor == "postgresql":
            cursor.execute(WORK_MEM)  # the rules' window sorts and the pivot's hash in memory
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
        parts_type = "jsonb" if connection.vendor == "postgresql" else "text"
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TEMP_TABLE} (contact_id bigint PRIMARY KEY, "
            f"points double precision NOT NULL, parts {parts_type} NOT NULL)"
        )
        cursor.execute(f"INSERT INTO {TEMP_TABLE} (contact_id, points, parts) {select_sql}", params)
        if connection.vendor == "postgresql" and not first:
            # autovacuum never sees temporary tables; the first computation joins nothing to it
            cursor.execute(f"ANALYZE {TEMP_TABLE}")
            if ids is None:
                _statistics_refresh(cursor, Score._meta.db_table)
        changes_sql, changes_params = _changes_select(model, ids, first=first)
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
        _scores_write(cursor, workspace, model, ids, stamped_at, first=first)
        cursor.execute(f"SELECT COUNT(*) FROM {TEMP_TABLE}")
        result.scored = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {TEMP_TABLE}")
        ScoreModel.objects.for_workspace(workspace).filter(pk=model.pk).update(computed_at=now)
    return result


DIFF_TABLE = "volano_scores_diff"
# A full computation's memory for its sorts and hashes (PostgreSQL, this transaction only): the
# rules' windows over a million events and the hash of a million scores, off the disk.
WORK_MEM = "SET LOCAL work_mem = '128MB'"


def _recompute_postgresql(
    cursor: Any,
    workspace: Workspace,
    model: ScoreModel,
    select_sql: str,
    params: list,
    stamped_at: dt.datetime,
) -> ComputeResult:
    """A full recompute of a model that has scores, on PostgreSQL: one FULL JOIN of the model's
    SELECT with its current scores keeps only what differs (usually few rows; no temporary
    table of every score), and the score_changed events, the updates, the new scores and the
    removals are written from that. Four joins of a million rows each cost several seconds
    more at 1M contacts (docs/benchmarks.md, issue 13)."""
    scores = Score._meta.db_table
    cursor.execute(WORK_MEM)  # the hash of a million scores in memory
    cursor.execute(f"DROP TABLE IF EXISTS {DIFF_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {DIFF_TABLE} AS SELECT "
        "COALESCE(n.contact_id, o.contact_id) AS contact_id, o.id AS score_id, "
        "o.points AS old_points, n.points AS new_points, n.parts AS parts "
        f"FROM ({select_sql}) n FULL JOIN (SELECT id, contact_id, points, parts FROM {scores} "
        "WHERE model_id = %s) o ON o.contact_id = n.contact_id "
        "WHERE o.id IS NULL OR n.contact_id IS NULL "
        "OR o.points <> n.points OR o.parts <> n.parts",
        [*params, model.pk],
    )
    cursor.execute(f"ANALYZE {DIFF_TABLE}")
    result = ComputeResult()
    result.changed = system_events_insert_select(
        workspace=workspace,
        type=EventType.SCORE_CHANGED,
        at=stamped_at,
        select_sql=(
            "SELECT contact_id, ROUND(COALESCE(old_points, 0)) AS old_points, "
            f"ROUND(COALESCE(new_points, 0)) AS new_points FROM {DIFF_TABLE} "
            "WHERE ROUND(COALESCE(old_points, 0)) <> ROUND(COALESCE(new_points, 0))"
        ),
        params=[],
        properties_sql=json_object_sql(
            "model", "%s", "name", "%s", "from", "s.old_points", "to", "s.new_points"
        ),
        properties_params=[model.slug, model.name],
    )
    at = db_now(stamped_at)
    cursor.execute(
        f"UPDATE {scores} SET points = d.new_points, parts = d.parts, updated_at = %s "
        f"FROM {DIFF_TABLE} d WHERE {scores}.id = d.score_id AND d.new_points IS NOT NULL",
        [at],
    )
    cursor.execute(
        f"INSERT INTO {scores} (workspace_id, model_id, contact_id, points, parts, updated_at) "
        f"SELECT %s, %s, d.contact_id, d.new_points, d.parts, %s FROM {DIFF_TABLE} d "
        "WHERE d.score_id IS NULL ON CONFLICT DO NOTHING",
        [workspace.pk, model.pk, at],
    )
    cursor.execute(
        f"DELETE FROM {scores} WHERE id IN "
        f"(SELECT score_id FROM {DIFF_TABLE} WHERE new_points IS NULL)"
    )
    cursor.execute(f"SELECT COUNT(*) FROM {scores} WHERE model_id = %s", [model.pk])
    result.scored = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {DIFF_TABLE}")
    return result


def _compute_few(
    workspace: Workspace,
    model: ScoreModel,
    definition: ModelDefinition,
    ids: list[int],
    now: dt.datetime,
    stamped_at: dt.datetime,
) -> ComputeResult:
    """The same SELECT for a few contacts (after an event), compiled once per model version and
    kept across moments, bound to the ids and `now` (core/sqlcache.py); the difference is found
    in Python and written in bulk."""
    statement = statement_cached_at(
        ("scores", model.pk, model.updated_at),
        len(ids),
        now,
        lambda slots, at: scores_select(workspace, definition, slots, at),
        time_zone=workspace.time_zone,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(ids, now))
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


def _statistics_refresh(cursor: Any, table: str) -> None:
    """ANALYZE `table` (PostgreSQL) when its statistics are missing or stale: more than a tenth
    of its rows written since the last ANALYZE, which autovacuum may not have reached yet."""
    cursor.execute(
        "SELECT c.reltuples, COALESCE(s.n_mod_since_analyze, 0) FROM pg_class c "
        "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = %s::regclass",
        [table],
    )
    row = cursor.fetchone()
    if row is None:
        return
    reltuples, modified = row
    if reltuples < 0 or modified > max(reltuples, 1_000) * 0.1:
        cursor.execute(f"ANALYZE {table}")


def _changes_select(
    model: ScoreModel, ids: list[int] | None, *, first: bool = False
) -> tuple[str, list]:
    """contact_id, old_points, new_points for the contacts whose rounded score moves; `first`:
    the model has no scores yet (every old score is 0)."""
    scores = Score._meta.db_table
    if first:
        return (
            f"SELECT n.contact_id, 0 AS old_points, ROUND(n.points) AS new_points "
            f"FROM {TEMP_TABLE} n WHERE ROUND(n.points) <> 0",
            [],
        )
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
    cursor: Any,
    workspace: Workspace,
    model: ScoreModel,
    ids: list[int] | None,
    now: dt.datetime,
    *,
    first: bool = False,
) -> None:
    scores = Score._meta.db_table
    if first:
        # nothing to update or remove: a plain INSERT (ON CONFLICT for a computation of the
        # same model racing this one; "WHERE true" lets SQLite parse the upsert clause)
        cursor.execute(
            f"INSERT INTO {scores} (workspace_id, model_id, contact_id, points, parts, "
            f"updated_at) SELECT %s, %s, n.contact_id, n.points, n.parts, %s "
            f"FROM {TEMP_TABLE} n WHERE true ON CONFLICT DO NOTHING",
            [workspace.pk, model.pk, db_now(now)],
        )
        if cursor.rowcount > ANALYZE_AFTER and connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {scores}")  # the next computation reads them
        return
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
    model's probabilities (when it is trained). The stage rules follow (ScoresChanged)."""
    now = now or timezone.now()
    results = {}
    for model in _rules_models(workspace):
        with model_guard(workspace, model, now):
            results[model.slug] = scores_compute(workspace=workspace, model=model, now=now)
    predictive = _predictive_scorer()
    if predictive is not None and (
        ScoreModel.objects.for_workspace(workspace)
        .filter(kind=ModelKind.PREDICTIVE, trained__isnull=False)
        .exists()
    ):
        results["predictive"] = ComputeResult(scored=predictive(workspace=workspace, now=now))
    _scores_announce(workspace, results, contact_ids=None, now=now)
    return results


def score_model_recompute(*, workspace: Workspace, model: ScoreModel) -> ComputeResult:
    """One model over every contact (after it was saved); the stage rules follow."""
    ensure_in_workspace(model, workspace)
    now = timezone.now()
    result = ComputeResult()
    with model_guard(workspace, model, now):
        result = scores_compute(workspace=workspace, model=model, now=now)
    _scores_announce(workspace, {model.slug: result}, contact_ids=None, now=now)
    return result


@contextlib.contextmanager
def model_guard(workspace: Workspace, model: ScoreModel, now: dt.datetime) -> Iterator[None]:
    """Run one model's computation in a savepoint; a model whose rules cannot run any more (a
    row written past the service, a custom field it names deleted) is switched off with the
    reason in its report, and the other models and the threshold rules go on."""
    try:
        with transaction.atomic():
            yield
    except (ValidationFailed, ConditionError, DataError) as error:
        if isinstance(error, ValidationFailed):
            reason = "; ".join(f"{e['field']}: {e['message']}" for e in error.errors)
        elif isinstance(error, ConditionError):
            reason = str(error)
        else:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "DataError"
        logger.warning(
            "score model %s of workspace %s disabled: %s", model.pk, workspace.pk, reason
        )
        ScoreModel.objects.for_workspace(workspace).filter(pk=model.pk).update(
            active=False,
            report={
                **(model.report or {}),
                "disabled_reason": reason[:500],
                "disabled_at": now.isoformat(),
            },
        )


def _scores_announce(
    workspace: Workspace,
    results: dict[str, ComputeResult],
    *,
    contact_ids: Iterable[int] | None,
    now: dt.datetime,
    stamped_at: dt.datetime | None = None,
) -> None:
    """Say which scores were computed and which moved. Over given contacts the moved ones are
    known; over every contact they are not collected (possibly many: "any")."""
    moved_models = {slug for slug, result in results.items() if result.changed}
    if contact_ids is None:
        changed: frozenset[int] | None = None if moved_models else frozenset()
    else:
        changed = frozenset(i for result in results.values() for i in result.changed_ids)
    announce(
        ScoresChanged(
            workspace_id=workspace.pk,
            contact_ids=None if contact_ids is None else frozenset(contact_ids),
            changed_ids=changed,
            models=moved_models,
            as_of=now.isoformat(),
            stamped_at=stamped_at.isoformat() if stamped_at else "",
        )
    )


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
    `changed` names (segment tokens: "event:webinar_attended", "field:province", None = all).
    The stage rules follow for these contacts (ScoresChanged)."""
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
        with model_guard(workspace, model, now):
            if model_dependencies(model).touched_by(tokens):
                results[model.slug] = scores_compute(
                    workspace=workspace,
                    model=model,
                    contact_ids=ids,
                    now=now,
                    stamped_at=stamped_at,
                )
    _scores_announce(workspace, results, contact_ids=ids, now=now, stamped_at=stamped_at)
    return results


ADJUSTED = "score_adjusted"


def scores_adjust(
    *,
    workspace: Workspace,
    model_slug: str,
    contacts: Any,
    points: float,
    source: str,
    now: dt.datetime | None = None,
) -> int:
    """Give `points` (negative: take them) on a rules model to the contacts of a queryset: one
    `score_adjusted` event each (one INSERT … SELECT; the timeline shows it), then the model is
    recomputed for them, so the adjustment stays in every later computation (sql.py adds the
    events' points to the rules' total). Returns how many contacts were adjusted."""
    model = (
        ScoreModel.objects.for_workspace(workspace)
        .filter(slug=model_slug, kind=ModelKind.RULES)
        .first()
    )
    if model is None:
        from django.utils.translation import gettext as _

        raise ApplicationError(
            _("no rules score model %(slug)s in this workspace") % {"slug": repr(model_slug)},
            field="model",
        )
    now = now or timezone.now()
    ids = sorted(set(contacts.values_list("pk", flat=True)))
    if not ids:
        return 0
    from django.db.models import F

    from volano.contacts.models import Contact

    select_sql, params = (  # an aliased column: SQLite names a derived table's columns by it
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=ids)
        .annotate(cid=F("pk"))
        .values_list("cid")
        .query.sql_with_params()
    )
    with transaction.atomic():
        written = system_events_insert_select(
            workspace=workspace,
            type=ADJUSTED,
            at=now,
            select_sql=f"SELECT c.cid AS contact_id FROM ({select_sql}) c",
            params=params,
            properties={"model": model.slug, "name": model.name, "points": points,
                        "source": source[:80]},
        )  # fmt: skip
        if model.active:
            results = {
                model.slug: scores_compute(
                    workspace=workspace, model=model, contact_ids=ids, now=now
                )
            }
            _scores_announce(workspace, results, contact_ids=ids, now=now, stamped_at=now)
    return written


# -- training the predictive model ------------------------------------------------------------


def predictive_train_later(*, workspace: Workspace, actor: User | None) -> str:
    """Queue the predictive model's training (the bulk queue: it takes seconds to minutes) and
    return the job's id, for `training_status`."""
    from volano.scoring.tasks import predictive_train_task

    return str(predictive_train_task.enqueue(workspace.pk).id)


def predictive_train_and_score(*, workspace: Workspace) -> dict:
    """Train, then score the open leads: {"report": the evaluation} or {"refused": why} (too
    little history), the same whether the CLI, the API or the UI asked."""
    from volano.scoring.predictive import predictive_score, predictive_train

    try:
        report = predictive_train(workspace=workspace)
    except ApplicationError as refusal:
        return {"refused": str(refusal.message)}
    predictive_score(workspace=workspace)
    return {"report": report}
