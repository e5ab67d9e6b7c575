"""Sections that domains above lifecycle add to the funnel report (hand-off registers its
acceptance and SLA figures under "handoff" from HandoffConfig.ready): the report page and
/api/v1/reports/funnel show them without lifecycle importing those domains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from volano.core.models import Workspace


class ReportSection(Protocol):
    def __call__(self, *, workspace: Workspace, start: dt.date, end: dt.date) -> dict[str, Any]: ...


_SECTIONS: dict[str, Callable[..., dict[str, Any]]] = {}


def report_section_register(name: str, section: ReportSection) -> None:
    _SECTIONS[name] = section


def report_section(name: str) -> ReportSection | None:
    return _SECTIONS.get(name)


def report_sections() -> dict[str, ReportSection]:
    return dict(_SECTIONS)
