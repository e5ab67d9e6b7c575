"""The contact page's lifecycle card: stage, how to change it, the history and the scores."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language

from volano.lifecycle import selectors
from volano.scoring.selectors import score_explanations

register = template.Library()
HISTORY = 6


@register.simple_tag(takes_context=True)
def contact_lifecycle_card(context: template.Context, contact: Any) -> dict[str, Any]:
    workspace = getattr(context.get("request"), "workspace", None)
    if workspace is None or contact is None:
        return {}
    names = selectors.stage_names(workspace=workspace)
    history = list(selectors.stage_history(workspace=workspace, contact=contact)[: HISTORY + 1])
    language = (get_language() or "it")[:2]
    return {
        "stage": contact.lifecycle_stage,
        "stage_name": names.get(contact.lifecycle_stage, contact.lifecycle_stage),
        "stages": list(names.items()),
        "names": names,
        "history": history[:HISTORY],
        "more_history": len(history) > HISTORY,
        "scores": score_explanations(workspace=workspace, contact=contact, language=language),
    }


@register.filter
def lookup(mapping: dict, key: str) -> Any:
    """{{ names|lookup:stage }}: a stage's name from the workspace's names."""
    return mapping.get(key, key) if isinstance(mapping, dict) else key
