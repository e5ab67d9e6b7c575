"""Compile a parsed condition into one Django Q over Contact: a single SQL statement, the same
on SQLite and PostgreSQL.

Every leaf compiles to a test that is never NULL (missing values are guarded), so `not` is the
exact complement of what it wraps, and `neq`, `not_in` and `is_not_set` are compiled as the
negation of `eq`, `in` and `is_set`. Behaviour compiles to a semi-join on the event store,
`pk IN (SELECT contact_id FROM events WHERE workspace … AND type … AND occurred_at >= …
GROUP BY contact_id HAVING …)`, served by the (workspace, type, occurred_at) index.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from django.db import NotSupportedError, connection
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
)
from django.db.models.functions import Cast, Coalesce, Trim
from django.db.models.lookups import (
    Contains,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext

from volano.conditions.fields import NEGATIONS
from volano.conditions.sources import field_source_of_kind
from volano.conditions.types import (
    AllOf,
    AnyOf,
    Bounds,
    Condition,
    ConditionError,
    EventCondition,
    FieldCondition,
    FieldSpec,
    ListCondition,
    Not,
    PropertyFilter,
    SegmentCondition,
    When,
)
from volano.contacts.models import Company, Consent
from volano.core.db import UnicodeLower
from volano.core.models import User, Workspace
from volano.events.models import Event

if TYPE_CHECKING:
    from volano.conditions.facts import EventFacts

StrOrPromise = str | Promise  # a context's name, translated when the message is made

COMPARISONS = {
    "eq": Exact,
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
}


class Resolver(Protocol):
    """How `{"list": slug}` and `{"segment": slug}` become sets of contacts.

    The segments domain implements it. Both return a QuerySet of contact ids (`values("pk")` or
    `values("contact_id")`) of the workspace. `resolve_segment` receives the chain of segment
    slugs being compiled, ending with `slug`; to compile the segment's own definition it calls
    `condition_q(..., chain=chain)`, so a cycle is caught here and named.
    """

    def resolve_list(self, slug: str) -> QuerySet: ...

    def resolve_segment(self, slug: str, chain: tuple[str, ...]) -> QuerySet: ...


class NoReferences:
    """The resolver of a context where a condition cannot name lists or segments.

    Scoring rules and threshold rules run before segments are refreshed (segments read scores
    and stages), so there a reference is refused: when the definition is saved
    (`condition_check`) with the same resolver that runs it, never first at run time.
    `where` names the context in the message ("a threshold rule").
    """

    def __init__(self, where: StrOrPromise = ""):
        self.where = where

    def _refuse(self, kind: str) -> ConditionError:
        where = str(self.where) or gettext("this condition")
        if kind == "list":
            message = gettext("%(where)s cannot use a list: name its contacts' fields instead")
        else:
            message = gettext(
                "%(where)s cannot use a segment: write the segment's condition here instead"
            )
        return ConditionError(message % {"where": where})

    def resolve_list(self, slug: str) -> QuerySet:
        raise self._refuse("list")

    def resolve_segment(self, slug: str, chain: tuple[str, ...]) -> QuerySet:
        raise self._refuse("segment")


class JsonValue(Func):
    """One top-level key of a JSON column when it holds the given JSON type, else NULL.

    kind: "number" (a float), "text" (the string), "boolean" ("true"/"false"), "array" (the
    list as JSON text) or "present" ("yes" when the key holds anything but null). A value of
    another type is NULL rather than a cast error, so one odd event never breaks a segment.
    """

    PG_TYPES = {"number": "number", "text": "string", "boolean": "boolean", "array": "array"}
    SQLITE_TYPES = {
        "number": "'integer', 'real'",
        "text": "'text'",
        "boolean": "'true', 'false'",
        "array": "'array'",
    }

    def __init__(self, column: str, key: str, kind: str):
        output = FloatField() if kind == "number" else TextField()
        super().__init__(F(column), output_field=output)
        self.key = key
        self.kind = kind

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:  # type: ignore[override]
        column, params = compiler.compile(self.source_expressions[0])
        params = list(params)
        if connection.vendor == "postgresql":
            if self.kind == "present":
                sql = f"CASE WHEN jsonb_typeof({column} -> %s) <> 'null' THEN 'yes' END"
                return sql, [*params, self.key]
            value = f"({column} ->> %s)"
            if self.kind == "number":
                value = f"{value}::double precision"
            sql = (
                f"CASE WHEN jsonb_typeof({column} -> %s) = '{self.PG_TYPES[self.kind]}' "
                f"THEN {value} END"
            )
            return sql, [*params, self.key, *params, self.key]
        if connection.vendor == "sqlite":
            path = "$." + json.dumps(self.key)
            if self.kind == "present":
                sql = f"CASE WHEN json_type({column}, %s) <> 'null' THEN 'yes' END"
                return sql, [*params, path]
            if self.kind == "boolean":
                sql = f"CASE WHEN json_type({column}, %s) IN ('true', 'false') THEN json_type({column}, %s) END"
                return sql, [*params, path, *params, path]
            sql = (
                f"CASE WHEN json_type({column}, %s) IN ({self.SQLITE_TYPES[self.kind]}) "
                f"THEN json_extract({column}, %s) END"
            )
            return sql, [*params, path, *params, path]
        raise NotSupportedError(f"conditions do not support {connection.vendor}")


def condition_q(
    *,
    workspace: Workspace,
    condition: Condition,
    now: dt.datetime | None = None,
    resolver: Resolver | None = None,
    chain: tuple[str, ...] = (),
    facts: EventFacts | None = None,
    few: bool = False,
) -> Q:
    """The Q over Contact for `condition` (to use with Contact.objects.for_workspace).

    `facts`: per-contact aggregates already computed for some event conditions (facts.py); an
    event condition found there reads them instead of the event store.
    `few`: the Q is for a handful of contacts (the ones an event touched): consents, companies
    and plain event tests become correlated EXISTS probed per contact, where an `IN (subquery)`
    builds its whole list first (SQLite: 30–60 ms a rule at 1M contacts, for one contact).
    """
    return _Compiler(
        workspace, now or timezone.now(), resolver or NoReferences(), chain, facts, few
    ).q(condition)


def compiler_for(workspace: Workspace, now: dt.datetime) -> _Compiler:
    """The compiler's own parts (event tests, having tests), for event facts."""
    return _Compiler(workspace, now, NoReferences(), (), None)


