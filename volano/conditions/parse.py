"""Parse and validate a condition definition (JSON) into the typed form of `types.py`.

Every error names the node it is about, as a path from the root "conditions":
`conditions.all[2].count.gte: expected a whole number ≥ 0`. A list at the root is read as "all".
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.utils.translation import gettext as _

from volano.conditions.fields import (
    COMPANY_TEXT,
    CONSENT_PURPOSES,
    CONSENT_VALUES,
    CONTACT_DATETIME,
    CONTACT_TEXT,
    CUSTOM_KINDS,
    LIFECYCLE_STAGES,
    MAX_CONDITIONS,
    MAX_DATE,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_GROUP_ITEMS,
    MAX_IN_ITEMS,
    MAX_NUMBER,
    MAX_VALUES,
    MIN_DATE,
    OPS_BY_KIND,
)
from volano.conditions.sources import field_source
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
    SumBound,
    When,
)
from volano.contacts.models import SizeBand
from volano.contacts.selectors import custom_fields
from volano.core.models import Workspace
from volano.events.models import EventType

ROOT = "conditions"
PROPERTY_OPS: tuple[str, ...] = (
    "eq",
    "neq",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "gt",
    "gte",
    "lt",
    "lte",
)
PROPERTY_OPS += ("between", "is_set", "is_not_set")
EVENT_KEYS = ("event", "where", "count", "within_days", "between", "first", "last", "sum")
BOUND_KEYS = ("eq", "gt", "gte", "lt", "lte")
WHEN_KEYS = ("older_than_days", "within_days", "before", "after")
# The order event keeps its product lines as a list; "product_line" reads better in a rule.
PROPERTY_ALIASES = {("order", "product_line"): "product_lines"}


def condition_parse(definition: dict | list, *, workspace: Workspace) -> Condition:
    """The typed condition, or ConditionError naming the first bad node."""
    parser = _Parser(workspace)
    if isinstance(definition, list):
        return parser.group("all", definition, ROOT, ROOT, depth=1)
    return parser.node(definition, ROOT)


class _Parser:
    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        # Sizes over the whole tree, bounded so that any condition that parses also compiles to
        # a statement both databases accept (SQLite's 32,766 parameters, its expression depth).
        self.conditions = 0
        self.values = 0
        self.custom = {
            entity: {f.key: f for f in custom_fields(workspace=workspace, entity=entity)}
            for entity in ("contact", "company")
        }

    @functools.cache  # noqa: B019 (one parser per parse: the cache dies with it)
    def source_keys(self, prefix: str) -> set[str]:
        source = field_source(prefix)
        return source.keys(self.workspace) if source else set()

    def node(self, data: Any, path: str, depth: int = 0) -> Condition:
        if not isinstance(data, dict) or not data:
            raise ConditionError(_("expected a condition object"), field=path)
        for kind in ("all", "any", "not"):
            if kind in data:
                _only_keys(data, (kind,), path)
                if depth >= MAX_DEPTH:
                    raise ConditionError(
                        _(
                            "groups nested more than %(depth)d deep: move the inner conditions "
                            "up a level"
                        )
                        % {"depth": MAX_DEPTH},
                        field=path,
                    )
                if kind == "not":
                    return Not(path, self.node(data["not"], f"{path}.not", depth + 1))
                return self.group(kind, data[kind], f"{path}.{kind}", path, depth=depth + 1)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise ConditionError(
                _("more than %(count)d conditions in one definition: use a segment or a list")
                % {"count": MAX_CONDITIONS},
                field=path,
            )
        if "field" in data:
            return self.field_condition(data, path)
        if "event" in data:
            return self.event_condition(data, path)
        for kind, node_class in (("list", ListCondition), ("segment", SegmentCondition)):
            if kind in data:
                _only_keys(data, (kind,), path)
                slug = data[kind]
                if not isinstance(slug, str) or not slug.strip() or "\x00" in slug:
                    raise ConditionError(
                        _("expected the slug of a list")
                        if kind == "list"
                        else _("expected the slug of a segment"),
                        field=f"{path}.{kind}",
                    )
                return node_class(path, slug.strip())
        raise ConditionError(
            _("expected one of: %(keys)s") % {"keys": "all, any, not, field, event, list, segment"},
            field=path,
        )

    def group(self, kind: str, items: Any, items_path: str, path: str, *, depth: int) -> Condition:
        if not isinstance(items, list):
            raise ConditionError(_("expected a list of conditions"), field=items_path)
        if not items:
            raise ConditionError(
                _("an empty group matches nothing: add a condition"), field=items_path
            )
        if len(items) > MAX_GROUP_ITEMS:
            raise ConditionError(
                _(
                    "a group of %(count)s conditions is too long (at most %(max)d): split it "
                    "into groups or use a list"
                )
                % {"count": f"{len(items):,}", "max": MAX_GROUP_ITEMS},
                field=items_path,
            )
        parsed = tuple(self.node(item, f"{items_path}[{i}]", depth) for i, item in enumerate(items))
        return AllOf(path, parsed) if kind == "all" else AnyOf(path, parsed)

    def value_list(self, value: Any, path: str, item: Any) -> tuple:
        values = _value_list(value, path, item)
        self.values += len(values)
        if self.values > MAX_VALUES:
            raise ConditionError(
                _("more than %(count)s listed values in one definition: use a static list")
                % {"count": f"{MAX_VALUES:,}"},
                field=path,
            )
        return values

    # -- fields ---------------------------------------------------------------------------

    def field_condition(self, data: dict, path: str) -> FieldCondition:
        _only_keys(data, ("field", "op", "value"), path)
        spec = self.field_spec(data["field"], f"{path}.field")
        op = data.get("op")
        if not isinstance(op, str) or op not in OPS_BY_KIND[spec.kind]:
            allowed = ", ".join(OPS_BY_KIND[spec.kind])
            raise ConditionError(
                _("operator %(op)s does not apply to %(field)s (%(kind)s); use one of: %(allowed)s")
                % {"op": repr(op), "field": spec.name, "kind": spec.kind, "allowed": allowed},
                field=f"{path}.op",
            )
        value_path = f"{path}.value"
        value = data.get("value")
        if op in ("is_set", "is_not_set"):
            if value not in (None, True):
                raise ConditionError(_("%(op)s takes no value") % {"op": op}, field=value_path)
            value = None
        elif op in ("in", "not_in"):
            value = self.value_list(value, value_path, lambda v, p: self.scalar(spec, v, p))
        elif op == "between":
            value = _between(value, value_path, lambda v, p: self.scalar(spec, v, p))
        elif op in ("older_than_days", "within_last_days"):
            value = _days(value, value_path, minimum=0)
        else:
            value = self.scalar(spec, value, value_path)
        return FieldCondition(path, spec, op, value)

    def field_spec(self, name: Any, path: str) -> FieldSpec:
        if not isinstance(name, str):
            raise ConditionError(_("expected a field name"), field=path)
        if name in CONTACT_TEXT:
            return FieldSpec(name, "text", "contact", name)
        if name in CONTACT_DATETIME:
            return FieldSpec(name, "datetime", "contact", name)
        if name in ("tags", "owner"):
            return FieldSpec(name, name, "contact", name)
        if name == "lifecycle_stage":
            return FieldSpec(name, "choice", "contact", name, choices=LIFECYCLE_STAGES)
        head, _dot, rest = name.partition(".")
        source = field_source(head) if rest else None
        if source is not None:
            known = self.source_keys(head)
            if rest not in known:
                raise ConditionError(source.unknown(rest, sorted(known)), field=path)
            return FieldSpec(name, source.kind, "contact", source.prefix, key=rest)
        if head == "custom" and rest:
            return self.custom_spec(name, "contact", rest, path)
        if head == "company" and rest:
            if rest == "size_band":
                return FieldSpec(name, "choice", "company", rest, choices=tuple(SizeBand.values))
            if rest in COMPANY_TEXT:
                return FieldSpec(name, "text", "company", rest)
            if rest.startswith("custom.") and rest != "custom.":
                return self.custom_spec(name, "company", rest.removeprefix("custom."), path)
        if head == "consent" and rest in CONSENT_PURPOSES:
            return FieldSpec(name, "consent", "contact", "consent", key=rest)
        if head == "custom" and rest in self.custom["company"]:
            raise ConditionError(
                _("unknown field %(field)s; did you mean %(hint)s?")
                % {"field": repr(name), "hint": f"company.custom.{rest}"},
                field=path,
            )
        raise ConditionError(_("unknown field %(field)s") % {"field": repr(name)}, field=path)

    def custom_spec(self, name: str, entity: str, key: str, path: str) -> FieldSpec:
        definition = self.custom[entity].get(key)
        if definition is None:
            if entity == "contact" and key in self.custom["company"]:
                raise ConditionError(
                    _("unknown custom field %(field)s; did you mean %(hint)s?")
                    % {"field": repr(name), "hint": f"company.custom.{key}"},
                    field=path,
                )
            raise ConditionError(
                _("unknown custom field %(field)s") % {"field": repr(name)}, field=path
            )
        return FieldSpec(
            name,
            CUSTOM_KINDS[definition.type],
            entity,
            "custom",
            key=key,
            label=definition.label,
            choices=tuple(str(c) for c in definition.choices),
        )

    def scalar(self, spec: FieldSpec, value: Any, path: str) -> Any:
        kind = spec.kind
        if kind in ("text", "tags"):
            return _text(value, path)
        if kind in ("choice", "multi_choice"):
            text = _text(value, path)
            for choice in spec.choices:
                if choice.strip().lower() == text.strip().lower():
                    return choice
            raise ConditionError(
                _("%(value)s is not one of: %(choices)s")
                % {"value": repr(text), "choices": ", ".join(spec.choices)},
                field=path,
            )
        if kind in ("number", "score"):
            return _number(value, path)
        if kind in ("date", "datetime"):
            return _date(value, path)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ConditionError(_("expected true or false"), field=path)
            return value
        if kind == "owner":
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_NUMBER:
                return value
            if isinstance(value, str) and "@" in value:
                return _text(value, path).lower()
            raise ConditionError(_("expected a user's email or id"), field=path)
        if kind == "consent":
            if value not in CONSENT_VALUES:
                raise ConditionError(
                    _("expected one of: %(keys)s") % {"keys": ", ".join(CONSENT_VALUES)},
                    field=path,
                )
            return value
        raise ConditionError(_("unsupported field kind %(kind)s") % {"kind": kind}, field=path)

    # -- events ---------------------------------------------------------------------------

    def event_condition(self, data: dict, path: str) -> EventCondition:
        _only_keys(data, EVENT_KEYS, path)
        event_type = data["event"]
        if event_type not in EventType.values:
            raise ConditionError(
                _("unknown event type %(type)s") % {"type": repr(event_type)},
                field=f"{path}.event",
            )
        where = data.get("where") or {}
        if not isinstance(where, dict):
            raise ConditionError(_("expected an object of property filters"), field=f"{path}.where")
        filters: list[PropertyFilter] = []
        for name, test in where.items():
            filters.extend(self.property_filters(event_type, name, test, f"{path}.where.{name}"))
        count = Bounds(gte=1)
        if "count" in data:
            count = _bounds(data["count"], f"{path}.count", whole=True)
        within_days = between = None
        if "within_days" in data:
            within_days = _days(data["within_days"], f"{path}.within_days", minimum=1)
        if "between" in data:
            if within_days is not None:
                raise ConditionError(
                    _("use either within_days or between, not both"), field=f"{path}.between"
                )
            between = _between(data["between"], f"{path}.between", _date)
        first = _when(data["first"], f"{path}.first") if "first" in data else None
        last = _when(data["last"], f"{path}.last") if "last" in data else None
        total = None
        if "sum" in data:
            total = self.sum_bound(event_type, data["sum"], f"{path}.sum")
        return EventCondition(
            path,
            event_type,
            tuple(filters),
            count,
            "count" in data,
            within_days,
            between,
            first,
            last,
            total,
        )

    def property_filters(
        self, event_type: str, name: Any, test: Any, path: str
    ) -> list[PropertyFilter]:
        if not isinstance(name, str) or not name.strip():
            raise ConditionError(_("expected a property name"), field=path)
        _no_nul(name, path)
        name = PROPERTY_ALIASES.get((event_type, name), name)
        if not isinstance(test, dict):
            return [PropertyFilter(path, name, "eq", _property_scalar(test, path))]
        if not test:
            raise ConditionError(_('expected an operator, e.g. {"contains": …}'), field=path)
        filters = []
        for op, value in test.items():
            op_path = f"{path}.{op}"
            if op not in PROPERTY_OPS:
                allowed = ", ".join(PROPERTY_OPS)
                raise ConditionError(
                    _("unknown operator %(op)s; use one of: %(allowed)s")
                    % {"op": repr(op), "allowed": allowed},
                    field=op_path,
                )
            if op in ("is_set", "is_not_set"):
                if value not in (None, True):
                    raise ConditionError(
                        _("%(op)s takes true or nothing") % {"op": op}, field=op_path
                    )
                value = None
            elif op in ("in", "not_in"):
                value = self.value_list(value, op_path, _property_scalar)
                if len({_scalar_kind(v) for v in value}) > 1:
                    raise ConditionError(_("mix of texts and numbers in one list"), field=op_path)
            elif op in ("contains", "starts_with"):
                value = _text(value, op_path)
            elif op in ("gt", "gte", "lt", "lte"):
                value = _number(value, op_path)
            elif op == "between":
                value = _between(value, op_path, _number)
            else:
                value = _property_scalar(value, op_path)
            filters.append(PropertyFilter(op_path, name, op, value))
        return filters

    def sum_bound(self, event_type: str, data: Any, path: str) -> SumBound:
        if not isinstance(data, dict):
            raise ConditionError(_('expected {"property": …, "gte": …}'), field=path)
        name = data.get("property")
        if not isinstance(name, str) or not name.strip():
            raise ConditionError(
                _("expected the name of a numeric property"), field=f"{path}.property"
            )
        _no_nul(name, f"{path}.property")
        bounds_data = {k: v for k, v in data.items() if k != "property"}
        return SumBound(name, _bounds(bounds_data, path, whole=False))


def _only_keys(data: dict, allowed: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConditionError(
                _("unknown key %(key)s; expected: %(allowed)s")
                % {"key": repr(key), "allowed": ", ".join(allowed)},
                field=f"{path}.{key}",
            )


def _no_nul(value: str, path: str) -> None:
    # SQLite's LIKE stops at a NUL, so `contains "\0"` would match every contact; PostgreSQL
    # refuses the character in text outright.
    if "\x00" in value:
        raise ConditionError(_("text cannot contain the NUL character (\\u0000)"), field=path)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConditionError(_("expected text"), field=path)
    _no_nul(value, path)
    if not value.strip():
        raise ConditionError(_("expected some text (use is_not_set for empty)"), field=path)
    return value.strip()


def _number(value: Any, path: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConditionError(_("expected a number"), field=path)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ConditionError(_("expected a finite number"), field=path)
    if not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise ConditionError(_number_range(), field=path)
    return value


def _number_range() -> str:
    return _("expected a number between -%(max)s and %(max)s") % {"max": f"{MAX_NUMBER:,}"}


def _whole(value: Any, path: str, minimum: int = 0, maximum: int = MAX_NUMBER) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConditionError(
                _("expected a whole number ≥ %(min)d") % {"min": minimum}, field=path
            )
    if value < minimum:
        raise ConditionError(_("expected a whole number ≥ %(min)d") % {"min": minimum}, field=path)
    if value > maximum:
        raise ConditionError(
            _("expected a whole number from %(min)d to %(max)s")
            % {"min": minimum, "max": f"{maximum:,}"},
            field=path,
        )
    return value


def _days(value: Any, path: str, minimum: int) -> int:
    """A number of days, at most MAX_DAYS (a hundred years: "now minus N days" stays a date)."""
    return _whole(value, path, minimum=minimum, maximum=MAX_DAYS)


def _date(value: Any, path: str) -> dt.date:
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if MIN_DATE <= day <= MAX_DATE:
                return day
            raise ConditionError(
                _("expected a date from %(min)s to %(max)s")
                % {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()},
                field=path,
            )
    raise ConditionError(_("expected a date like 2025-03-31"), field=path)


def _property_scalar(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _number(value, path)
    if isinstance(value, str):
        return _text(value, path)
    raise ConditionError(_("expected text, a number or true/false"), field=path)


def _scalar_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "text"


def _value_list(value: Any, path: str, item: Any) -> tuple:
    if not isinstance(value, list) or not value:
        raise ConditionError(_("expected a non-empty list of values"), field=path)
    if len(value) > MAX_IN_ITEMS:
        raise ConditionError(
            _("a list of %(count)s values is too long (at most %(max)s): use a static list instead")
            % {"count": f"{len(value):,}", "max": f"{MAX_IN_ITEMS:,}"},
            field=path,
        )
    return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))


def _between(value: Any, path: str, item: Any) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise ConditionError(_("expected two values [from, to]"), field=path)
    low, high = item(value[0], f"{path}[0]"), item(value[1], f"{path}[1]")
    if low > high:
        raise ConditionError(_("the first value is after the second"), field=path)
    return (low, high)


def _bounds(data: Any, path: str, *, whole: bool) -> Bounds:
    if not isinstance(data, dict) or not data:
        raise ConditionError(_('expected bounds such as {"gte": 3}'), field=path)
    values: dict[str, float] = {}
    for key, value in data.items():
        if key not in BOUND_KEYS:
            raise ConditionError(
                _("unknown bound %(key)s; expected: %(allowed)s")
                % {"key": repr(key), "allowed": ", ".join(BOUND_KEYS)},
                field=f"{path}.{key}",
            )
        if whole:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConditionError(_("expected a number"), field=f"{path}.{key}")
            values[key] = _whole(value, f"{path}.{key}")
        else:
            values[key] = _number(value, f"{path}.{key}")
    return Bounds(**values)


def _when(data: Any, path: str) -> When:
    if not isinstance(data, dict) or not data:
        raise ConditionError(_('expected e.g. {"older_than_days": 90}'), field=path)
    _only_keys(data, WHEN_KEYS, path)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("before", "after"):
            values[key] = _date(value, f"{path}.{key}")
        else:
            values[key] = _days(value, f"{path}.{key}", minimum=0)
    return When(**values)
