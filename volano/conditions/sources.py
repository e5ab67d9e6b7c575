"""Field sources: the fields of the condition language that another domain owns.

The condition language sits below the domains that read it, so it cannot import them: a
domain above (scoring, for `score.<slug>`) registers a source here from its AppConfig.ready,
and the parser and the compiler ask the registry. A field `<prefix>.<key>` of a registered
source parses to `FieldSpec(kind=source.kind, key=key)` when `keys(workspace)` holds the key,
and compiles to `compile(workspace, key, op, value)`, a Q over contacts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Q

    from volano.core.models import Workspace


@dataclass(frozen=True)
class FieldSource:
    """`unknown(key, known)` is the message for a key the workspace does not have (`known` is
    the sorted list of those it has); `kind` names the FieldSpec kind the source compiles."""

    prefix: str
    kind: str
    keys: Callable[[Workspace], set[str]]
    unknown: Callable[[str, list[str]], str]
    compile: Callable[[Workspace, str, str, Any], Q]


_SOURCES: dict[str, FieldSource] = {}


def field_source_register(source: FieldSource) -> None:
    """Register (or replace: a reloaded AppConfig registers again) the source of its prefix."""
    _SOURCES[source.prefix] = source


def field_source(prefix: str) -> FieldSource | None:
    return _SOURCES.get(prefix)


def field_source_of_kind(kind: str) -> FieldSource | None:
    return next((s for s in _SOURCES.values() if s.kind == kind), None)


# What the marketer calls the codes a condition holds, by the `Names` field they fill
# ("stages", "lists", "segments", "score_models"): the domain that owns the codes registers a
# reader `(workspace) -> {code: name}` from its AppConfig.ready, so `condition_names` does not
# import the domains above the condition language.
_NAMES: dict[str, Callable[[Workspace], dict[str, str]]] = {}


def names_source_register(field: str, names: Callable[[Workspace], dict[str, str]]) -> None:
    """Register (or replace) the reader of one `Names` field."""
    _NAMES[field] = names


def names_sources() -> dict[str, Callable[[Workspace], dict[str, str]]]:
    return dict(_NAMES)
