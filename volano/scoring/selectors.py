"""Reads: score models and contacts' scores."""

from __future__ import annotations

from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.scoring.models import ScoreModel


def score_model_slugs(*, workspace: Workspace) -> set[str]:
    return set(ScoreModel.objects.for_workspace(workspace).values_list("slug", flat=True))


def score_explanations(
    *, workspace: Workspace, contact: Contact, language: str = "it"
) -> list[dict]:
    """Each active model's score of `contact`, with the rules that gave points (being written).

    [{"model": slug, "name": str, "kind": "rules"|"predictive", "points": float,
      "rules": [{"label": str, "kind": "fit"|"engagement"|"negative"|"reason", "points": float,
                 "events": [{"type": str, "occurred_at": datetime, "points": float}]}]}]
    """
    return []
