"""Background work for scoring: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task

from volano.core.models import Workspace


# Nothing enqueues it any more (scoring follows facts: volano/scoring/reactions.py); it stays so
# that work queued before an upgrade still runs.
@task()
def scores_refresh_contacts_task(
    workspace_id: int, contact_ids: list[int], changed: list[str] | None = None
) -> None:
    from volano.scoring.services import scores_refresh_contacts

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        scores_refresh_contacts(workspace=workspace, contact_ids=contact_ids, changed=changed)


@task(queue_name="bulk")
def score_model_recompute_task(workspace_id: int, model_id: int) -> None:
    from volano.scoring.models import ScoreModel
    from volano.scoring.services import score_model_recompute

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    model = ScoreModel.objects.for_workspace(workspace).filter(pk=model_id, active=True).first()
    if model is not None:
        score_model_recompute(workspace=workspace, model=model)


@task(queue_name="bulk")
def scores_recompute_task(workspace_id: int) -> None:
    from volano.scoring.services import scores_recompute

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        scores_recompute(workspace=workspace)


@task(queue_name="bulk")
def predictive_train_task(workspace_id: int) -> dict:
    """Train the predictive model and score the open leads; the return value is the job's
    result (`training_status` reads it): {"report": …} or {"refused": reason}."""
    from volano.scoring.services import predictive_train_and_score

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"refused": "the workspace no longer exists"}
    return predictive_train_and_score(workspace=workspace)