class _Compiler:
    def __init__(
        self,
        workspace: Workspace,
        now: dt.datetime,
        resolver: Resolver,
        chain: tuple[str, ...],
        facts: EventFacts | None = None,
        few: bool = False,
    ):
        self.few = few
        self.workspace = workspace
        self.now = now
        self.zone = ZoneInfo(workspace.time_zone)
        self.today = now.astimezone(self.zone).date()
        self.resolver = resolver
        self.chain = chain
        self.facts = facts

    def q(self, node: Condition) -> Q:
        match node:
            case AllOf(items=items):
                result = Q()
                for item in items:
                    result &= self.q(item)
                return result
            case AnyOf(items=items):
                result = self.q(items[0])
                for item in items[1:]:
                    result |= self.q(item)
                return result
            case Not(item=EventCondition() as item) if self.plain_on_postgresql(item):
                # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN as a hashed subplan over every
                # event of the window, NOT EXISTS as an anti-join that may probe only the few
                # contacts the rest of the condition left (2.4 s → 1.3 s for the segment).
                rows = self.event_rows(item).filter(contact_id=OuterRef("pk"))
                return ~Q(Exists(rows))
            case Not(item=item):
                return ~self.q(item)
            case FieldCondition():
                return self.field(node)
            case EventCondition():
                return self.event(node)
            case ListCondition(slug=slug):
                try:
                    return Q(pk__in=self.resolver.resolve_list(slug))
                except ConditionError as error:
                    raise ConditionError(error.message, field=error.field or node.path) from None
            case SegmentCondition(slug=slug):
                if slug in self.chain:
                    cycle = " → ".join((*self.chain[self.chain.index(slug) :], slug))
                    raise ConditionError(
                        gettext("segments form a cycle: %(cycle)s") % {"cycle": cycle},
                        field=node.path,
                    )
                try:
                    return Q(pk__in=self.resolver.resolve_segment(slug, (*self.chain, slug)))
                except ConditionError as error:
                    raise ConditionError(error.message, field=error.field or node.path) from None
        raise ConditionError("unknown condition node", field=getattr(node, "path", None))

    # -- fields ---------------------------------------------------------------------------

    def field(self, node: FieldCondition) -> Q:
        if node.op in NEGATIONS:
            return ~self.field(
                FieldCondition(node.path, node.field, NEGATIONS[node.op], node.value)
            )
        spec = node.field
        if spec.kind == "consent":
            return self.consent(spec.key, (node.value,) if node.op == "eq" else node.value)
        if spec.kind == "owner":
            return self.owner(node.op, node.value)
        source = field_source_of_kind(spec.kind)
        if source is not None:
            return source.compile(self.workspace, spec.key, node.op, node.value)
        if spec.scope == "company":
            companies = Company.objects.for_workspace(self.workspace).filter(
                self.value_test(spec, node.op, node.value)
            )
            if self.few:
                return Q(Exists(companies.filter(pk=OuterRef("company_id"))))
            return Q(company_id__isnull=False) & Q(company_id__in=companies.values("pk"))
        return self.value_test(spec, node.op, node.value)

    def value_test(self, spec: FieldSpec, op: str, value: Any) -> Q:
        """A positive op on one value of the contact's (or company's) own row."""
        if spec.kind == "datetime":
            return self.moment(F(spec.column), op, value)
        if spec.column == "custom":
            kind = {"number": "number", "boolean": "boolean", "multi_choice": "array"}.get(
                spec.kind, "text"
            )
            expression: Any = JsonValue("custom", spec.key, kind)
        elif spec.kind == "tags":
            expression = Cast(F("tags"), TextField())
        else:
            expression = F(spec.column)
        present = Q(IsNull(expression, False))
        if spec.kind in ("text", "choice"):
            return present & text_test(expression, op, value)
        if spec.kind == "number":
            return present & number_test(expression, op, value)
        if spec.kind == "boolean":
            if op == "is_set":
                return present
            return present & Q(Exact(expression, "true" if value else "false"))
        if spec.kind in ("multi_choice", "tags"):
            return present & list_test(expression, op, value)
        if spec.kind == "date":
            return present & self.day_test(expression, op, value)
        raise ConditionError(f"unsupported field {spec.name}")

    def day_test(self, expression: Any, op: str, value: Any) -> Q:
        """Dates kept as ISO text ("2026-03-31") compare as text."""
        if op == "is_set":
            return ~Q(Exact(Trim(expression), ""))
        if op == "between":
            low, high = value
            return Q(GreaterThanOrEqual(expression, low.isoformat())) & Q(
                LessThanOrEqual(expression, high.isoformat())
            )
        if op == "older_than_days":
            return Q(LessThan(expression, (self.today - dt.timedelta(days=value)).isoformat()))
        if op == "within_last_days":  # the last N days up to today: a date still to come is not
            since = (self.today - dt.timedelta(days=value)).isoformat()
            return Q(GreaterThanOrEqual(expression, since)) & Q(
                LessThanOrEqual(expression, self.today.isoformat())
            )
        return Q(COMPARISONS[op](expression, value.isoformat()))

    def moment(self, expression: Any, op: str, value: Any) -> Q:
        """A timestamp against a day (in the workspace's time zone) or a number of days ago."""
        if op == "is_set":
            return Q(IsNull(expression, False))
        if op == "older_than_days":
            return Q(LessThan(expression, self.now - dt.timedelta(days=value)))
        if op == "within_last_days":
            return Q(GreaterThanOrEqual(expression, self.now - dt.timedelta(days=value)))
        low, high = value if op == "between" else (value, value)
        start, end = self.day_start(low), self.day_start(high + dt.timedelta(days=1))
        match op:
            case "eq" | "between":
                return Q(GreaterThanOrEqual(expression, start)) & Q(LessThan(expression, end))
            case "gt":
                return Q(GreaterThanOrEqual(expression, end))
            case "gte":
                return Q(GreaterThanOrEqual(expression, start))
            case "lt":
                return Q(LessThan(expression, start))
            case "lte":
                return Q(LessThan(expression, end))
        raise ConditionError(f"unsupported operator {op}")

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)

    def consent(self, purpose: str, values: tuple[str, ...]) -> Q:
        consents = Consent.objects.for_workspace(self.workspace).filter(purpose=purpose)
        statuses = [v for v in values if v != "none"]
        if self.few:
            mine = consents.filter(contact_id=OuterRef("pk"))
            result = Q(Exists(mine.filter(status__in=statuses)))
            if "none" in values:
                result |= ~Q(Exists(mine))
            return result
        result = Q(pk__in=consents.filter(status__in=statuses).values("contact_id"))
        if "none" in values:
            result |= ~Q(pk__in=consents.values("contact_id"))
        return result

    def owner(self, op: str, value: Any) -> Q:
        if op == "is_set":
            return Q(owner_id__isnull=False)
        values = (value,) if op == "eq" else value
        ids = [v for v in values if isinstance(v, int)]
        emails = [v for v in values if isinstance(v, str)]
        users = User.objects.filter(Q(pk__in=ids) | Q(email__in=emails)).values("pk")
        return Q(owner_id__isnull=False) & Q(owner_id__in=users)

    # -- events ---------------------------------------------------------------------------

    def plain_on_postgresql(self, node: EventCondition) -> bool:
        """An event condition without count, sum, first or last, compiled for PostgreSQL (SQLite
        runs a correlated EXISTS once per contact: its IN list is built once instead)."""
        plain = not (node.count_given or node.sum or node.first or node.last)
        facts = self.facts is not None and node in self.facts.columns
        return plain and not facts and connection.vendor == "postgresql"

    def event(self, node: EventCondition) -> Q:
        if self.facts is not None and (found := self.facts.q(node)) is not None:
            return found
        per_contact = self.event_rows(node).values("contact_id")
        if node.zero_matches:
            failing = per_contact.annotate(n=Count("pk")).filter(~bounds_test(F("n"), node.count))
            return ~Q(pk__in=failing.values("contact_id"))
        if not node.count_given and node.sum is None and node.first is None and node.last is None:
            if self.few:
                return Q(Exists(self.event_rows(node).filter(contact_id=OuterRef("pk"))))
            return Q(pk__in=per_contact)
        aggregates: dict[str, Any] = {}
        if node.count_given:
            aggregates["n"] = Count("pk")
        if node.sum is not None:
            aggregates["total"] = Sum(JsonValue("properties", node.sum.property, "number"))
        if node.first is not None:
            aggregates["first_at"] = Min("occurred_at")
        if node.last is not None:
            aggregates["last_at"] = Max("occurred_at")
        having = self.having_test(node, F("n"), F("total"), F("first_at"), F("last_at"))
        return Q(pk__in=per_contact.annotate(**aggregates).filter(having).values("contact_id"))

    def event_rows(self, node: EventCondition) -> QuerySet[Event]:
        """The contacts' events of the node's type that pass its window and `where` filters."""
        return Event.objects.for_workspace(self.workspace).filter(
            Q(type=node.type, contact_id__isnull=False) & self.event_test(node)
        )

    def event_test(
        self, node: EventCondition, occurred_at: Any = None, value: PropertyValue | None = None
    ) -> Q:
        """The node's window and `where` filters on one event row. `occurred_at` and `value`
        (a property's JSON value of a kind) default to the event's own columns; event facts
        (facts.py) pass the columns of a subquery that extracted each property once."""
        occurred_at = F("occurred_at") if occurred_at is None else occurred_at
        result = Q()
        if node.within_days is not None:
            start = self.now - dt.timedelta(days=node.within_days)
            result &= Q(GreaterThanOrEqual(occurred_at, start))
        if node.between is not None:
            low, high = node.between
            result &= Q(GreaterThanOrEqual(occurred_at, self.day_start(low)))
            result &= Q(LessThan(occurred_at, self.day_start(high + dt.timedelta(days=1))))
        for test in node.where:
            result &= property_test(test, value or json_property)
        return result

    def window_start(self, node: EventCondition) -> dt.datetime | None:
        """The earliest moment an event can have to pass the node's window (None: any time)."""
        if node.within_days is not None:
            return self.now - dt.timedelta(days=node.within_days)
        if node.between is not None:
            return self.day_start(node.between[0])
        return None

    def having_test(self, node: EventCondition, n: Any, total: Any, first: Any, last: Any) -> Q:
        """What `count`, `sum`, `first` and `last` ask of one contact's aggregates."""
        result = Q()
        if node.count_given:
            result &= bounds_test(n, node.count)
        if node.sum is not None:
            result &= bounds_test(Coalesce(total, 0.0), node.sum.bounds)
        if node.first is not None:
            result &= self.when_test(first, node.first)
        if node.last is not None:
            result &= self.when_test(last, node.last)
        return result

    def when_test(self, moment: Any, when: When) -> Q:
        result = Q()
        if when.older_than_days is not None:
            result &= Q(LessThan(moment, self.now - dt.timedelta(days=when.older_than_days)))
        if when.within_days is not None:
            result &= Q(GreaterThanOrEqual(moment, self.now - dt.timedelta(days=when.within_days)))
        if when.before is not None:
            result &= Q(LessThan(moment, self.day_start(when.before)))
        if when.after is not None:
            after = self.day_start(when.after + dt.timedelta(days=1))
            result &= Q(GreaterThanOrEqual(moment, after))
        return result


