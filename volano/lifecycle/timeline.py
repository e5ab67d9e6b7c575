"""How a stage change reads on a contact's timeline (registered with the events domain's
`event_text_register` from LifecycleConfig.ready: stages and change sources are lifecycle's)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from volano.events.models import EventType
from volano.events.timeline import TimelineNames, event_text_register
from volano.lifecycle.models import ChangeSource, LifecycleStage


def lifecycle_changed_text(p: dict[str, Any], names: TimelineNames) -> str:
    said = dict(names.stages) or {value: str(label) for value, label in LifecycleStage.choices}
    text = f"{said.get(p.get('from', ''), p.get('from', ''))} → {said.get(p.get('to', ''), p.get('to', ''))}"
    if p.get("rule"):
        return _("%(change)s · rule “%(rule)s”") % {"change": text, "rule": p["rule"]}
    who = p.get("by") or dict(ChangeSource.choices).get(p.get("source", ""), "")
    text = f"{text} · {who}" if who else text
    return f"{text} · {p['reason']}" if p.get("reason") else text


def register() -> None:
    event_text_register(EventType.LIFECYCLE_CHANGED, lifecycle_changed_text)
