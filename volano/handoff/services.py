"""Hand-off to sales (being written)."""

from __future__ import annotations

from collections.abc import Iterable

from volano.core.models import Workspace


def handoff_later(
    *, workspace: Workspace, contact_ids: Iterable[int], product_line: str, why: str
) -> None:
    """After commit, assign these new SQLs to reps (placeholder until the hand-off lands)."""
