"""Reads: score models, a contact's scores and the explanation a rep can read."""

from __future__ import annotations

import datetime as dt
import functools

from django.db.models import F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.conditions.compiler import condition_events
from volano.conditions.describe import condition_describe
from volano.conditions.selectors import condition_names
from volano.contacts.models import Contact
from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.scoring.models import PREDICTIVE_SLUG, ModelKind, Score, ScoreModel


def score_model_slugs(*, workspace: Workspace) -> set[str]:
    return set(ScoreModel.objects.for_workspace(workspace).values_list("slug", flat=True))


def score_models(*, workspace: Workspace, active_only: bool = False):
    models = ScoreModel.objects.for_workspace(workspace).order_by("kind", "name")
    return models.filter(active=True) if active_only else models


def contact_scores(*, workspace: Workspace | int, contact: Contact) -> dict[str, float]:
    """{model slug: points} for every active model (0 when the contact has no row), in one
    query; the predictive model's value is a probability between 0 and 1."""
    points = Score.objects.for_workspace(workspace).filter(model=OuterRef("pk"), contact=contact)
    rows = (
        ScoreModel.objects.for_workspace(workspace)
        .filter(active=True)
        .annotate(points=Subquery(points.values("points")[:1]))
        .order_by("slug")
        .values_list("slug", "points")
    )
    return {slug: _rounded(slug, value or 0.0) for slug, value in rows}


def _rounded(slug: str, points: float) -> float:
    return round(points, 4) if slug == PREDICTIVE_SLUG else round(points, 2)


def scores_by_contact(
    *, workspace: Workspace, contact_ids: list[int]
) -> dict[int, dict[str, float]]:
    """The same for a page of contacts, in one query."""
    slugs = list(score_models(workspace=workspace, active_only=True).values_list("slug", flat=True))
    result = {pk: dict.fromkeys(slugs, 0.0) for pk in contact_ids}
    rows = (
        Score.objects.for_workspace(workspace)
        .filter(contact_id__in=contact_ids, model__active=True)
        .values_list("contact_id", "model__slug", "points")
    )
    for contact_id, slug, points in rows:
        result[contact_id][slug] = _rounded(slug, points)
    return result


def score_explanations(
    *, workspace: Workspace, contact: Contact, language: str = "it", now: dt.datetime | None = None
) -> list[dict]:
    """Each active model's score of `contact`, with what gave the points.

    [{"model": slug, "name", "kind", "points", "rules": [{"label", "kind", "points",
    "events": [{"type", "occurred_at", "points"}]}]}]. Rule points come from the stored
    score (what the last computation found); an engagement rule lists the events it counts
    and what each is worth now.
    """
    from volano.scoring.services import model_definition

    now = now or timezone.now()
    stored = {
        score.model_id: score
        for score in Score.objects.for_workspace(workspace).filter(contact=contact)
    }
    result = []
    names = functools.cache(lambda: condition_names(workspace=workspace))
    for model in score_models(workspace=workspace, active_only=True):
        score = stored.get(model.pk)
        if model.kind == ModelKind.PREDICTIVE:
            result.append(_predictive_explanation(workspace, model, contact, score, language))
            continue
        parts = list(score.parts) if score else []
        rules = []
        for index, rule in enumerate(model_definition(model).rules):
            points = float(parts[index]) if index < len(parts) else 0.0
            if not points:
                continue
            item = {
                "label": rule.label or condition_describe(rule.condition, language, names()),
                "kind": rule.kind,
                "points": round(points, 2),
                "events": [],
            }
            if rule.kind == "engagement":
                events = (
                    condition_events(workspace=workspace, condition=rule.event, now=now)
                    .filter(contact=contact)
                    .order_by("-occurred_at", "-pk")
                    .values_list("type", "occurred_at")
                )
                if rule.max_times is not None:
                    events = events[: rule.max_times]
                counted: list[dict] = item["events"]  # type: ignore[assignment]
                for event_type, at in events:
                    worth = rule.points
                    if rule.half_life_days is not None:
                        age = max((now - at).total_seconds() / 86400, 0)
                        worth *= 0.5 ** (age / rule.half_life_days)
                    counted.append(
                        {"type": event_type, "occurred_at": at, "points": round(worth, 2)}
                    )
            rules.append(item)
        # points given by workflows or by hand (score_adjusted events) are no rule's part
        adjusted = (score.points - sum(float(p) for p in parts)) if score else 0.0
        if abs(adjusted) >= 0.005:
            rules.append(
                {
                    "label": _("Points given by workflows"),
                    "kind": "adjustment",
                    "points": round(adjusted, 2),
                    "events": [],
                }
            )
        result.append(
            {
                "model": model.slug,
                "name": model.name,
                "kind": model.kind,
                "points": round(score.points, 2) if score else 0.0,
                "rules": rules,
            }
        )
    return result


def _predictive_explanation(workspace, model, contact, score, language) -> dict:
    reasons = []
    if score is not None:
        from volano.scoring.predictive import predictive_reasons

        reasons = [
            {
                "label": r.get("label", r.get("feature", "")),
                "kind": "reason",
                "points": round(float(r.get("effect", 0)), 3),
                "events": [],
            }
            for r in predictive_reasons(workspace=workspace, contact=contact, language=language)
        ]
    return {
        "model": model.slug,
        "name": model.name,
        "kind": model.kind,
        "points": round(score.points, 4) if score else 0.0,
        "rules": reasons,
    }


