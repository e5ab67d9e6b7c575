"""/api/v1/broadcasts (pinned by issue 14): create, list, read with the report, send, cancel.

Bad input (an unknown template, segment or list; both a segment and a list; a past send time;
a broken template; a bad "ab") is a 422 naming the field. Every reply carries `warnings`: the
whole-list warning of seed 004, when it applies."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages
from volano.emails.broadcasts import selectors, services
from volano.emails.broadcasts.services import BroadcastInvalid
from volano.emails.models import Broadcast, BroadcastStatus, EmailTemplate
from volano.segments.models import ContactList, Segment

router = Router(tags=["broadcasts"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class AbIn(Strict):
    which: Literal["subject", "content"]
    subject_b: str = Field("", max_length=300)
    template_b: str = Field("", max_length=80)
    split: int = 20
    metric: Literal["opens", "clicks"] = "opens"
    hours: int = 4


class BroadcastIn(Strict):
    stored_in = Broadcast

    template: str = Field(max_length=80)
    segment: str | None = Field(None, max_length=80)
    list_: str | None = Field(None, alias="list", max_length=80)
    send_at: dt.datetime | None = None
    ab: AbIn | None = None
    name: str = ""
    slug: str = ""


class SkippedOut(Schema):
    no_consent: int
    suppressed: int
    capped: int


class ReportOut(Schema):
    sent: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    unsubscribed: int
    complained: int
    skipped: SkippedOut


class AbOut(Schema):
    which: str
    subject_b: str
    template_b: str | None
    split: int
    metric: str
    hours: int
    winner: str | None
    winner_at: dt.datetime | None
    winner_due_at: dt.datetime | None


class WarningOut(Schema):
    code: str
    message: str


class BroadcastOut(Schema):
    id: int
    name: str
    slug: str
    status: str
    template: str
    segment: str | None
    list: str | None
    send_at: dt.datetime | None
    ab: AbOut | None
    recipients: int
    report: ReportOut
    warnings: builtins.list[WarningOut]  # (`list` is a field of this schema)
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def broadcast_out(workspace: Any, broadcast: Broadcast) -> dict:
    report = selectors.broadcast_report(workspace=workspace, broadcast=broadcast)
    ab = None
    if broadcast.is_ab:
        ab = {
            "which": broadcast.ab_which,
            "subject_b": broadcast.ab_subject_b,
            "template_b": broadcast.ab_template_b.slug if broadcast.ab_template_b else None,
            "split": broadcast.ab_split,
            "metric": broadcast.ab_metric,
            "hours": broadcast.ab_hours,
            "winner": broadcast.winner.upper() or None,
            "winner_at": broadcast.winner_at,
            "winner_due_at": broadcast.due_at if broadcast.mailing_a_id else None,
        }
    recipients = selectors.broadcast_recipients(workspace=workspace, broadcast=broadcast)
    return {
        "id": broadcast.pk,
        "name": broadcast.name,
        "slug": broadcast.slug,
        "status": broadcast.status,
        "template": broadcast.template.slug,
        "segment": broadcast.segment.slug if broadcast.segment else None,
        "list": broadcast.contact_list.slug if broadcast.contact_list else None,
        "send_at": broadcast.send_at,
        "ab": ab,
        "recipients": recipients,
        "report": report,
        # before the send only: a sent one's audience has moved on since
        "warnings": selectors.broadcast_warnings(workspace=workspace, broadcast=broadcast)
        if broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
        else [],
        "error": broadcast.error,
        "created_at": broadcast.created_at,
        "started_at": broadcast.started_at,
        "finished_at": broadcast.finished_at,
    }


def _by_slug(model: Any, workspace: Any, slug: str, field: str, what: str) -> Any:
    found = model.objects.for_workspace(workspace).filter(slug=slug).first()
    if found is None:
        raise BroadcastInvalid(
            _("no %(what)s “%(slug)s” in this workspace") % {"what": what, "slug": slug[:80]},
            field=field,
        )
    return found


@router.post("/broadcasts", response={201: BroadcastOut}, summary="Create a broadcast")
def broadcasts_create(request: HttpRequest, payload: BroadcastIn):
    workspace = _ws(request)
    template = _by_slug(EmailTemplate, workspace, payload.template, "template", _("template"))
    if payload.segment is not None and payload.list_ is not None:
        raise BroadcastInvalid(_("choose a segment or a list, not both"), field="list")
    segment = contact_list = None
    if payload.segment is not None:
        segment = _by_slug(Segment, workspace, payload.segment, "segment", _("segment"))
    if payload.list_ is not None:
        contact_list = _by_slug(ContactList, workspace, payload.list_, "list", _("list"))
    ab = None
    if payload.ab is not None:
        ab = payload.ab.model_dump()
        if payload.ab.which == "content":
            ab["template_b"] = _by_slug(
                EmailTemplate, workspace, payload.ab.template_b, "ab.template_b", _("template")
            )
    broadcast = services.broadcast_create(
        workspace=workspace,
        actor=_actor(request),
        template=template,
        segment=segment,
        contact_list=contact_list,
        name=payload.name,
        slug=payload.slug,
        send_at=payload.send_at,
        ab=ab,
    )
    return 201, broadcast_out(workspace, broadcast)


class _Shaped:
    """The broadcasts of a queryset shaped for the reply, only those of the page asked for
    (each carries its report and warnings: a few queries, not one per broadcast of the list)."""

    def __init__(self, workspace: Any, queryset: Any) -> None:
        self.workspace, self.queryset = workspace, queryset

    def __len__(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list[dict]:
        return [broadcast_out(self.workspace, b) for b in self.queryset[page]]


@router.get("/broadcasts", response=list[BroadcastOut], summary="List broadcasts")
@paginate(Pages, page_size=50, max_page_size=200)
def broadcasts_list(request: HttpRequest):
    workspace = _ws(request)
    return _Shaped(workspace, selectors.broadcast_list(workspace=workspace))


@router.get("/broadcasts/{broadcast_id}", response=BroadcastOut, summary="Get a broadcast")
def broadcasts_get(request: HttpRequest, broadcast_id: int):
    workspace = _ws(request)
    broadcast = selectors.broadcast_get(workspace=workspace, broadcast_id=broadcast_id)
    return broadcast_out(workspace, broadcast)


@router.post(
    "/broadcasts/{broadcast_id}/send",
    response=BroadcastOut,
    summary="Send a broadcast now, or schedule it for its send_at",
)
def broadcasts_send(request: HttpRequest, broadcast_id: int):
    workspace = _ws(request)
    broadcast = selectors.broadcast_get(workspace=workspace, broadcast_id=broadcast_id)
    broadcast = services.broadcast_send(
        workspace=workspace, actor=_actor(request), broadcast=broadcast
    )
    return broadcast_out(workspace, broadcast)


@router.post(
    "/broadcasts/{broadcast_id}/cancel", response=BroadcastOut, summary="Cancel a broadcast"
)
def broadcasts_cancel(request: HttpRequest, broadcast_id: int):
    workspace = _ws(request)
    broadcast = selectors.broadcast_get(workspace=workspace, broadcast_id=broadcast_id)
    broadcast = services.broadcast_cancel(
        workspace=workspace, actor=_actor(request), broadcast=broadcast
    )
    return broadcast_out(workspace, broadcast)