def condition_events(
    *, workspace: Workspace, condition: EventCondition, now: dt.datetime | None = None
) -> QuerySet[Event]:
    """The events an event condition looks at (its type, window and filters), every contact's."""
    return _Compiler(workspace, now or timezone.now(), NoReferences(), ()).event_rows(condition)


def bounds_test(expression: Any, bounds: Bounds) -> Q:
    result = Q()
    for op, value in bounds.items():
        result &= Q(COMPARISONS[op](expression, value))
    return result


PropertyValue = Callable[[str, str], Any]
"""(property name, JsonValue kind) → the SQL expression of that property's value."""


def json_property(name: str, kind: str) -> Any:
    if name == "url" and kind == "text":
        return PropertyUrlColumn()
    return JsonValue("properties", name, kind)


class PropertyUrlColumn(F):
    """The events' generated `property_url` column (events.models.PropertyUrl): the `url`
    property's text, already normalised on PostgreSQL."""

    def __init__(self) -> None:
        super().__init__("property_url")
        self.normalised = connection.vendor == "postgresql"


def normalised(expression: Any) -> Any:
    """Text as a marketer compares it: surrounding spaces and case do not matter.

    An expression marked `normalised` (event facts compute lower(trim()) once per event, not
    once per condition) is used as it is.
    """
    if getattr(expression, "normalised", False):
        return expression
    return UnicodeLower(Trim(expression))