# The spread of scores the editor shows: (label, low, high), low inclusive, high exclusive.
PREVIEW_BUCKETS: tuple[tuple[str, float | None, float | None], ...] = (
    ("< 0", None, 0),
    ("0–20", 0, 20),
    ("20–40", 20, 40),
    ("40–60", 40, 60),
    ("60–80", 60, 80),
    ("80–100", 80, 100),
    ("≥ 100", 100, None),
)


def score_model_preview(
    *,
    workspace: Workspace,
    data: dict,
    threshold: float | None = None,
    from_stages: tuple[str, ...] = ("lead", "recycled"),
    now: dt.datetime | None = None,
) -> dict:
    """What a model (saved or not) gives today, without writing anything: how many contacts
    score anything, how many reach `threshold`, how many of those are in `from_stages` (so a
    "score ≥ threshold → MQL" rule would move them now), and the spread of scores."""
    from django.db import connection

    from volano.scoring.rules import model_definition_parse
    from volano.scoring.sql import scores_select

    definition = model_definition_parse(data, workspace=workspace)
    select_sql, params = scores_select(workspace, definition, None, now or timezone.now())
    columns, bucket_params = [], []
    for _label, low, high in PREVIEW_BUCKETS:
        tests = []
        if low is not None:
            tests.append("s.points >= %s")
            bucket_params.append(low)
        if high is not None:
            tests.append("s.points < %s")
            bucket_params.append(high)
        columns.append(f"SUM(CASE WHEN {' AND '.join(tests)} THEN 1 ELSE 0 END)")
    stages = ", ".join(["%s"] * len(from_stages))
    sql = (
        "SELECT COUNT(*), SUM(CASE WHEN s.points >= %s THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN s.points >= %s AND c.lifecycle_stage IN ({stages}) THEN 1 ELSE 0 END), "
        f"{', '.join(columns)} FROM ({select_sql}) s "
        f"JOIN {Contact._meta.db_table} c ON c.id = s.contact_id"
    )
    limit = threshold if threshold is not None else float("inf")
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit, limit, *from_stages, *bucket_params, *params])
        row = cursor.fetchone()
    scored, reached, would_move, *spread = (int(value or 0) for value in row)
    return {
        "scored": scored,
        "threshold": threshold,
        "at_or_above": reached if threshold is not None else None,
        "would_move": would_move if threshold is not None else None,
        "from_stages": list(from_stages),
        "spread": {label: n for (label, _l, _h), n in zip(PREVIEW_BUCKETS, spread, strict=True)},
    }


def score_model_get(*, workspace: Workspace, slug: str) -> ScoreModel:
    model = ScoreModel.objects.for_workspace(workspace).filter(slug=slug).first()
    if model is None:
        raise NotFound(f"no score model {slug!r}")
    return model


TRAINING_STATUS = {
    TaskResultStatus.READY: "queued",
    TaskResultStatus.RUNNING: "running",
    TaskResultStatus.SUCCESSFUL: "done",
    TaskResultStatus.FAILED: "failed",
}


def training_status(*, workspace: Workspace, job_id: str) -> dict:
    """Where a training job is: queued, running, done (with `result`, the evaluation) or failed
    (with `reason`). A job of another workspace, or no job, is NotFound."""
    from volano.scoring.tasks import predictive_train_task

    try:
        job = predictive_train_task.get_result(job_id)
    except (TaskResultDoesNotExist, TaskResultMismatch, ValueError):
        raise NotFound(_("no such training job"), field="job") from None
    if not job.args or job.args[0] != workspace.pk:
        raise NotFound(_("no such training job"), field="job")
    status = TRAINING_STATUS[job.status]
    found: dict = {
        "job": job.id,
        "status": status,
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "result": None,
        "reason": "",
    }
    if status == "failed":
        found["reason"] = _(
            "the training stopped with an error (%(error)s): see the worker's log"
        ) % {"error": job.errors[-1].exception_class_path.rsplit(".", 1)[-1] if job.errors else "?"}
    elif status == "done":
        outcome = job.return_value or {}
        if "refused" in outcome:
            found.update(status="failed", reason=outcome["refused"])
        else:
            found["result"] = outcome.get("report")
    return found


def contacts_scored(
    *,
    workspace: Workspace,
    contacts: QuerySet[Contact],
    model: ScoreModel,
    at_least: float | None = None,
    at_most: float | None = None,
) -> QuerySet[Contact]:
    """`contacts` with their points in `model` as `score` (0 without a row), kept to the range
    given: one LEFT JOIN on the (model, contact) unique index, no query per contact."""
    if model.workspace_id != workspace.pk:
        raise NotFound("no such score model")
    qs = contacts.annotate(
        score_row=FilteredRelation("scores", condition=Q(scores__model_id=model.pk))
    ).annotate(score=Coalesce(F("score_row__points"), Value(0.0)))
    if at_least is not None:
        qs = qs.filter(score__gte=at_least)
    if at_most is not None:
        qs = qs.filter(score__lte=at_most)
    return qs


def points_of(
    *, workspace: Workspace, model: ScoreModel, contact_ids: list[int]
) -> dict[int, float]:
    """{contact id: points in `model`} for a page of contacts (missing ones have 0)."""
    rows = Score.objects.for_workspace(workspace).filter(model=model, contact_id__in=contact_ids)
    return dict(rows.values_list("contact_id", "points"))


def list_score_model(*, workspace: Workspace) -> ScoreModel | None:
    """The model a contacts list shows and sorts by: the first active rules model."""
    return score_models(workspace=workspace, active_only=True).filter(kind=ModelKind.RULES).first()
