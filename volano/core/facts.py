"""What can happen in a workspace, as small typed facts a write announces.

A fact says what changed, never what to do about it: the domains that care register a reaction
to it in their own `reactions.py` (see `volano.core.reactions`). Facts carry id sets, so a write
over a hundred thousand contacts announces one fact; `None` in an id set means "every contact of
the workspace" (an import, a full recompute). Facts of one type whose other fields agree are
merged before their after-commit reactions run: their id sets are unioned.

docs/architecture.md lists every fact with the reactions that follow it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, ClassVar, Self

# Any set may be given; a fact keeps a frozenset.
Ids = AbstractSet[int]
Names = AbstractSet[str]
IdSet = Ids | None  # None: every contact of the workspace
NameSet = Names | None  # None: every field / type (nothing narrower is known)

FACT_TYPES: dict[str, type[Fact]] = {}


@dataclass(frozen=True)
class Fact:
    workspace_id: int

    # Facts that are only ever handled inside the writer's transaction are never serialised.
    transaction_only: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        FACT_TYPES[cls.__name__] = cls

    def __post_init__(self) -> None:
        for name in _set_fields(type(self)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def merge_key(self) -> tuple:
        """Facts with the same key are merged into one (their id sets unioned)."""
        sets = _set_fields(type(self))
        return (
            self.type_name,
            *(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in sets),
        )

    def merged_with(self, other: Self) -> Self:
        changes: dict[str, Any] = {}
        for name in _set_fields(type(self)):
            mine, theirs = getattr(self, name), getattr(other, name)
            changes[name] = None if mine is None or theirs is None else mine | theirs
        return dataclasses.replace(self, **changes)

    def dispatch_needed(self) -> bool:
        """False when the after-commit reactions would have nothing to do (no outbox row)."""
        return True

    def as_payload(self) -> dict[str, Any]:
        sets = _set_fields(type(self))
        payload = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            payload[f.name] = sorted(value) if f.name in sets and value is not None else value
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(**payload)


_SET_FIELDS: dict[type, frozenset[str]] = {}


def _set_fields(cls: type) -> frozenset[str]:
    """The fields of a fact class that hold sets (merged by union; kept as frozensets)."""
    known = _SET_FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    found = set()
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        options = (
            typing.get_args(hint)
            if typing.get_origin(hint) in (typing.Union, types.UnionType)
            else (hint,)
        )
        if any(typing.get_origin(option) in (frozenset, AbstractSet) for option in options):
            found.add(f.name)
    _SET_FIELDS[cls] = frozenset(found)
    return _SET_FIELDS[cls]


def fact_from_payload(type_name: str, payload: dict[str, Any]) -> Fact:
    return FACT_TYPES[type_name].from_payload(payload)


# -- contacts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactsChanged(Fact):
    """Contacts were created or had fields written. `fields`: the fields whose value changed,
    derived ones included ("region" when a province filled it in; "custom.<key>", "company",
    "owner"); None for a new contact or a bulk load (anything may have changed)."""

    contact_ids: IdSet
    fields: NameSet = None

    def change_tokens(self) -> set[str] | None:
        """What changed, as the dependency tokens conditions are indexed by (None: anything)."""
        return None if self.fields is None else {f"field:{name}" for name in self.fields}


@dataclass(frozen=True)
class ConsentChanged(Fact):
    """A consent decision changed (granted, denied, revoked…) for these purposes."""

    contact_ids: IdSet
    purposes: Names

    def change_tokens(self) -> set[str]:
        return {f"consent:{purpose}" for purpose in self.purposes}


@dataclass(frozen=True)
class ContactsMerging(Fact):
    """Inside the merge's transaction, before the duplicates are deleted: every domain moves (or
    drops) its own rows of the duplicates. A reaction returns a dict of counts for the
    `contact_merged` event."""

    survivor_id: int
    duplicate_ids: Ids
    transaction_only: ClassVar[bool] = True


@dataclass(frozen=True)
class ContactsMerged(Fact):
    """The merge committed: what is derived from the survivor's data follows."""

    survivor_ids: Ids


@dataclass(frozen=True)
class ConsentDecided(Fact):
    """Inside the consent's transaction: one contact's decision for one purpose went from
    `previous` (None: none yet) to `status`. The events domain puts it on the timeline."""

    contact_id: int
    purpose: str
    previous: str | None
    status: str
    source: str
    # when the decision was recorded (the consent's recorded_at): the timeline shows that moment
    at: str = ""
    transaction_only: ClassVar[bool] = True


@dataclass(frozen=True)
class ConsentConfirmationRequested(Fact):
    """Someone asked, through a public form with double opt-in, for the `purpose` consent of a
    contact whose consent is now pending: the emails domain sends the confirmation message
    (at most once per few minutes per contact). `form` is the form's slug, `ip` the poster's."""

    contact_id: int
    purpose: str
    form: str
    ip: str | None = None


@dataclass(frozen=True)
class ContactMergeRecorded(Fact):
    """Inside the merge's transaction, once every domain moved its rows: what the merge did
    (`summary`: the duplicate, the fields and consents taken, the rows moved, who merged), for
    the survivor's timeline."""

    survivor_id: int
    summary: dict[str, Any]
    transaction_only: ClassVar[bool] = True


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventsAppended(Fact):
    """Events of these types were stored on these contacts' timelines."""

    contact_ids: IdSet
    event_types: NameSet

    def change_tokens(self, *, excluding: frozenset[str] = frozenset()) -> set[str] | None:
        """The event types as dependency tokens, less `excluding` (None: any type)."""
        if self.event_types is None:
            return None
        return {f"event:{t}" for t in self.event_types - excluding}


