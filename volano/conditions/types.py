"""The parsed form of a condition: frozen dataclasses other domains may import and keep.

Each node carries `path`, the place it came from in the JSON definition
("conditions.all[2].count"), so errors found later (at compile time) still name the node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from volano.core.errors import ApplicationError


class ConditionError(ApplicationError):
    """A definition that cannot be used; `field` is the path of the bad node."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True)
class FieldSpec:
    """What a field name refers to and how its values compare.

    `kind` is one of: text, number, date, datetime, boolean, choice, multi_choice, tags, owner,
    consent. `scope` is contact or company (where the column lives). `column` is the model
    field; for custom fields it is "custom" and `key` names the value inside it.
    """

    name: str
    kind: str
    scope: str
    column: str
    key: str = ""
    label: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldCondition:
    path: str = field(compare=False)
    field: FieldSpec
    op: str
    value: Any = None


@dataclass(frozen=True)
class PropertyFilter:
    """One test on an event's JSON property. `value` is a str, number, bool or a list of them."""

    path: str = field(compare=False)
    property: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Bounds:
    """Numeric bounds, all optional: gte ≤ x ≤ lte, x == eq, gt < x < lt."""

    gte: float | None = None
    lte: float | None = None
    eq: float | None = None
    gt: float | None = None
    lt: float | None = None

    def holds(self, value: float) -> bool:
        return (
            (self.gte is None or value >= self.gte)
            and (self.lte is None or value <= self.lte)
            and (self.eq is None or value == self.eq)
            and (self.gt is None or value > self.gt)
            and (self.lt is None or value < self.lt)
        )

    def items(self) -> list[tuple[str, float]]:
        return [
            (name, value)
            for name in ("eq", "gt", "gte", "lt", "lte")
            if (value := getattr(self, name)) is not None
        ]


@dataclass(frozen=True)
class When:
    """A moment condition on the first or last occurrence: any of the four, all must hold."""

    older_than_days: int | None = None
    within_days: int | None = None
    before: dt.date | None = None
    after: dt.date | None = None


@dataclass(frozen=True)
class SumBound:
    property: str
    bounds: Bounds


@dataclass(frozen=True)
class EventCondition:
    """Contacts with events of `type` that pass `where` in the window, whose count (default at
    least 1), sum, first and last occurrence pass their bounds."""

    path: str = field(compare=False)
    type: str
    where: tuple[PropertyFilter, ...] = ()
    count: Bounds = Bounds(gte=1)
    count_given: bool = False
    within_days: int | None = None
    between: tuple[dt.date, dt.date] | None = None
    first: When | None = None
    last: When | None = None
    sum: SumBound | None = None

    @property
    def zero_matches(self) -> bool:
        """True when a contact with no such events matches ("at most 2 times")."""
        return self.sum is None and self.first is None and self.last is None and self.count.holds(0)


@dataclass(frozen=True)
class ListCondition:
    path: str = field(compare=False)
    slug: str


@dataclass(frozen=True)
class SegmentCondition:
    path: str = field(compare=False)
    slug: str


@dataclass(frozen=True)
class AllOf:
    path: str = field(compare=False)
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    path: str = field(compare=False)
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    path: str = field(compare=False)
    item: Condition


Condition = FieldCondition | EventCondition | ListCondition | SegmentCondition | AllOf | AnyOf | Not
