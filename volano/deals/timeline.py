"""How a deal's change reads on a contact's timeline (registered with the events domain's
`event_text_register` from DealsConfig.ready: the stages' words are the deals domain's)."""

from __future__ import annotations

from typing import Any

from volano.core.money import format_money
from volano.deals.models import DealStage
from volano.events.models import EventType
from volano.events.timeline import TimelineNames, event_text_register


def deal_changed_text(p: dict[str, Any], names: TimelineNames) -> str:
    stages = dict(DealStage.choices)
    stage = p.get("to") or p.get("stage") or ""
    text = f"{p.get('name') or p.get('deal', '')} → {stages.get(stage, stage)}".strip()
    if p.get("amount") is not None:
        text = f"{text} · {format_money(p['amount'])}"
    return f"{text} · {p['reason']}" if p.get("reason") else text


def register() -> None:
    event_text_register(EventType.DEAL_CHANGED, deal_changed_text)
