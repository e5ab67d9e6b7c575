"""How the condition language reaches lists and segments, and what a segment depends on.

`SegmentResolver` turns `{"list": slug}` into the list's members and `{"segment": slug}` (or
`{"persona": slug}`, an alias) into the segment's current, materialised members. On the way it
compiles the referenced segment's own definition with the chain of slugs, so a cycle
(a → b → a) is found and named by the compiler before anything is saved.

`condition_dependencies` lists what a parsed condition reads (event types, fields, lists,
segments), so an incremental refresh re-evaluates only the segments a change can move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from volano.conditions.compiler import condition_q
from volano.conditions.fields import MAX_DEPTH
from volano.conditions.parse import condition_parse
from volano.conditions.types import (
    AllOf,
    AnyOf,
    Condition,
    ConditionError,
    EventCondition,
    FieldCondition,
    ListCondition,
    Not,
    SegmentCondition,
)
from volano.core.models import Workspace

# a condition group is two JSON levels ({"all": [...]}); leaves add a few more
JSON_DEPTH = 2 * MAX_DEPTH + 8


def definition_normalise(definition: Any, depth: int = 0) -> Any:
    """`{"persona": slug}` is another name for `{"segment": slug}` (a persona is a segment).

    Below the depth the parser accepts, the definition is left as it is (the parser refuses it,
    naming the node) rather than walked to the recursion limit."""
    if depth > JSON_DEPTH:
        return definition
    if isinstance(definition, list):
        return [definition_normalise(item, depth + 1) for item in definition]
    if isinstance(definition, dict):
        if set(definition) == {"persona"}:
            return {"segment": definition["persona"]}
        return {key: definition_normalise(value, depth + 1) for key, value in definition.items()}
    return definition


def segment_condition_parse(definition: Any, *, workspace: Workspace) -> Condition:
    if not isinstance(definition, dict | list) or not definition:
        raise ConditionError(_("a segment needs a condition"), field="conditions")
    return condition_parse(definition_normalise(definition), workspace=workspace)


class SegmentResolver:
    """The Resolver of volano.conditions for one workspace (parsed definitions are cached)."""

    def __init__(self, workspace: Workspace, *, overrides: dict[str, Any] | None = None):
        self.workspace = workspace
        # slug -> definition to use instead of the stored one (a segment being saved)
        self.overrides = overrides or {}
        self._parsed: dict[str, Condition] = {}

    def resolve_list(self, slug: str) -> QuerySet:
        from volano.segments.models import ContactList, ListMembership

        found = ContactList.objects.for_workspace(self.workspace).filter(slug=slug).first()
        if found is None:
            raise ConditionError(_("unknown list '%(slug)s'") % {"slug": slug})
        return (
            ListMembership.objects.for_workspace(self.workspace)
            .filter(list=found)
            .values("contact_id")
        )

    def resolve_segment(self, slug: str, chain: tuple[str, ...]) -> QuerySet:
        from volano.segments.models import Segment, SegmentMembership

        segment = Segment.objects.for_workspace(self.workspace).filter(slug=slug).first()
        if segment is None and slug not in self.overrides:
            raise ConditionError(_("unknown segment '%(slug)s'") % {"slug": slug})
        # Compile the referenced definition with the chain: this is where cycles are caught.
        # A segment switched off (its definition cannot run) is not compiled: who refers to it
        # reads its membership as it was last refreshed.
        if segment is None or segment.disabled_at is None or slug in self.overrides:
            condition_q(
                workspace=self.workspace,
                condition=self.parsed(slug, segment),
                resolver=self,
                chain=chain,
            )
        return (
            SegmentMembership.objects.for_workspace(self.workspace)
            .filter(segment__slug=slug, left_at__isnull=True)
            .values("contact_id")
        )

    def parsed(self, slug: str, segment: Any) -> Condition:
        if slug not in self._parsed:
            definition = self.overrides.get(slug, getattr(segment, "definition", None))
            self._parsed[slug] = segment_condition_parse(definition, workspace=self.workspace)
        return self._parsed[slug]


@dataclass
class Dependencies:
    """What a condition reads. `fields` holds condition field names ("province",
    "custom.fatturato", "company.size_band", "consent.third_party", "owner")."""

    events: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    segments: set[str] = field(default_factory=set)
    sliding: bool = False  # a relative time window: needs the periodic full refresh

    def touched_by(self, changed: set[str]) -> bool:
        """True when one of the `changed` tokens can move a contact in or out.

        Tokens: "event:<type>", "field:<name>" (a prefix: "field:company" covers every company
        field, "field:custom" every custom field), "list:<slug>", "segment:<slug>", "*".
        """
        if "*" in changed:
            return True
        for token in changed:
            kind, _, name = token.partition(":")
            if kind == "event" and (name in self.events or name == "*"):
                return True
            if kind == "field" and any(
                name == "*" or dep == name or dep.startswith(name + ".") for dep in self.fields
            ):
                return True
            if kind == "list" and (name in self.lists or (name == "*" and self.lists)):
                return True
            if kind == "segment" and name in self.segments:
                return True
        return False


def condition_dependencies(condition: Condition) -> Dependencies:
    deps = Dependencies()

    def walk(node: Condition) -> None:
        match node:
            case AllOf(items=items) | AnyOf(items=items):
                for item in items:
                    walk(item)
            case Not(item=item):
                walk(item)
            case FieldCondition():
                deps.fields.add(node.field.name)
                if node.op in ("older_than_days", "within_last_days"):
                    deps.sliding = True
            case EventCondition():
                deps.events.add(node.type)
                if node.within_days is not None or any(
                    w is not None and (w.older_than_days is not None or w.within_days is not None)
                    for w in (node.first, node.last)
                ):
                    deps.sliding = True
            case ListCondition(slug=slug):
                deps.lists.add(slug)
            case SegmentCondition(slug=slug):
                deps.segments.add(slug)

    walk(condition)
    return deps
