"""/api/v1 score models, contacts' scores and their explanation, recompute and training.

A rules model is the JSON of docs/scoring.md, created or replaced by slug with PUT (or POST).
Training and the full recompute run in the background (202; a training job's status is
GET /scoring/train/{job}); the CLI runs them in the foreground (`volano scoring train|recompute`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router, Schema
from pydantic import ConfigDict

from volano.contacts.selectors import contact_get
from volano.core.errors import ApplicationError
from volano.scoring import selectors, services

router = Router(tags=["scoring"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class ScoreModelOut(Schema):
    slug: str
    name: str
    kind: str
    product_line: str
    active: bool
    rules: list[Any]
    report: dict[str, Any]
    computed_at: dt.datetime | None
    updated_at: dt.datetime


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")
    model: dict[str, Any]
    threshold: float | None = None
    from_stages: list[str] = ["lead", "recycled"]


@router.get("/score-models", response=list[ScoreModelOut], summary="List score models")
def score_models_list(request: HttpRequest):
    return list(selectors.score_models(workspace=_ws(request)))


# The model's JSON as the body, checked by the service (model_definition_parse) so that every
# error names its place ("rules[1].max_times"); a bare `dict` parameter would be a query string.
ModelBody = Body(
    ...,
    openapi_examples={
        "ricambi": {
            "value": {
                "slug": "ricambi",
                "name": "Ricambi",
                "rules": [
                    {
                        "kind": "fit",
                        "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
                        "points": 15,
                    }
                ],
            }
        }
    },
)


@router.post("/score-models", response={200: ScoreModelOut}, summary="Create or replace by slug")
def score_models_save(request: HttpRequest, payload: dict[str, Any] = ModelBody):
    return services.score_model_save(workspace=_ws(request), actor=_actor(request), data=payload)


@router.post("/score-models/preview", summary="What a model gives today, without saving it")
def score_models_preview(request: HttpRequest, payload: PreviewIn):
    return selectors.score_model_preview(
        workspace=_ws(request),
        data=payload.model,
        threshold=payload.threshold,
        from_stages=tuple(payload.from_stages),
    )


@router.get("/score-models/{slug}", response=ScoreModelOut, summary="Get a score model")
def score_models_get(request: HttpRequest, slug: str):
    return selectors.score_model_get(workspace=_ws(request), slug=slug)


@router.put("/score-models/{slug}", response=ScoreModelOut, summary="Create or replace a model")
def score_models_put(request: HttpRequest, slug: str, payload: dict[str, Any] = ModelBody):
    if payload.get("slug", slug) != slug:
        raise ApplicationError("the slug in the body differs from the URL's", field="slug")
    data = {**payload, "slug": slug}
    return services.score_model_save(workspace=_ws(request), actor=_actor(request), data=data)


@router.delete("/score-models/{slug}", response={204: None}, summary="Delete a score model")
def score_models_delete(request: HttpRequest, slug: str):
    model = selectors.score_model_get(workspace=_ws(request), slug=slug)
    services.score_model_delete(workspace=_ws(request), actor=_actor(request), model=model)
    return 204, None


@router.get("/contacts/{contact_id}/scores", summary="A contact's scores, explained")
def contact_scores_explained(request: HttpRequest, contact_id: int, language: str = "it"):
    """Per model: the points, and the rules that gave them (for engagement rules, the events
    counted and what each is worth today)."""
    contact = contact_get(workspace=_ws(request), contact_id=contact_id)
    return selectors.score_explanations(workspace=_ws(request), contact=contact, language=language)


@router.post("/scoring/recompute", response={202: dict}, summary="Recompute every score")
def scoring_recompute(request: HttpRequest):
    from volano.scoring.tasks import scores_recompute_task

    result = scores_recompute_task.enqueue(_ws(request).pk)
    return 202, {"task": str(result.id), "status": "queued"}


class TrainingOut(Schema):
    job: str
    status: str  # queued, running, done or failed
    enqueued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: dict[str, Any] | None = None  # when done: auc, brier, n_train, n_test, …
    reason: str = ""  # when failed: why (e.g. not enough history)


@router.post("/scoring/train", response={202: TrainingOut}, summary="Train the predictive model")
def scoring_train(request: HttpRequest):
    """Queues the training on the workspace's history and the scoring of the open leads (it can
    take a minute); GET /scoring/train/{job} says queued, running, done with the evaluation on
    the held-back split ({"auc", "n_train", "n_test", ...}), or failed with the reason (e.g.
    the history is too thin). `volano scoring train` trains in the foreground."""
    job = services.predictive_train_later(workspace=_ws(request), actor=_actor(request))
    return 202, selectors.training_status(workspace=_ws(request), job_id=job)


@router.get("/scoring/train/{job}", response=TrainingOut, summary="A training job's status")
def scoring_train_status(request: HttpRequest, job: str):
    return selectors.training_status(workspace=_ws(request), job_id=job)
