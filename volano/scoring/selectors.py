"""Reads: score models and contacts' scores."""

from __future__ import annotations

from volano.core.models import Workspace
from volano.scoring.models import ScoreModel


def score_model_slugs(*, workspace: Workspace) -> set[str]:
    return set(ScoreModel.objects.for_workspace(workspace).values_list("slug", flat=True))
