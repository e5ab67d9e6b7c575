"""How a score's change reads on a contact's timeline (registered with the events domain's
`event_text_register` from ScoringConfig.ready: points read as scoring rounds them everywhere)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from volano.events.models import EventType
from volano.events.timeline import TimelineNames, event_text_register
from volano.scoring.templatetags.scores import score as score_text


def _points(value: Any) -> str:
    try:
        return score_text(float(value))
    except (TypeError, ValueError):
        return "0"


def score_changed_text(p: dict[str, Any], names: TimelineNames) -> str:
    return _("%(model)s: %(before)s → %(after)s points") % {
        "model": p.get("name") or p.get("model", ""),
        "before": _points(p.get("from")),
        "after": _points(p.get("to")),
    }


def register() -> None:
    event_text_register(EventType.SCORE_CHANGED, score_changed_text)
