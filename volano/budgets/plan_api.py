"""/api/v1/budgets/plans… routes: plans (made empty, from a template or from last year's plan),
their lines, the 70/20/10 rebalance, planned vs actual vs forecast, reviews and versions,
CSV/XLSX export; /api/v1/budgets/time-logs for people's hours. Amounts are in euro; they may
be given as numbers or as text typed either way ("1.234,50")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.budgets import plan_exports, plan_selectors, plan_services
from volano.budgets.plan_models import Plan, PlanLine
from volano.budgets.plan_templates import TEMPLATES
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages

router = Router(tags=["budget plans"])

PAGE_SIZE = 50
Amount = float | str


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class LineIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=20)
    item: str | None = Field(default=None, max_length=20)
    channel: str | None = Field(default=None, max_length=100)
    campaign: int | None = None
    maturity: str | None = Field(default=None, max_length=12)
    team: str | None = Field(default=None, max_length=12)
    role: str | None = Field(default=None, max_length=100)
    activities: str | None = Field(default=None, max_length=500)
    hours: Amount | None = None
    hourly_rate: Amount | None = None
    committed: Amount | None = None
    months: list[Amount] | None = Field(default=None, max_length=12)
    total: Amount | None = None
    note: str | None = Field(default=None, max_length=500)


class PlanIn(Strict):
    name: str = Field(max_length=200)
    year: int
    budget: Amount | None = None
    notes: str | None = Field(default=None, max_length=5000)
    template: str | None = Field(default=None, max_length=40)
    from_plan: int | None = None
    lines: list[LineIn] = Field(default_factory=list, max_length=plan_services.MAX_LINES)


class PlanPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    year: int | None = None
    budget: Amount | None = None
    notes: str | None = Field(default=None, max_length=5000)


class ReviewIn(Strict):
    notes: str = Field(default="", max_length=5000)
    date: dt.date | None = None


class TimeLogIn(Strict):
    person: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=100)
    day: dt.date
    hours: Amount
    hourly_rate: Amount | None = None
    activity: str | None = Field(default=None, max_length=300)
    line: int | None = None


class LineOut(Schema):
    id: int
    name: str
    kind: str
    item: str
    channel: str
    campaign: int | None
    maturity: str
    team: str
    role: str
    activities: str
    hours: Decimal
    hourly_rate: Decimal
    committed: Decimal
    months: list[Decimal]
    quarters: list[Decimal]
    total: Decimal
    note: str


class MixOut(Schema):
    shares: dict[str, float]
    targets: dict[str, float]
    amounts: dict[str, Decimal]
    reserve: Decimal
    warning: bool
    message: str


class PlanOut(Schema):
    id: int
    name: str
    year: int
    budget: Decimal
    notes: str
    template: str
    version: int
    total: Decimal
    quarters: list[Decimal]
    kinds: dict[str, Decimal]
    mix: MixOut
    lines: list[LineOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class PlanBrief(Schema):
    id: int
    name: str
    year: int
    budget: Decimal
    version: int


class FigureRow(Schema):
    id: int
    name: str
    kind: str
    maturity: str
    planned: Decimal
    planned_to_date: Decimal
    actual: Decimal
    forecast: Decimal
    variance: Decimal
    flag: str


class FiguresOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    today: dt.date
    rows: list[FigureRow]
    totals: dict[str, Any]
    unplanned: Decimal
    shared: list[dict[str, Any]]


class ReviewOut(Schema):
    id: int
    date: dt.date
    notes: str
    figures: dict
    changes: list[dict]
    version_before: int
    version_after: int
    created_at: dt.datetime


class VersionOut(Schema):
    number: int
    reason: str
    budget: Decimal
    created_at: dt.datetime
    lines: list[dict]


class TimeLogOut(Schema):
    id: int
    person: str
    role: str
    day: dt.date
    hours: Decimal
    hourly_rate: Decimal | None
    activity: str
    line: int | None


class TemplateOut(Schema):
    key: str
    title: str
    description: str
    total: Decimal


def _line_out(line: PlanLine) -> dict:
    months = line.months
    return {
        "id": line.pk,
        "name": line.name,
        "kind": line.kind,
        "item": line.item,
        "channel": line.channel,
        "campaign": line.campaign_id,
        "maturity": line.maturity,
        "team": line.team,
        "role": line.role,
        "activities": line.activities,
        "hours": line.hours,
        "hourly_rate": line.hourly_rate,
        "committed": line.committed,
        "months": months,
        "quarters": [sum(months[q * 3 : q * 3 + 3], Decimal(0)) for q in range(4)],
        "total": line.total,
        "note": line.note,
    }


def _plan_out(plan: Plan) -> dict:
    lines = plan_selectors.plan_lines(plan)
    totals = plan_selectors.plan_totals(plan, lines)
    mix = plan_selectors.plan_mix(plan, lines)
    return {
        "id": plan.pk,
        "name": plan.name,
        "year": plan.year,
        "budget": plan.budget,
        "notes": plan.notes,
        "template": plan.template,
        "version": plan.version,
        "total": totals["total"],
        "quarters": totals["quarters"],
        "kinds": {k["kind"]: k["total"] for k in totals["kinds"]},
        "mix": {
            k: mix[k] for k in ("shares", "targets", "amounts", "reserve", "warning", "message")
        },
        "lines": [_line_out(line) for line in lines],
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
    }


def _line_data(payload: LineIn) -> dict:
    return payload.model_dump(exclude_unset=True)


@router.get(
    "/budgets/plan-templates", response=list[TemplateOut], summary="Templates to start a plan from"
)
def plan_templates(request: HttpRequest):
    return [
        {"key": t.key, "title": str(t.title), "description": str(t.description), "total": t.total}
        for t in TEMPLATES.values()
    ]


@router.get(
    "/budgets/plans", response=list[PlanBrief], summary="Budget plans, the latest year first"
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=PAGE_SIZE)
def plans_list(request: HttpRequest, year: int | None = None):
    return list(plan_selectors.plan_list(workspace=_ws(request), year=year))


@router.post(
    "/budgets/plans",
    response={201: PlanOut},
    summary="Make a plan: with lines, from a template (`template`) or from a previous plan with its actuals (`from_plan`)",
)
def plan_create(request: HttpRequest, payload: PlanIn):
    data = payload.model_dump(exclude_unset=True, exclude={"lines", "template", "from_plan"})
    plan = plan_services.plan_create(
        workspace=_ws(request),
        actor=_actor(request),
        data=data,
        lines=[line.model_dump(exclude_unset=True) for line in payload.lines],
        template=payload.template or "",
        from_plan=payload.from_plan,
    )
    return 201, _plan_out(plan)


@router.get(
    "/budgets/plans/{plan_id}", response=PlanOut, summary="A plan with its lines, totals and split"
)
def plan_get(request: HttpRequest, plan_id: int):
    return _plan_out(plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id))


@router.patch(
    "/budgets/plans/{plan_id}",
    response=PlanOut,
    summary="Change a plan's name, year, budget or notes",
)
def plan_update(request: HttpRequest, plan_id: int, payload: PlanPatch):
    plan = plan_services.plan_update(
        workspace=_ws(request),
        actor=_actor(request),
        plan_id=plan_id,
        data=payload.model_dump(exclude_unset=True),
    )
    return _plan_out(plan)


@router.delete("/budgets/plans/{plan_id}", response={204: None}, summary="Delete a plan")
def plan_delete(request: HttpRequest, plan_id: int):
    plan_services.plan_delete(workspace=_ws(request), actor=_actor(request), plan_id=plan_id)
    return 204, None


@router.post("/budgets/plans/{plan_id}/lines", response={201: LineOut}, summary="Add a line")
def line_add(request: HttpRequest, plan_id: int, payload: LineIn):
    line = plan_services.line_add(
        workspace=_ws(request), actor=_actor(request), plan_id=plan_id, data=_line_data(payload)
    )
    return 201, _line_out(line)


@router.patch("/budgets/plans/{plan_id}/lines/{line_id}", response=LineOut, summary="Change a line")
def line_update(request: HttpRequest, plan_id: int, line_id: int, payload: LineIn):
    line = plan_services.line_update(
        workspace=_ws(request),
        actor=_actor(request),
        plan_id=plan_id,
        line_id=line_id,
        data=_line_data(payload),
    )
    return _line_out(line)


@router.delete(
    "/budgets/plans/{plan_id}/lines/{line_id}", response={204: None}, summary="Remove a line"
)
def line_delete(request: HttpRequest, plan_id: int, line_id: int):
    plan_services.line_delete(
        workspace=_ws(request), actor=_actor(request), plan_id=plan_id, line_id=line_id
    )
    return 204, None


@router.post(
    "/budgets/plans/{plan_id}/rebalance", response=PlanOut, summary="Rebalance the plan to 70/20/10"
)
def plan_rebalance(request: HttpRequest, plan_id: int):
    return _plan_out(
        plan_services.plan_rebalance(workspace=_ws(request), actor=_actor(request), plan_id=plan_id)
    )


@router.get(
    "/budgets/plans/{plan_id}/figures",
    response=FiguresOut,
    summary="Planned vs actual vs forecast per line for the year or a quarter",
)
def plan_figures(
    request: HttpRequest, plan_id: int, period: Literal["year", "q1", "q2", "q3", "q4"] = "year"
):
    plan = plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id)
    today = timezone.localdate()
    figures = plan_selectors.plan_figures(plan, period=period, today=today)
    shared = [
        {k: (float(v) if isinstance(v, Decimal) else v) for k, v in row.items() if k != "line"}
        for row in plan_selectors.shared_report(plan, today=today)
    ]
    return {**figures, "shared": shared}


@router.get(
    "/budgets/plans/{plan_id}/reviews",
    response=list[ReviewOut],
    summary="A plan's reviews, the latest first",
)
def reviews_list(request: HttpRequest, plan_id: int):
    plan = plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id)
    return [_review_out(r) for r in plan_selectors.reviews(plan)]


def _review_out(review: Any) -> dict:
    return {
        "id": review.pk,
        "date": review.reviewed_on,
        "notes": review.notes,
        "figures": review.figures,
        "changes": review.changes,
        "version_before": review.version_before,
        "version_after": review.version_after,
        "created_at": review.created_at,
    }


@router.post(
    "/budgets/plans/{plan_id}/reviews",
    response={201: ReviewOut},
    summary="Record a review: notes, the figures of the day, the changes since the last version",
)
def review_record(request: HttpRequest, plan_id: int, payload: ReviewIn):
    review = plan_services.review_record(
        workspace=_ws(request),
        actor=_actor(request),
        plan_id=plan_id,
        notes=payload.notes,
        reviewed_on=payload.date,
    )
    return 201, _review_out(review)


def _version_out(version: Any) -> dict:
    return {
        "number": version.number,
        "reason": version.reason,
        "budget": version.budget,
        "created_at": version.created_at,
        "lines": version.lines,
    }


@router.get(
    "/budgets/plans/{plan_id}/versions", response=list[VersionOut], summary="A plan's kept versions"
)
def versions_list(request: HttpRequest, plan_id: int):
    plan = plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id)
    return [_version_out(v) for v in plan_selectors.versions(plan)]


@router.get(
    "/budgets/plans/{plan_id}/versions/{number}",
    response=VersionOut,
    summary="One version of a plan",
)
def version_get(request: HttpRequest, plan_id: int, number: int):
    plan = plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id)
    return _version_out(plan_selectors.version_get(plan, number))


@router.get(
    "/budgets/plans/{plan_id}/export", summary="The plan as CSV or XLSX", response={200: None}
)
def plan_export(request: HttpRequest, plan_id: int, format: Literal["csv", "xlsx"] = "csv"):
    plan = plan_selectors.plan_get(workspace=_ws(request), plan_id=plan_id)
    return plan_download(plan, format)


def plan_download(plan: Plan, format: str) -> HttpResponse | StreamingHttpResponse:
    today = timezone.localdate()
    name = f"{slugify(plan.name) or 'plan'}-{plan.year}"
    if format == "xlsx":
        response = HttpResponse(
            plan_exports.plan_xlsx(plan, today=today),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    streaming = StreamingHttpResponse(
        plan_exports.plan_csv(plan, today=today, language=get_language()),
        content_type="text/csv; charset=utf-8",
    )
    streaming["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return streaming


@router.get(
    "/budgets/time-logs", response=list[TimeLogOut], summary="Hours logged, the latest first"
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=PAGE_SIZE)
def time_logs_list(request: HttpRequest, plan: int | None = None):
    workspace = _ws(request)
    chosen = plan_selectors.plan_get(workspace=workspace, plan_id=plan) if plan else None
    return [_log_out(e) for e in plan_selectors.time_logs(workspace=workspace, plan=chosen)]


def _log_out(entry: Any) -> dict:
    return {
        "id": entry.pk,
        "person": entry.person,
        "role": entry.role,
        "day": entry.day,
        "hours": entry.hours,
        "hourly_rate": entry.hourly_rate,
        "activity": entry.activity,
        "line": entry.line_id,
    }


@router.post("/budgets/time-logs", response={201: TimeLogOut}, summary="Log hours (people's time)")
def time_log_create(request: HttpRequest, payload: TimeLogIn):
    entry = plan_services.time_log(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump(exclude_unset=True)
    )
    return 201, _log_out(entry)


@router.delete("/budgets/time-logs/{log_id}", response={204: None}, summary="Remove logged hours")
def time_log_delete(request: HttpRequest, log_id: int):
    plan_services.time_log_delete(workspace=_ws(request), actor=_actor(request), log_id=log_id)
    return 204, None
