"""How each event reads on a contact's timeline: its label, icon, channel and one line of text.

The texts of the event types other domains own and whose words they keep (a deal's stages, a
score's points) are registered by those domains from their AppConfig.ready with
`event_text_register`, as the events domain sits below them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import gettext as _

from volano.contacts.models import ConsentStatus, Purpose
from volano.core.money import format_money
from volano.events.models import Channel, Event, EventType


class TimelineNames(Protocol):
    """The workspace's names for codes (`volano.conditions.describe.Names` is one)."""

    @property
    def forms(self) -> Mapping[str, str]: ...
    @property
    def stages(self) -> Mapping[str, str]: ...
    @property
    def owners(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class _NoNames:
    forms: Mapping[str, str] = field(default_factory=dict)
    stages: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)


EventText = Callable[[dict[str, Any], TimelineNames], str]  # (properties, names) → text
_TEXTS: dict[str, EventText] = {}


def event_text_register(event_type: str, text: EventText) -> None:
    """Register (or replace) how events of `event_type` read, for a domain above events."""
    _TEXTS[event_type] = text


def quoted(text: Any) -> str:
    return f"“{text}”"


def describe_event(event: Event, workspace_names: TimelineNames | None = None) -> str:
    """One line a marketer reads, from the event's properties (keys as agreed product-wide).

    With the workspace's `names`, codes are said by name: the form "Richiesta preventivo", not
    "richiesta-preventivo"; the stage as the workspace renamed it; the rep by name, not email."""
    names: TimelineNames = workspace_names or _NoNames()
    p = event.properties or {}
    t = event.type
    registered = _TEXTS.get(t)
    if registered is not None:
        return registered(p, names)
    if t == EventType.PAGE_VIEW:
        page = p.get("title") or p.get("url") or ""
        if p.get("dwell_seconds"):
            return _("%(page)s · %(seconds)s s on the page") % {
                "page": page,
                "seconds": p["dwell_seconds"],
            }
        return str(page)
    if t == EventType.FORM_SUBMITTED:
        form = quoted(names.forms.get(str(p.get("form", "")), p.get("form", "")))
        text = _("%(form)s on %(url)s") % {"form": form, "url": p["url"]} if p.get("url") else form
        not_applied = p.get("not_applied")
        if isinstance(not_applied, dict) and not_applied:
            # A public form never overwrites what we know: the marketer decides.
            values = "; ".join(f"{name}: {quoted(value)}" for name, value in not_applied.items())
            text = _("%(text)s · new values not applied: %(values)s") % {
                "text": text,
                "values": values,
            }
        return text
    if t == EventType.CONTENT_DOWNLOADED:
        return quoted(p.get("title") or p.get("content") or "")
    if t == EventType.EMAIL_CLICKED:
        return _("%(url)s in %(subject)s") % {
            "url": p.get("url", ""),
            "subject": quoted(p.get("subject", "")),
        }
    if t == EventType.EMAIL_BOUNCED:
        kind = _("Permanent") if p.get("kind") == "hard" else _("Temporary")
        return f"{kind}: {p.get('reason', '')}".strip(": ")
    if t in (
        EventType.EMAIL_SENT,
        EventType.EMAIL_DELIVERED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_UNSUBSCRIBED,
        EventType.EMAIL_COMPLAINED,
    ):
        return quoted(p["subject"]) if p.get("subject") else str(p.get("message", ""))
    if t in (EventType.WEBINAR_REGISTERED, EventType.WEBINAR_ATTENDED, EventType.EVENT_ATTENDED):
        return quoted(p.get("title") or p.get("webinar") or p.get("event") or "")
    if t == EventType.ORDER:
        parts = [_("No. %(number)s") % {"number": p.get("number", "")}]
        if p.get("total") is not None:
            parts.append(format_money(p["total"], p.get("currency", "EUR")))
        lines = p.get("lines") or []
        if lines:
            parts.append(
                ", ".join(str(line.get("product_name", "")) for line in lines[:3])
                + ("…" if len(lines) > 3 else "")
            )
        return " · ".join(parts)
    if t == EventType.SURVEY_ANSWERED:
        text = _("Score %(score)s") % {"score": p.get("score", "—")}
        return f"{text} · {quoted(p['answer'])}" if p.get("answer") else text
    if t in (EventType.LEAD_ASSIGNED, EventType.LEAD_ACCEPTED, EventType.LEAD_REJECTED):
        rep = str(p.get("rep") or "")
        who = p.get("rep_name") or names.owners.get(rep.lower()) or rep
        parts = [
            str(part) for part in (who, p.get("rule"), p.get("reason") or p.get("why")) if part
        ]
        return " · ".join(parts)
    if t in (EventType.SEGMENT_ENTERED, EventType.SEGMENT_LEFT):
        return str(p.get("name") or p.get("segment") or "")
    if t == EventType.TICKET:
        return f"{p.get('subject', '')} ({p.get('status', '')})"
    if t in (EventType.CALL, EventType.MEETING, EventType.NOTE):
        return str(p.get("title") or "")
    if t == EventType.CONSENT_CHANGED:
        statuses = dict(ConsentStatus.choices)
        purpose = dict(Purpose.choices).get(str(p.get("purpose")), p.get("purpose", ""))
        before = statuses.get(str(p.get("from")), _("no answer"))
        after = statuses.get(str(p.get("to")), p.get("to", ""))
        text = f"{purpose}: {before} → {after}"
        source = str(p.get("source") or "")
        if source.startswith("manual:"):
            return _("%(change)s · recorded by %(who)s") % {
                "change": text,
                "who": source.removeprefix("manual:"),
            }
        return text
    if t == EventType.IMPORTED:
        return _("from %(file)s") % {"file": p.get("file", "")}
    if t == EventType.CONTACT_MERGED:
        duplicate = p.get("duplicate") or {}
        return _("Merged with %(who)s; %(events)s interactions moved here") % {
            "who": duplicate.get("email") or duplicate.get("id") or "—",
            "events": p.get("events_moved", 0),
        }
    return str(p.get("name", ""))


