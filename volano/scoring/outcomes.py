"""Outcome moments kept by domains above scoring, for the predictive model's labels.

The predictive model learns from each contact's first outcome moment: a closed deal or an order
(read here) and the first change to customer, lost customer or disqualified, which lifecycle
keeps and scoring sits below. Lifecycle registers its source from its AppConfig.ready: given a
workspace and the outcome stages, a SELECT of (contact_id, at) rows and its parameters. A light
module of its own, so registering does not load scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from volano.core.models import Workspace

OutcomeSource = Callable[["Workspace", tuple[str, ...]], tuple[str, list]]
_OUTCOME_SOURCES: dict[str, OutcomeSource] = {}


def outcome_source_register(name: str, source: OutcomeSource) -> None:
    """Register (or replace: a reloaded AppConfig registers again) a source of outcome moments."""
    _OUTCOME_SOURCES[name] = source


def outcome_sources() -> list[OutcomeSource]:
    return [source for _name, source in sorted(_OUTCOME_SOURCES.items())]