# -- orders and deals -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCompleted(Fact):
    """Completed orders were stored for these buyers (`reason`: "order 1001", "orders import")."""

    contact_ids: Ids
    reason: str = ""
    transaction_only: ClassVar[bool] = True


@dataclass(frozen=True)
class DealChanged(Fact):
    """A deal was opened or moved (`change` "open": it is in an open stage), won or lost; also
    said when an open deal is given to another contact. `open_elsewhere`: the contacts among
    `contact_ids` that have another open deal."""

    contact_ids: Ids
    change: str  # "open" | "won" | "lost"
    deal_name: str = ""
    reason: str = ""
    actor_id: int | None = None
    open_elsewhere: Ids = frozenset()
    transaction_only: ClassVar[bool] = True


# -- lifecycle, scoring, segments, hand-off ---------------------------------------------------


@dataclass(frozen=True)
class StageChanged(Fact):
    """Contacts moved to `to_stage` (with the rule's product line and the reason)."""

    contact_ids: Ids
    to_stage: str
    product_line: str = ""
    why: str = ""


@dataclass(frozen=True)
class ScoresChanged(Fact):
    """Scores were recomputed for `contact_ids` (None: every contact); `changed_ids` are those
    whose rounded score moved (None: possibly any), in the models `models`."""

    contact_ids: IdSet
    changed_ids: IdSet = frozenset()
    models: Names = frozenset()
    as_of: str = ""  # the moment the scores were computed for (ISO 8601), the stage rules too
    stamped_at: str = ""  # the moment stage moves are stamped (never before their cause)

    def dispatch_needed(self) -> bool:
        return self.changed_ids is None or bool(self.changed_ids)


@dataclass(frozen=True)
class ListMembershipChanged(Fact):
    """Contacts were added to or removed from the static list `list_slug` (None: which ones is
    not known, e.g. an INSERT … SELECT of a whole query; every member may have changed)."""

    list_slug: str
    contact_ids: IdSet

    def change_tokens(self) -> set[str]:
        return {f"list:{self.list_slug}"}


@dataclass(frozen=True)
class SegmentMembershipChanged(Fact):
    """Contacts entered or left a segment (the `segment_entered` / `segment_left` events)."""

    segment: str
    entered_ids: Ids = frozenset()
    left_ids: Ids = frozenset()


@dataclass(frozen=True)
class SegmentEnteredInBulk(Fact):
    """Many contacts entered the segment `segment_id` in one full refresh (a new segment's first
    materialisation): their memberships are written, dated `entered_at` (ISO 8601), and their
    `segment_entered` timeline events are not yet (a 900k-contact segment is usable at once;
    the events, dated `entered_at` too, follow after commit)."""

    segment_id: int
    entered_at: str


@dataclass(frozen=True)
class LeadAssigned(Fact):
    """Leads were handed to a rep (their owner changed). The hand-off gives one lead at a time
    and says how: the assignment, the rep, when it is due (ISO 8601) under an SLA of
    `sla_hours` working hours, and, when the lead comes from an SLA breach, the rep who let it
    expire (`previous_rep_id`) and whether it went to the fallback owner (`escalated`)."""

    contact_ids: Ids
    assignment_id: int | None = None
    rep_id: int | None = None
    product_line: str = ""
    why: str = ""
    due_at: str = ""
    sla_hours: int | None = None
    previous_rep_id: int | None = None
    escalated: bool = False


@dataclass(frozen=True)
class LeadUnassigned(Fact):
    """A new SQL nobody could take (`reason` "no_rule": no active rule covers it; "no_rep": its
    rule's reps are away, full or gone), or a lead nobody accepted in time with nobody to
    escalate it to ("expired"). It is left without an owner."""

    contact_id: int
    reason: str
    product_line: str = ""
    rule_name: str = ""
    at: str = ""  # when (ISO 8601): the lead may be left without an owner again later


# -- notifications ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationsEmailed(Fact):
    """The emails of these notifications left (handed to SMTP or the outbox), about objects of
    `object_type` (e.g. "assignment") with these ids. Said in the transaction that marks them
    sent."""

    object_type: str
    object_ids: Ids
    transaction_only: ClassVar[bool] = True


# -- things other domains refer to by slug ----------------------------------------------------


@dataclass(frozen=True)
class ReferenceDeleting(Fact):
    """An email template (`kind` "template") or a list ("list") is about to be deleted, inside
    the deleting transaction: a domain that uses it may refuse by raising ApplicationError
    (workflows: a published workflow sends that template or writes that list)."""

    transaction_only: ClassVar[bool] = True

    kind: str
    slug: str


@dataclass(frozen=True)
class CostsImported(Fact):
    """A cost file was imported: the costs of `platform` from `start` to `end` (ISO dates) were
    written or replaced; `campaign_ids` are the campaigns its rows linked to."""

    platform: str
    start: str
    end: str
    campaign_ids: Ids = frozenset()
