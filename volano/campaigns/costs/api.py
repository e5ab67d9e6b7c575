"""/api/v1 routes of costs: totals grouped by campaign, channel, platform or day; importing a
cost file (multipart); costs entered by hand. Amounts are numbers in the workspace currency."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from volano.campaigns.costs import selectors, services
from volano.campaigns.costs.parsers import MAX_BYTES
from volano.campaigns.models import CostEntry
from volano.core.api_input import ApiInput as Strict
from volano.core.errors import ApplicationError

router = Router(tags=["costs"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class CostsQuery(Schema):
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    group: str = Field("campaign", max_length=20)


class CostRowOut(Schema):
    key: str
    label: str
    cost: float


class CostsOut(Schema):
    total: float
    currency: str
    rows: list[CostRowOut]


class ProblemOut(Schema):
    row: int
    column: str
    value: str
    message: str


class ReportOut(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[ProblemOut]
    warnings: list[ProblemOut]
    notes: list[str] = []
    dry_run: bool
    error_count: int = 0


class ManualIn(Strict):
    stored_in = CostEntry

    day: dt.date
    amount: float = Field(ge=0, lt=1e12)
    kind: str = "other"
    campaign: int | None = None
    channel: str = ""
    note: str = ""


class ManualOut(Schema):
    id: int
    day: dt.date
    amount: float
    kind: str
    campaign_id: int | None
    channel: str
    note: str
    currency: str


def _manual_out(entry: CostEntry) -> dict:
    return {
        "id": entry.pk,
        "day": entry.day,
        "amount": float(entry.amount),
        "kind": entry.kind,
        "campaign_id": entry.campaign_id,
        "channel": entry.channel,
        "note": entry.note,
        "currency": entry.currency,
    }


@router.get("/costs", response=CostsOut, summary="Costs in a period, grouped")
def costs_get(request: HttpRequest, filters: Query[CostsQuery]):
    workspace = _ws(request)
    summary = selectors.costs_summary(
        workspace=workspace, start=filters.from_, end=filters.to, group=filters.group
    )
    return {
        "total": float(summary["total"]),
        "currency": workspace.currency,
        "rows": [{**row, "cost": float(row["cost"])} for row in summary["rows"]],
    }


@router.post("/costs/import", response=ReportOut, summary="Import an ad platform's cost file")
def costs_import(
    request: HttpRequest,
    file: File[UploadedFile],
    platform: Form[str] = "",
    dry_run: Form[bool] = False,
):
    if file.size and file.size > MAX_BYTES:
        raise ApplicationError(
            "the file is larger than 20 MB / il file supera i 20 MB", field="file"
        )
    report = services.costs_import(
        workspace=_ws(request),
        actor=_actor(request),
        content=file.read(),
        filename=file.name or "",
        platform=platform or None,
        dry_run=dry_run,
    )
    return {**report.as_dict(), "error_count": report.error_count}


@router.get("/costs/manual", response=list[ManualOut], summary="Costs entered by hand")
def manual_list(request: HttpRequest):
    return [_manual_out(e) for e in selectors.manual_costs(workspace=_ws(request))]


@router.post("/costs/manual", response={201: ManualOut}, summary="Enter a cost by hand")
def manual_create(request: HttpRequest, payload: ManualIn):
    entry = services.cost_create(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump()
    )
    return 201, _manual_out(entry)


@router.put("/costs/manual/{cost_id}", response=ManualOut, summary="Change a cost entered by hand")
def manual_update(request: HttpRequest, cost_id: int, payload: ManualIn):
    entry = services.cost_update(
        workspace=_ws(request), actor=_actor(request), cost_id=cost_id, data=payload.model_dump()
    )
    return _manual_out(entry)


@router.delete("/costs/manual/{cost_id}", response={204: None}, summary="Delete a manual cost")
def manual_delete(request: HttpRequest, cost_id: int):
    services.cost_delete(workspace=_ws(request), actor=_actor(request), cost_id=cost_id)
    return 204, None
