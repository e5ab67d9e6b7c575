"""An independent evaluation of a parsed condition in plain Python, over rows loaded from the
database. It shares no code with the compiler: it is the definition the SQL must agree with."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from volano.conditions.types import (
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    ListCondition,
    Not,
    PropertyFilter,
    SegmentCondition,
    When,
)
from volano.contacts.models import Company, Consent, Contact
from volano.core.models import User
from volano.events.models import Event

NEGATIVE = {"neq": "eq", "not_in": "in", "is_not_set": "is_set"}


class Snapshot:
    def __init__(self, workspace, now: dt.datetime):
        self.now = now
        self.zone = ZoneInfo(workspace.time_zone)
        self.today = now.astimezone(self.zone).date()
        self.contacts = list(Contact.objects.for_workspace(workspace).values())
        self.companies = {c["id"]: c for c in Company.objects.for_workspace(workspace).values()}
        self.consents: dict[int, dict[str, str]] = defaultdict(dict)
        for row in Consent.objects.for_workspace(workspace).values():
            self.consents[row["contact_id"]][row["purpose"]] = row["status"]
        self.events: dict[int, list[dict]] = defaultdict(list)
        for row in Event.objects.for_workspace(workspace).values():
            if row["contact_id"] is not None:
                self.events[row["contact_id"]].append(row)
        self.emails = dict(User.objects.values_list("id", "email"))
        self.lists: dict[str, set[int]] = {}
        self.segments: dict = {}

    def matching(self, condition) -> set[int]:
        return {c["id"] for c in self.contacts if self.holds(condition, c)}

    def holds(self, node, contact: dict) -> bool:
        match node:
            case AllOf(items=items):
                return all(self.holds(item, contact) for item in items)
            case AnyOf(items=items):
                return any(self.holds(item, contact) for item in items)
            case Not(item=item):
                return not self.holds(item, contact)
            case FieldCondition():
                return self.field(node, contact)
            case EventCondition():
                return self.event(node, contact)
            case ListCondition(slug=slug):
                return contact["id"] in self.lists[slug]
            case SegmentCondition(slug=slug):
                return self.holds(self.segments[slug], contact)
        raise AssertionError(f"no oracle for {node}")

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)

    # -- fields

    def field(self, node: FieldCondition, contact: dict) -> bool:
        if node.op in NEGATIVE:
            return not self.field(
                FieldCondition(node.path, node.field, NEGATIVE[node.op], node.value), contact
            )
        spec, op, value = node.field, node.op, node.value
        if spec.kind == "consent":
            status = self.consents[contact["id"]].get(spec.key, "none")
            return status in ((value,) if op == "eq" else value)
        if spec.kind == "owner":
            owner = contact["owner_id"]
            if owner is None:
                return False
            if op == "is_set":
                return True
            wanted = (value,) if op == "eq" else value
            return owner in wanted or self.emails[owner] in wanted
        row = contact
        if spec.scope == "company":
            if contact["company_id"] is None:
                return False
            row = self.companies[contact["company_id"]]
        raw = row["custom"].get(spec.key) if spec.column == "custom" else row[spec.column]
        kind = spec.kind
        if kind in ("text", "choice"):
            return text_op(raw if isinstance(raw, str) else None, op, value)
        if kind == "number":
            return number_op(raw if is_number(raw) else None, op, value)
        if kind == "boolean":
            if not isinstance(raw, bool):
                return False
            return True if op == "is_set" else raw == value
        if kind in ("multi_choice", "tags"):
            items = [e for e in raw if isinstance(e, str)] if isinstance(raw, list) else []
            return bool(items) if op == "is_set" else value.lower() in [e.lower() for e in items]
        if kind == "date":
            if not isinstance(raw, str) or not raw.strip():
                return False
            return self.day_op(raw, op, value)
        if kind == "datetime":
            return self.moment_op(raw, op, value)
        raise AssertionError(kind)

    def day_op(self, iso: str, op: str, value: Any) -> bool:
        if op == "is_set":
            return True
        if op == "older_than_days":
            return iso < (self.today - dt.timedelta(days=value)).isoformat()
        if op == "within_last_days":
            return (
                (self.today - dt.timedelta(days=value)).isoformat() <= iso <= self.today.isoformat()
            )
        if op == "between":
            return value[0].isoformat() <= iso <= value[1].isoformat()
        return compare(iso, op, value.isoformat())

    def moment_op(self, moment: dt.datetime, op: str, value: Any) -> bool:
        if op == "is_set":
            return moment is not None
        if op == "older_than_days":
            return moment < self.now - dt.timedelta(days=value)
        if op == "within_last_days":
            return moment >= self.now - dt.timedelta(days=value)
        day = moment.astimezone(self.zone).date()
        if op == "between":
            return value[0] <= day <= value[1]
        return compare(day, op, value)

    # -- events

    def event(self, node: EventCondition, contact: dict) -> bool:
        events = [e for e in self.events[contact["id"]] if e["type"] == node.type]
        if node.within_days is not None:
            events = [
                e
                for e in events
                if e["occurred_at"] >= self.now - dt.timedelta(days=node.within_days)
            ]
        if node.between is not None:
            low, high = node.between
            events = [
                e for e in events if low <= e["occurred_at"].astimezone(self.zone).date() <= high
            ]
        events = [e for e in events if all(property_op(e["properties"], t) for t in node.where)]
        if node.zero_matches:
            return node.count.holds(len(events))
        if not events:
            return False
        if node.count_given and not node.count.holds(len(events)):
            return False
        if node.sum is not None:
            values = [e["properties"].get(node.sum.property) for e in events]
            if not node.sum.bounds.holds(sum(v for v in values if is_number(v))):
                return False
        moments = sorted(e["occurred_at"] for e in events)
        if node.first is not None and not self.when(moments[0], node.first):
            return False
        return node.last is None or self.when(moments[-1], node.last)

    def when(self, moment: dt.datetime, when: When) -> bool:
        day = moment.astimezone(self.zone).date()
        return (
            (
                when.older_than_days is None
                or moment < self.now - dt.timedelta(days=when.older_than_days)
            )
            and (
                when.within_days is None or moment >= self.now - dt.timedelta(days=when.within_days)
            )
            and (when.before is None or day < when.before)
            and (when.after is None or day > when.after)
        )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(left: Any, op: str, right: Any) -> bool:
    return {
        "eq": left == right,
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def text_op(text: str | None, op: str, value: Any) -> bool:
    if text is None:
        return False
    norm = text.strip().lower()
    match op:
        case "eq":
            return norm == value.lower()
        case "in":
            return norm in [v.lower() for v in value]
        case "contains":
            return value.lower() in norm
        case "starts_with":
            return norm.startswith(value.lower())
        case "is_set":
            return norm != ""
    raise AssertionError(op)


def number_op(number: float | None, op: str, value: Any) -> bool:
    if number is None:
        return False
    if op == "is_set":
        return True
    if op == "in":
        return number in value
    if op == "between":
        return value[0] <= number <= value[1]
    return compare(number, op, value)


def property_op(properties: dict, test: PropertyFilter) -> bool:
    if test.op in NEGATIVE:
        return not property_op(
            properties, PropertyFilter(test.path, test.property, NEGATIVE[test.op], test.value)
        )
    raw = properties.get(test.property)
    op, value = test.op, test.value
    if op == "is_set":
        return raw is not None and not (isinstance(raw, str) and not raw.strip())
    sample = value[0] if op in ("in", "between") else value
    if isinstance(sample, bool):
        return isinstance(raw, bool) and raw == value
    if is_number(sample):
        return number_op(raw if is_number(raw) else None, op, value)
    if isinstance(raw, list) and op in ("eq", "contains", "in"):
        wanted = [v.lower() for v in (value if op == "in" else (value,))]
        return any(isinstance(e, str) and e.lower() in wanted for e in raw)
    return text_op(raw if isinstance(raw, str) else None, op, value)
