"""Goals' reads: the goals of a workspace, one goal, and its progress against the straight line
from its start to its target (one statement per goal: its metric's daily figures)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.core.errors import NotFound
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows
from volano.core.tenancy import access_in_workspace
from volano.goals import metrics
from volano.goals.models import Goal

# a goal is on track while its value is at least the line's (at most, for a cost), within a
# rounding hair
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Progress:
    """Where a goal stands on `as_of` (today, or its deadline once it has passed).

    status: "upcoming" (not started), "on_track" / "behind" (running: against the line),
    "achieved" / "missed" (at or after the deadline, or a total already past its target),
    "no_data" (a rate with nothing to divide by yet)."""

    status: str
    as_of: dt.date
    value: float | None
    expected: float | None  # the straight line's value on `as_of`
    start_value: float
    target: float
    elapsed: float  # share of the goal's days gone, 0 to 1
    projected: float | None  # a total at the deadline at the pace so far
    days_left: int
    series: list[tuple[str, float | None]] = field(default_factory=list)  # (day, value so far)
    line: list[tuple[str, float]] = field(default_factory=list)  # the line's two ends

    @property
    def gap(self) -> float | None:
        """How far the value is from the line, in the metric's unit (positive: ahead)."""
        if self.value is None or self.expected is None:
            return None
        return self.value - self.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "as_of": self.as_of,
            "value": self.value,
            "expected": self.expected,
            "start_value": self.start_value,
            "target": self.target,
            "elapsed": self.elapsed,
            "projected": self.projected,
            "days_left": self.days_left,
            "series": [{"day": d, "value": v} for d, v in self.series],
            "line": [{"day": d, "value": v} for d, v in self.line],
        }


def sees_every_goal(workspace: Workspace, viewer: User | None) -> bool:
    """Administrators, marketers and viewers read every goal (they see the marketing side); a
    sales rep only the goals they own and those shared with sales."""
    if viewer is None:
        return True
    role = (
        Membership.objects.filter(workspace=workspace, user=viewer)
        .values_list("role", flat=True)
        .first()
    )
    return allows(role, Cap.VIEW_MARKETING)


def goal_list(*, workspace: Workspace, viewer: User | None = None) -> QuerySet[Goal]:
    """The workspace's goals; with `viewer`, only those that person may read."""
    goals = Goal.objects.for_workspace(workspace).select_related("owner").order_by("deadline", "pk")
    if not sees_every_goal(workspace, viewer):
        goals = goals.filter(Q(owner=viewer) | Q(shared=True))
    return goals


def goal_get(*, workspace: Workspace, goal_id: int, viewer: User | None = None) -> Goal:
    """One goal; with `viewer`, a goal that person may not read is as absent as a missing one."""
    goal = access_in_workspace(Goal, workspace=workspace, pk=goal_id)
    mine = goal.owner_id is not None and goal.owner_id == getattr(viewer, "pk", None)
    if not (mine or goal.shared or sees_every_goal(workspace, viewer)):
        raise NotFound(
            _("no such %(thing)s in this workspace") % {"thing": Goal._meta.verbose_name},
            field="goal",
        )
    return goal


def goals_for_period(
    *, workspace: Workspace, start: dt.date, end: dt.date, viewer: User | None = None
) -> list[dict]:
    """The goals whose period overlaps [start, end] (a plan's year or quarter), each with its
    progress: what a plan page shows beside its lines."""
    goals = goal_list(workspace=workspace, viewer=viewer).filter(
        start_on__lte=end, deadline__gte=start
    )
    return [
        {"goal": g, "metric": metrics.METRICS[g.metric], "progress": goal_progress(g)}
        for g in goals
    ]


def workspace_today(workspace: Workspace) -> dt.date:
    """Today in the workspace's time zone (the day goals are measured to)."""
    return timezone.now().astimezone(metrics.zone_of(workspace)).date()


def goal_progress(goal: Goal, *, today: dt.date | None = None) -> Progress:
    metric = metrics.METRICS[goal.metric]
    today = today or workspace_today(goal.workspace)
    start, deadline = goal.start_on, goal.deadline
    target = float(goal.target)
    if metric.kind == "total":
        start_value = 0.0
    else:  # a rate with nothing measured before the start: the line is the target throughout
        start_value = float(goal.target if goal.start_value is None else goal.start_value)
    total_days = (deadline - start).days + 1
    eve = start - dt.timedelta(days=1)
    line = [(eve.isoformat(), start_value), (deadline.isoformat(), target)]

    def on_line(day: dt.date) -> float:
        share = min(max((day - eve).days / total_days, 0.0), 1.0)
        return start_value + (target - start_value) * share

    if today < start:
        return Progress(
            status="upcoming",
            as_of=today,
            value=None,
            expected=start_value,
            start_value=start_value,
            target=target,
            elapsed=0.0,
            projected=None,
            days_left=total_days,
            line=line,
        )
    as_of = min(today, deadline)
    days = metrics.daily(goal.workspace, metric, start, as_of, goal.counted_for)
    series: list[tuple[str, float | None]] = []
    numerator = denominator = 0.0
    day = start
    while day <= as_of:  # the goal's days (at most ten years), not its rows
        n, d = days.get(day, (0.0, 0.0))
        numerator += n
        denominator += d
        series.append((day.isoformat(), metric.value(numerator, denominator)))
        day += dt.timedelta(days=1)
    value = metric.value(numerator, denominator)
    elapsed = ((as_of - eve).days) / total_days
    expected = on_line(as_of)
    projected = value / elapsed if metric.kind == "total" and value is not None else None
    higher = metric.better == "higher"

    def reached(v: float, mark: float) -> bool:
        return v >= mark - TOLERANCE if higher else v <= mark + TOLERANCE

    if value is None:
        status = "no_data"
    elif today > deadline:
        status = "achieved" if reached(value, target) else "missed"
    elif metric.kind == "total" and reached(value, target):
        status = "achieved"
    else:
        status = "on_track" if reached(value, expected) else "behind"
    return Progress(
        status=status,
        as_of=as_of,
        value=value,
        expected=expected,
        start_value=start_value,
        target=target,
        elapsed=elapsed,
        projected=projected,
        days_left=max(0, (deadline - today).days),
        series=series,
        line=line,
    )
