"""/api/v1 routes of the hand-off: assignment rules, settings, assignments (notifications: volano/notifications/api.py).

Rule replies carry "warnings" ([{"field", "message"}]): a saved rule that overlaps another or
names a rep without its product line is accepted, and the reply says what to look at.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from volano.core.api_input import ApiInput as Strict
from volano.handoff import selectors, services
from volano.handoff.models import Assignment, AssignmentRule, HandoffSettings

router = Router(tags=["handoff"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class RuleWarning(Schema):
    field: str
    message: str


class RuleIn(Strict):
    stored_in = AssignmentRule

    name: str
    regions: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    cap_ranges: list[str] = Field(default_factory=list)
    product_lines: list[str] = Field(default_factory=list)
    reps: list[int | str]
    position: int | None = None
    active: bool = True


class RuleOut(Schema):
    id: int
    name: str
    position: int
    regions: list[str]
    provinces: list[str]
    cap_ranges: list[str]
    product_lines: list[str]
    reps: list[int]
    active: bool
    created_at: dt.datetime
    warnings: list[RuleWarning] = Field(default_factory=list)


class SettingsIn(Strict):
    fallback_owner: int | str | None = None
    sla_hours: int | None = None
    work_start: int | None = None
    work_end: int | None = None


class SettingsOut(Schema):
    fallback_owner: int | None
    fallback_owner_email: str | None
    sla_hours: int
    work_start: int
    work_end: int


class AssignmentOut(Schema):
    id: int
    contact_id: int
    contact_name: str
    rep_id: int | None
    rep: str | None
    rule: str | None
    product_line: str
    status: str
    why: str
    reason: str
    assigned_at: dt.datetime
    due_at: dt.datetime | None
    answered_at: dt.datetime | None
    escalated: bool
    previous_id: int | None


class RejectIn(Strict):
    stored_in = Assignment

    reason: str = ""


def _rule_out(rule: AssignmentRule, warnings: list[dict]) -> dict:
    return {
        "id": rule.pk,
        "name": rule.name,
        "position": rule.position,
        "regions": rule.regions,
        "provinces": rule.provinces,
        "cap_ranges": rule.cap_ranges,
        "product_lines": rule.product_lines,
        "reps": rule.reps,
        "active": rule.active,
        "created_at": rule.created_at,
        "warnings": warnings,
    }


def _settings_out(handoff: HandoffSettings) -> dict:
    owner = handoff.fallback_owner
    return {
        "fallback_owner": owner.pk if owner else None,
        "fallback_owner_email": owner.email if owner else None,
        "sla_hours": handoff.sla_hours,
        "work_start": handoff.work_start,
        "work_end": handoff.work_end,
    }


def _assignment_out(assignment: Assignment) -> dict:
    return {
        "id": assignment.pk,
        "contact_id": assignment.contact_id,
        "contact_name": str(assignment.contact),
        "rep_id": assignment.rep_id,
        "rep": assignment.rep.email if assignment.rep else None,
        "rule": assignment.rule.name if assignment.rule else None,
        "product_line": assignment.product_line,
        "status": assignment.status,
        "why": assignment.why,
        "reason": assignment.reason,
        "assigned_at": assignment.assigned_at,
        "due_at": assignment.due_at,
        "answered_at": assignment.answered_at,
        "escalated": assignment.escalated,
        "previous_id": assignment.previous_id,
    }


# -- rules -----------------------------------------------------------------------------------


@router.get("/assignment-rules", response=list[RuleOut], summary="List assignment rules")
def rule_list(request: HttpRequest):
    workspace = _ws(request)
    return [
        _rule_out(rule, selectors.assignment_rule_warnings(workspace=workspace, rule=rule))
        for rule in selectors.assignment_rule_list(workspace=workspace)
    ]


@router.post("/assignment-rules", response={201: RuleOut}, summary="Add an assignment rule")
def rule_create(request: HttpRequest, payload: RuleIn):
    rule, warnings = services.assignment_rule_save(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump()
    )
    return 201, _rule_out(rule, warnings)


@router.get("/assignment-rules/{rule_id}", response=RuleOut, summary="Get an assignment rule")
def rule_get(request: HttpRequest, rule_id: int):
    workspace = _ws(request)
    rule = selectors.assignment_rule_get(workspace=workspace, rule_id=rule_id)
    return _rule_out(rule, selectors.assignment_rule_warnings(workspace=workspace, rule=rule))


@router.put("/assignment-rules/{rule_id}", response=RuleOut, summary="Replace an assignment rule")
def rule_update(request: HttpRequest, rule_id: int, payload: RuleIn):
    workspace = _ws(request)
    rule = selectors.assignment_rule_get(workspace=workspace, rule_id=rule_id)
    rule, warnings = services.assignment_rule_save(
        workspace=workspace, actor=_actor(request), data=payload.model_dump(), rule=rule
    )
    return _rule_out(rule, warnings)


@router.delete(
    "/assignment-rules/{rule_id}", response={204: None}, summary="Delete an assignment rule"
)
def rule_delete(request: HttpRequest, rule_id: int):
    workspace = _ws(request)
    rule = selectors.assignment_rule_get(workspace=workspace, rule_id=rule_id)
    services.assignment_rule_delete(workspace=workspace, actor=_actor(request), rule=rule)
    return 204, None


# -- settings --------------------------------------------------------------------------------


@router.get("/handoff/settings", response=SettingsOut, summary="Get the hand-off settings")
def settings_get(request: HttpRequest):
    return _settings_out(services.handoff_settings_get(workspace=_ws(request)))


@router.put("/handoff/settings", response=SettingsOut, summary="Change the hand-off settings")
def settings_put(request: HttpRequest, payload: SettingsIn):
    data = payload.model_dump(exclude_unset=True)
    return _settings_out(
        services.handoff_settings_save(workspace=_ws(request), actor=_actor(request), data=data)
    )


# -- assignments -----------------------------------------------------------------------------


@router.get("/assignments", response=list[AssignmentOut], summary="List lead assignments")
def assignment_list(request: HttpRequest, status: str = "", mine: bool = False):
    rows = selectors.assignments_for(
        workspace=_ws(request),
        rep=_actor(request) if mine else None,
        status=[s for s in status.split(",") if s] or None,
    )
    return [_assignment_out(a) for a in rows[:500]]


@router.post(
    "/assignments/{assignment_id}/accept", response=AssignmentOut, summary="Accept an assigned lead"
)
def assignment_accept(request: HttpRequest, assignment_id: int):
    workspace = _ws(request)
    assignment = selectors.assignment_get(workspace=workspace, assignment_id=assignment_id)
    services.assignment_accept(workspace=workspace, actor=_actor(request), assignment=assignment)
    return _assignment_out(
        selectors.assignment_get(workspace=workspace, assignment_id=assignment_id)
    )


@router.post(
    "/assignments/{assignment_id}/reject",
    response=AssignmentOut,
    summary="Reject an assigned lead, with a reason",
)
def assignment_reject(request: HttpRequest, assignment_id: int, payload: RejectIn):
    workspace = _ws(request)
    assignment = selectors.assignment_get(workspace=workspace, assignment_id=assignment_id)
    services.assignment_reject(
        workspace=workspace, actor=_actor(request), assignment=assignment, reason=payload.reason
    )
    return _assignment_out(
        selectors.assignment_get(workspace=workspace, assignment_id=assignment_id)
    )
