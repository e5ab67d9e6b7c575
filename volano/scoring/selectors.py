"""Reads: score models, a contact's scores and the explanation a rep can read."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from volano.conditions.compiler import condition_events
from volano.conditions.describe import condition_describe
from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.scoring.models import PREDICTIVE_SLUG, ModelKind, Score, ScoreModel


def score_model_slugs(*, workspace: Workspace) -> set[str]:
    return set(ScoreModel.objects.for_workspace(workspace).values_list("slug", flat=True))


def score_models(*, workspace: Workspace, active_only: bool = False):
    models = ScoreModel.objects.for_workspace(workspace).order_by("kind", "name")
    return models.filter(active=True) if active_only else models


def contact_scores(*, workspace: Workspace, contact: Contact) -> dict[str, float]:
    """{model slug: points} for every active model (0 when the contact has no row); the
    predictive model's value is a probability between 0 and 1."""
    scores = {
        slug: 0.0
        for slug in score_models(workspace=workspace, active_only=True).values_list(
            "slug", flat=True
        )
    }
    for slug, points in (
        Score.objects.for_workspace(workspace)
        .filter(contact=contact, model__active=True)
        .values_list("model__slug", "points")
    ):
        scores[slug] = round(points, 4) if slug == PREDICTIVE_SLUG else round(points, 2)
    return scores


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
        result[contact_id][slug] = round(points, 4) if slug == PREDICTIVE_SLUG else round(points, 2)
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
                "label": rule.label or condition_describe(rule.condition, language),
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
                for event_type, at in events:
                    worth = rule.points
                    if rule.half_life_days is not None:
                        age = max((now - at).total_seconds() / 86400, 0)
                        worth *= 0.5 ** (age / rule.half_life_days)
                    item["events"].append(
                        {"type": event_type, "occurred_at": at, "points": round(worth, 2)}
                    )
            rules.append(item)
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
        try:
            from volano.scoring.predictive import predictive_reasons
        except ImportError:
            predictive_reasons = None
        if predictive_reasons is not None:
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
