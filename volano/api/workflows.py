"""/api/v1/workflows: parse, call a service or selector, shape the reply.

The body of POST and PUT is the pinned definition of issue 15 (`{"name", "trigger", "steps",
"goal"?}`), with optional `slug`, `reenrolment` and `reenrolment_days` beside it. A bad
definition is a 422 whose `field` is the path of the bad step (`steps[2].then[0].template`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages
from volano.core.errors import ApplicationError
from volano.workflows import selectors, services
from volano.workflows.models import Workflow

router = Router(tags=["workflows"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_ENROL_IDS = 10_000
SETTINGS = ("slug", "reenrolment", "reenrolment_days", "template", "parameters")


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class StatsOut(Schema):
    enrolled: int
    active: int
    completed: int
    exited: int
    goal_reached: int


class StepCountOut(Schema):
    key: str
    kind: str
    path: str
    waiting: int
    done: int
    outcomes: dict[str, int]


class PathConversionOut(Schema):
    step: str
    path: str
    took: int
    goal_reached: int
    completed: int
    active: int
    conversion: float


class WorkflowOut(Schema):
    id: int
    slug: str
    name: str
    status: str
    paused_reason: str
    reenrolment: str
    reenrolment_days: int
    definition: Any
    published_version: int | None
    published_definition: Any
    created_at: dt.datetime
    updated_at: dt.datetime
    stats: StatsOut
    steps: list[StepCountOut]
    conversion: list[PathConversionOut]


class WorkflowSummaryOut(Schema):
    id: int
    slug: str
    name: str
    status: str
    created_at: dt.datetime


class WorkflowIn(Strict):
    stored_in = Workflow

    name: str | None = None
    trigger: Any = None
    steps: Any = None
    goal: Any = None
    category: str | None = None
    suppress_while_in: Any = None
    # instead of a definition: one of seed 004's ready templates and its parameters
    template: str | None = Field(default=None, max_length=80)
    parameters: Any = None
    slug: str = ""
    reenrolment: str = "never"
    reenrolment_days: int = Field(default=0, ge=0, le=3650)


class WorkflowPutIn(WorkflowIn):
    reenrolment: str | None = None  # type: ignore[assignment]
    reenrolment_days: int | None = Field(default=None, ge=0, le=3650)  # type: ignore[assignment]


class EnrolIn(Strict):
    contact_ids: list[int] | None = Field(default=None, max_length=MAX_ENROL_IDS)
    segment: str | None = Field(default=None, max_length=80)


class ReplayIn(Strict):
    days: int = Field(default=90, ge=1, le=365)


class ReplayStepOut(Schema):
    key: str
    kind: str
    path: str
    count: int
    outcomes: dict[str, int] = {}
    with_comparable_emails: int | None = None
    simulated: bool = True


class ReplayEmailOut(Schema):
    step: str
    template: str
    count: int


class ReplayContactOut(Schema):
    contact_id: int
    email: str | None
    entered_at: dt.datetime
    emails: list[str]


class ReplayOut(Schema):
    days: int
    entered: int
    goal_reached: int
    steps: list[ReplayStepOut]
    emails: list[ReplayEmailOut]
    sample: list[ReplayContactOut]
    notes: list[str]


def _definition(payload: WorkflowIn) -> dict:
    data = payload.model_dump(exclude=set(SETTINGS))
    for optional in ("goal", "category", "suppress_while_in"):
        if data.get(optional) is None:
            data.pop(optional, None)
    return data


def _out(request: HttpRequest, workflow: Workflow) -> dict:
    workspace = _ws(request)
    version = workflow.published_version
    return {
        "id": workflow.pk,
        "slug": workflow.slug,
        "name": workflow.name,
        "status": workflow.status,
        "paused_reason": workflow.paused_reason,
        "reenrolment": workflow.reenrolment,
        "reenrolment_days": workflow.reenrolment_days,
        "definition": workflow.draft,
        "published_version": version.number if version else None,
        "published_definition": version.definition if version else None,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
        "stats": selectors.workflow_stats(workspace=workspace, workflow=workflow),
        "steps": selectors.workflow_step_counts(workspace=workspace, workflow=workflow),
        "conversion": selectors.workflow_path_conversion(workspace=workspace, workflow=workflow),
    }


def _get(request: HttpRequest, workflow_id: int) -> Workflow:
    return selectors.workflow_get(workspace=_ws(request), workflow_id=workflow_id)


@router.get("/workflows", response=list[WorkflowSummaryOut], summary="List workflows")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def workflows_list(request: HttpRequest):
    return selectors.workflow_list(workspace=_ws(request))


@router.post("/workflows", response={201: WorkflowOut}, summary="Create a draft workflow")
def workflows_create(request: HttpRequest, payload: WorkflowIn):
    """From a definition, or from a ready template: `{"template": slug, "parameters": {…}}`
    (`nuovo-contatto`, `contatto-non-convertito`, `cliente-perso`; docs/workflows.md), which
    also creates its email templates."""
    if payload.template is not None:
        workflow = services.workflow_create_from_template(
            workspace=_ws(request),
            actor=_actor(request),
            template=payload.template,
            parameters=payload.parameters,
            slug=payload.slug,
        )
        return 201, _out(request, _get(request, workflow.pk))
    workflow = services.workflow_create(
        workspace=_ws(request),
        actor=_actor(request),
        definition=_definition(payload),
        slug=payload.slug,
        reenrolment=payload.reenrolment,
        reenrolment_days=payload.reenrolment_days,
    )
    return 201, _out(request, _get(request, workflow.pk))


@router.get("/workflows/{workflow_id}", response=WorkflowOut, summary="Get a workflow")
def workflows_get(request: HttpRequest, workflow_id: int):
    """With `stats` (enrolled, active, completed, exited, goal_reached) and, per step of the
    published version, how many wait there now and how many ran it."""
    return _out(request, _get(request, workflow_id))


@router.put("/workflows/{workflow_id}", response=WorkflowOut, summary="Replace the draft")
def workflows_put(request: HttpRequest, workflow_id: int, payload: WorkflowPutIn):
    if payload.template is not None or payload.parameters is not None:
        raise ApplicationError(
            _("a template makes a new workflow: POST /api/v1/workflows"), field="template"
        )
    workflow = services.workflow_update(
        workspace=_ws(request),
        actor=_actor(request),
        workflow=_get(request, workflow_id),
        definition=_definition(payload),
        reenrolment=payload.reenrolment,
        reenrolment_days=payload.reenrolment_days,
    )
    return _out(request, _get(request, workflow.pk))


@router.post("/workflows/{workflow_id}/publish", response=WorkflowOut, summary="Publish the draft")
def workflows_publish(request: HttpRequest, workflow_id: int):
    """The draft becomes a new version (checked in full: templates, lists, segments); running
    enrolments stay on their version."""
    workflow = services.workflow_publish(
        workspace=_ws(request), actor=_actor(request), workflow=_get(request, workflow_id)
    )
    return _out(request, _get(request, workflow.pk))


@router.post("/workflows/{workflow_id}/pause", response=WorkflowOut, summary="Pause")
def workflows_pause(request: HttpRequest, workflow_id: int):
    workflow = services.workflow_pause(
        workspace=_ws(request), actor=_actor(request), workflow=_get(request, workflow_id)
    )
    return _out(request, _get(request, workflow.pk))


@router.post("/workflows/{workflow_id}/enrol", summary="Enrol contacts by id or a segment")
def workflows_enrol(request: HttpRequest, workflow_id: int, payload: EnrolIn):
    """`{"contact_ids": [...]}` or `{"segment": slug}`; returns `{"enrolled": N}` (those already
    active, or whom the re-enrolment rule keeps out, are left out)."""
    workspace = _ws(request)
    workflow = _get(request, workflow_id)
    if (payload.contact_ids is None) == (payload.segment is None):
        raise ApplicationError(_("give either contact_ids or segment"), field="contact_ids")
    if payload.segment is not None:
        from volano.segments.selectors import segment_get, segment_members

        segment = segment_get(workspace=workspace, slug_or_id=payload.segment)
        count = services.workflow_enrol(
            workspace=workspace,
            actor=_actor(request),
            workflow=workflow,
            contacts=segment_members(workspace=workspace, segment=segment),
            source="api",
        )
    else:
        count = services.workflow_enrol_ids(
            workspace=workspace,
            actor=_actor(request),
            workflow=workflow,
            contact_ids=payload.contact_ids or [],
            source="api",
        )
    return {"enrolled": count}


@router.post("/workflows/{workflow_id}/replay", response=ReplayOut, summary="Replay the draft")
def workflows_replay(request: HttpRequest, workflow_id: int, payload: ReplayIn):
    """The draft run over the last `days` days of the timeline, reading only (nothing is sent
    or written): `entered`, per step `count` (and the branches or paths taken), `goal_reached`,
    the emails each would have received (`emails`, a `sample` of contacts), and `notes` on what
    a replay cannot know (docs/workflows.md, "Replay")."""
    from volano.workflows.replay import workflow_replay

    return workflow_replay(
        workspace=_ws(request), workflow=_get(request, workflow_id), days=payload.days
    )