def text_test(expression: Any, op: str, value: Any) -> Q:
    match op:
        case "eq":
            return Q(Exact(normalised(expression), value.lower()))
        case "in":
            return Q(In(normalised(expression), [v.lower() for v in value]))
        case "contains":
            return Q(Contains(normalised(expression), value.lower()))
        case "starts_with":
            return Q(StartsWith(normalised(expression), value.lower()))
        case "is_set":
            return ~Q(Exact(Trim(expression), ""))
    raise ConditionError(f"unsupported operator {op}")


def number_test(expression: Any, op: str, value: Any) -> Q:
    if op == "is_set":
        return Q()
    if op == "in":
        return Q(In(expression, list(value)))
    if op == "between":
        return Q(GreaterThanOrEqual(expression, value[0])) & Q(
            LessThanOrEqual(expression, value[1])
        )
    return Q(COMPARISONS[op](expression, value))


def number_holds(op: str, value: Any, number: float) -> bool:
    """`number_test` evaluated in Python on one number."""
    if op == "between":
        return value[0] <= number <= value[1]
    if op == "in":
        return number in value
    if op == "eq":
        return number == value
    return {
        "gt": number > value,
        "gte": number >= value,
        "lt": number < value,
        "lte": number <= value,
    }[op]


def list_test(array_text: Any, op: str, value: Any) -> Q:
    """A JSON list of texts (as JSON text): `contains` is one element equal to `value`."""
    if op == "is_set":
        return Q(Contains(array_text, '"'))
    return element_q(array_text, value)


