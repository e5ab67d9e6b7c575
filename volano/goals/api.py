"""/api/v1/goals routes: SMART goals (create, read, change, delete) and their progress against
the straight line from the start to the target. Amounts are in the workspace currency,
percentages from 0 to 100."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages
from volano.goals import metrics, selectors, services
from volano.goals.models import Goal

router = Router(tags=["goals"])

PAGE_SIZE = 50


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class GoalIn(Strict):
    stored_in = Goal

    name: str = Field(max_length=200)
    metric: str = Field(max_length=40)
    target: float | str
    start_on: dt.date | str = Field(alias="start")
    deadline: dt.date | str
    owner: int | str
    start_value: float | str | None = None
    notes: str = Field(default="", max_length=5000)
    shared: bool = False
    scope: str = Field(default="team", max_length=10)


class GoalPatch(Strict):
    stored_in = Goal

    name: str | None = Field(default=None, max_length=200)
    metric: str | None = Field(default=None, max_length=40)
    target: float | str | None = None
    start_on: dt.date | str | None = Field(default=None, alias="start")
    deadline: dt.date | str | None = None
    owner: int | str | None = None
    start_value: float | str | None = None
    notes: str | None = Field(default=None, max_length=5000)
    shared: bool | None = None
    scope: str | None = Field(default=None, max_length=10)


class MetricOut(Schema):
    key: str
    label: str
    unit: str
    better: str
    kind: str
    definition: str
    per_owner: bool


class PointOut(Schema):
    day: str
    value: float | None


class ProgressOut(Schema):
    status: str
    as_of: dt.date
    value: float | None
    expected: float | None
    start_value: float
    target: float
    elapsed: float
    projected: float | None
    days_left: int
    series: list[PointOut]
    line: list[PointOut]


class GoalOut(Schema):
    id: int
    name: str
    metric: str
    metric_label: str
    unit: str
    better: str
    target: float
    start: dt.date
    deadline: dt.date
    start_value: float | None
    owner_id: int | None
    owner: str | None
    notes: str
    shared: bool
    scope: str
    status: str
    value: float | None
    expected: float | None
    created_at: dt.datetime


def _metric_out(metric: metrics.Metric) -> dict:
    return {
        "key": metric.key,
        "label": str(metric.label),
        "unit": metric.unit,
        "better": metric.better,
        "kind": metric.kind,
        "definition": str(metric.definition),
        "per_owner": metric.per_owner,
    }


def _goal_out(goal: Goal) -> dict:
    metric = metrics.METRICS[goal.metric]
    progress = selectors.goal_progress(goal)
    return {
        "id": goal.pk,
        "name": goal.name,
        "metric": goal.metric,
        "metric_label": str(metric.label),
        "unit": metric.unit,
        "better": metric.better,
        "target": float(goal.target),
        "start": goal.start_on,
        "deadline": goal.deadline,
        "start_value": None if goal.start_value is None else float(goal.start_value),
        "owner_id": goal.owner_id,
        "owner": goal.owner.email if goal.owner else None,
        "notes": goal.notes,
        "shared": goal.shared,
        "scope": goal.scope,
        "status": progress.status,
        "value": progress.value,
        "expected": progress.expected,
        "created_at": goal.created_at,
    }


def _data(payload: Strict) -> dict:
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in payload.model_dump(exclude_unset=True).items()
    }


@router.get("/goals", response=list[GoalOut], by_alias=True, summary="List goals, with progress")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=PAGE_SIZE)
def goals_list(request: HttpRequest):
    goals = selectors.goal_list(workspace=_ws(request), viewer=_actor(request))
    return [_goal_out(g) for g in goals]


@router.post("/goals", response={201: GoalOut}, by_alias=True, summary="Set a goal")
def goals_create(request: HttpRequest, payload: GoalIn):
    goal = services.goal_create(workspace=_ws(request), actor=_actor(request), data=_data(payload))
    return 201, _goal_out(goal)


@router.get("/goals/metrics", response=list[MetricOut], summary="The metrics a goal can measure")
def goals_metrics(request: HttpRequest):
    return [_metric_out(m) for m in metrics.METRICS.values()]


@router.get("/goals/{goal_id}", response=GoalOut, by_alias=True, summary="One goal")
def goals_get(request: HttpRequest, goal_id: int):
    goal = selectors.goal_get(workspace=_ws(request), goal_id=goal_id, viewer=_actor(request))
    return _goal_out(goal)


@router.put("/goals/{goal_id}", response=GoalOut, by_alias=True, summary="Change a goal")
def goals_update(request: HttpRequest, goal_id: int, payload: GoalPatch):
    goal = selectors.goal_get(workspace=_ws(request), goal_id=goal_id)
    goal = services.goal_update(
        workspace=_ws(request), actor=_actor(request), goal=goal, data=_data(payload)
    )
    return _goal_out(goal)


@router.delete("/goals/{goal_id}", response={204: None}, summary="Delete a goal")
def goals_delete(request: HttpRequest, goal_id: int):
    goal = selectors.goal_get(workspace=_ws(request), goal_id=goal_id)
    services.goal_delete(workspace=_ws(request), actor=_actor(request), goal=goal)
    return 204, None


@router.get(
    "/goals/{goal_id}/progress",
    response=ProgressOut,
    summary="A goal's progress: its value day by day against the straight line to the target",
)
def goals_progress(request: HttpRequest, goal_id: int):
    goal = selectors.goal_get(workspace=_ws(request), goal_id=goal_id, viewer=_actor(request))
    return selectors.goal_progress(goal).as_dict()
