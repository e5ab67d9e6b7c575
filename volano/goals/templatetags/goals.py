"""{% load goals %}: `{{ value|goal_value:metric }}` (a goal's figure in its unit, the separators
of the language in use), `{{ progress|goal_status }}` (its status in words) and
`{% goals_beside start end %}` (the goals of a period with their progress: what the plan page
shows beside its lines)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from volano.goals import selectors
from volano.goals.metrics import Metric

register = template.Library()


@register.filter
def goal_value(value: Any, metric: Metric) -> str:
    """12 SQLs, € 12.500 or 23,5 %; "—" for no value."""
    if value is None or value == "":
        return "—"
    number = float(value)
    if metric.unit == "money":
        return f"€ {number_format(round(number), 0, force_grouping=True)}"
    if metric.unit == "percent":
        return f"{number_format(number, 1)} %"
    return number_format(round(number, 1) if number % 1 else int(number), force_grouping=True)


STATUS_CLASSES = {
    "upcoming": "tag",
    "on_track": "good",
    "behind": "warn",
    "achieved": "good",
    "missed": "bad",
    "no_data": "tag",
}


def status_label(status: str) -> str:
    return {
        "upcoming": _("not started"),
        "on_track": _("on track"),
        "behind": _("behind"),
        "achieved": _("achieved"),
        "missed": _("missed"),
        "no_data": _("no data yet"),
    }[status]


@register.filter
def goal_status(progress: selectors.Progress) -> str:
    return status_label(progress.status)


@register.filter
def goal_status_class(progress: selectors.Progress) -> str:
    return STATUS_CLASSES[progress.status]


@register.filter
def percent_of(part: float | None, whole: float | None) -> int:
    """How far along, 0–100, for a progress bar."""
    if not part or not whole:
        return 0
    return max(0, min(100, round(100 * float(part) / float(whole))))


@register.inclusion_tag("goals/_beside.html", takes_context=True)
def goals_beside(context: Any, start: dt.date, end: dt.date) -> dict:
    request = context["request"]
    workspace = request.workspace
    user = getattr(request, "user", None)
    viewer = user if user is not None and user.is_authenticated else None
    return {
        "rows": selectors.goals_for_period(
            workspace=workspace, start=start, end=end, viewer=viewer
        ),
        "start": start,
        "end": end,
        "can": context.get("can", {}),
    }