def element_q(array_text: Any, value: str) -> Q:
    """The quoted element in the list's JSON text, written with or without \\u escapes."""
    text = value.strip().lower()
    patterns = dict.fromkeys((json.dumps(text), json.dumps(text, ensure_ascii=False)))
    result = Q()
    for pattern in patterns:
        result |= Q(Contains(UnicodeLower(array_text), pattern))
    return result


def property_test(test: PropertyFilter, value_of: PropertyValue = json_property) -> Q:
    """A positive or negative test on one event property (JSON), never NULL.

    A text `eq`, `in` or `contains` on a property holding a list (product_lines) is true when
    one element equals the value, as in document databases.
    """
    if test.op in NEGATIONS:
        return ~property_test(
            PropertyFilter(test.path, test.property, NEGATIONS[test.op], test.value), value_of
        )
    name, op, value = test.property, test.op, test.value
    if op == "is_set":
        text = value_of(name, "text")
        blank = Q(IsNull(text, False)) & Q(Exact(Trim(text), ""))
        return Q(IsNull(value_of(name, "present"), False)) & ~blank
    sample = value[0] if op in ("in", "between") else value
    if isinstance(sample, bool):
        flag = value_of(name, "boolean")
        return Q(IsNull(flag, False)) & Q(Exact(flag, "true" if value else "false"))
    if isinstance(sample, int | float):
        number = value_of(name, "number")
        return Q(IsNull(number, False)) & number_test(number, op, value)
    text = value_of(name, "text")
    result = Q(IsNull(text, False)) & text_test(text, op, value)
    if op in ("eq", "contains", "in"):
        array = value_of(name, "array")
        elements = Q()
        for item in value if op == "in" else (value,):
            elements |= element_q(array, item)
        result |= Q(IsNull(array, False)) & elements
    return result