EVENT_ICONS = {
    EventType.PAGE_VIEW: ("◉", "web"),
    EventType.FORM_SUBMITTED: ("✎", "form"),
    EventType.CONTENT_DOWNLOADED: ("⤓", "web"),
    EventType.EMAIL_SENT: ("✉", "email"),
    EventType.EMAIL_DELIVERED: ("✉", "email"),
    EventType.EMAIL_OPENED: ("✉", "email"),
    EventType.EMAIL_CLICKED: ("➚", "email"),
    EventType.EMAIL_BOUNCED: ("⚠", "bad"),
    EventType.EMAIL_UNSUBSCRIBED: ("⊘", "bad"),
    EventType.EMAIL_COMPLAINED: ("⚠", "bad"),
    EventType.WEBINAR_REGISTERED: ("▶", "meet"),
    EventType.WEBINAR_ATTENDED: ("▶", "meet"),
    EventType.EVENT_ATTENDED: ("★", "meet"),
    EventType.ORDER: ("€", "order"),
    EventType.SURVEY_ANSWERED: ("☺", "form"),
    EventType.DEAL_CHANGED: ("◆", "order"),
    EventType.TICKET: ("⚑", "support"),
    EventType.CONSENT_CHANGED: ("✓", "system"),
    EventType.CONTACT_MERGED: ("⇄", "system"),
    EventType.LIFECYCLE_CHANGED: ("⇧", "sales"),
    EventType.SCORE_CHANGED: ("±", "system"),
    EventType.LEAD_ASSIGNED: ("➜", "sales"),
    EventType.LEAD_ACCEPTED: ("✓", "sales"),
    EventType.LEAD_REJECTED: ("✗", "bad"),
    EventType.SEGMENT_ENTERED: ("◎", "system"),
    EventType.SEGMENT_LEFT: ("○", "system"),
    EventType.CALL: ("☎", "sales"),
    EventType.MEETING: ("◈", "meet"),
    EventType.NOTE: ("✎", "sales"),
    EventType.IMPORTED: ("⇪", "system"),
}
NOTE_TYPES = (EventType.CALL, EventType.MEETING, EventType.NOTE)


@dataclass(frozen=True)
class TimelineItem:
    event: Event
    label: str
    icon: str
    css: str
    description: str
    channel: str
    note: str = ""  # the text a rep wrote for a call, a meeting or a note


def timeline_items(events: list[Event], names: TimelineNames | None = None) -> list[TimelineItem]:
    labels = dict(EventType.choices)
    channels = dict(Channel.choices)
    items = []
    for event in events:
        icon, css = EVENT_ICONS.get(event.type, ("•", "other"))  # type: ignore[call-overload]
        items.append(
            TimelineItem(
                event=event,
                label=str(labels.get(event.type, event.type)),
                icon=icon,
                css=css,
                description=describe_event(event, names),
                channel=str(channels.get(event.channel, event.channel)),
                note=str((event.properties or {}).get("text") or "")
                if event.type in NOTE_TYPES
                else "",
            )
        )
    return items
