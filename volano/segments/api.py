"""/api/v1/segments and /api/v1/lists: parse, call a service or selector, shape the reply.

Segments and lists are addressed by slug. An invalid definition is a 422 naming the node
(`conditions.all[1].field: unknown field 'citta'`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.conditions.types import ConditionError
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages, column_length
from volano.core.errors import ApplicationError, ValidationFailed
from volano.segments import selectors, services
from volano.segments.models import ContactList, Segment

router = Router(tags=["segments"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_MEMBERS_PER_CALL = 10_000


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


def _unprocessable(error: ConditionError) -> ValidationFailed:
    """A condition's error, naming its node as a path in the request body ("definition.all[2]
    .value"), the same path the API's input guard names for what no column can hold."""
    node = (error.field or "").removeprefix("conditions")
    return ValidationFailed([{"field": "definition" + node, "message": str(error)}])


class SegmentOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    kind: str
    definition: Any
    goals: str
    pains: str
    channels: str
    job_titles: str
    size: int
    refreshed_at: dt.datetime | None
    disabled_reason: str
    disabled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentIn(Strict):
    stored_in = Segment

    name: str
    definition: Any
    description: str = ""
    kind: str = "segment"
    goals: str = ""
    pains: str = ""
    channels: str = ""
    job_titles: str = ""


class SegmentCreateIn(SegmentIn):
    slug: str


class PreviewIn(Strict):
    definition: Any
    slug: str | None = None


class MemberOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    job_title: str
    company_id: int | None
    city: str
    province: str
    region: str


class ListOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    size: int = 0
    created_at: dt.datetime


class ListIn(Strict):
    stored_in = ContactList
    input_lengths = {"from_segment": column_length(Segment, "slug")}

    slug: str
    name: str
    description: str = ""
    from_segment: str | None = None


class ListPatchIn(Strict):
    stored_in = ContactList

    name: str | None = None
    description: str | None = None


class MembersIn(Strict):
    contact_ids: list[int] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)


def _save(request: HttpRequest, slug: str, payload: SegmentIn) -> Segment:
    try:
        return services.segment_save(
            workspace=_ws(request),
            actor=_actor(request),
            slug=slug,
            **payload.model_dump(),
        )
    except ConditionError as error:
        raise _unprocessable(error) from None


# -- segments ---------------------------------------------------------------------------------


@router.get("/segments", response=list[SegmentOut], summary="List segments and personas")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def segments_list(request: HttpRequest, kind: str = ""):
    return selectors.segment_list(workspace=_ws(request), kind=kind or None)


@router.post("/segments", response={201: SegmentOut}, summary="Create a segment or persona")
def segments_create(request: HttpRequest, payload: SegmentCreateIn):
    data = payload.model_dump()
    slug = data.pop("slug")
    if Segment.objects.for_workspace(_ws(request)).filter(slug=slug).exists():
        raise ApplicationError(
            gettext("a segment '%(slug)s' already exists") % {"slug": slug}, field="slug"
        )
    return 201, _save(request, slug, SegmentIn(**data))


@router.post(
    "/segments/preview",
    summary="Count and describe a condition without saving it (viewers too)",
)
def segments_preview(request: HttpRequest, payload: PreviewIn):
    try:
        return selectors.segment_preview(
            workspace=_ws(request), definition=payload.definition, slug=payload.slug
        )
    except ConditionError as error:
        raise _unprocessable(error) from None


@router.get("/segments/{slug}", response=SegmentOut, summary="Get a segment")
def segments_get(request: HttpRequest, slug: str):
    return selectors.segment_get(workspace=_ws(request), slug_or_id=slug)


@router.put("/segments/{slug}", response=SegmentOut, summary="Replace a segment's definition")
def segments_put(request: HttpRequest, slug: str, payload: SegmentIn):
    selectors.segment_get(workspace=_ws(request), slug_or_id=slug)
    return _save(request, slug, payload)


@router.delete("/segments/{slug}", response={204: None}, summary="Delete a segment")
def segments_delete(request: HttpRequest, slug: str):
    segment = selectors.segment_get(workspace=_ws(request), slug_or_id=slug)
    services.segment_delete(workspace=_ws(request), actor=_actor(request), segment=segment)
    return 204, None


@router.get(
    "/segments/{slug}/members", response=list[MemberOut], summary="The segment's current members"
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def segments_members(request: HttpRequest, slug: str):
    segment = selectors.segment_get(workspace=_ws(request), slug_or_id=slug)
    return selectors.segment_members(workspace=_ws(request), segment=segment)


@router.get("/segments/{slug}/count", summary="How many contacts match, now")
def segments_count(request: HttpRequest, slug: str):
    """`count` is the condition evaluated now; `size` the materialised membership."""
    segment = selectors.segment_get(workspace=_ws(request), slug_or_id=slug)
    return {
        "count": selectors.segment_live_count(workspace=_ws(request), segment=segment),
        "size": segment.size,
        "refreshed_at": segment.refreshed_at,
    }


# -- lists ------------------------------------------------------------------------------------


def _list_out(workspace: Any, contact_list: ContactList) -> dict:
    return {
        "id": contact_list.pk,
        "slug": contact_list.slug,
        "name": contact_list.name,
        "description": contact_list.description,
        "size": contact_list.memberships.count(),
        "created_at": contact_list.created_at,
    }


@router.get("/lists", response=list[ListOut], tags=["lists"], summary="List static lists")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def lists_list(request: HttpRequest):
    return selectors.list_list(workspace=_ws(request))


@router.post("/lists", response={201: ListOut}, tags=["lists"], summary="Create a static list")
def lists_create(request: HttpRequest, payload: ListIn):
    """With `from_segment`, the list starts as a snapshot of that segment's members."""
    workspace = _ws(request)
    if payload.from_segment:
        segment = selectors.segment_get(workspace=workspace, slug_or_id=payload.from_segment)
        contact_list = services.list_from_segment(
            workspace=workspace,
            actor=_actor(request),
            segment=segment,
            slug=payload.slug,
            name=payload.name,
            description=payload.description,
        )
    else:
        contact_list = services.list_create(
            workspace=workspace,
            actor=_actor(request),
            slug=payload.slug,
            name=payload.name,
            description=payload.description,
        )
    return 201, _list_out(workspace, contact_list)


@router.get("/lists/{slug}", response=ListOut, tags=["lists"], summary="Get a static list")
def lists_get(request: HttpRequest, slug: str):
    contact_list = selectors.list_get(workspace=_ws(request), slug_or_id=slug)
    return _list_out(_ws(request), contact_list)


@router.patch("/lists/{slug}", response=ListOut, tags=["lists"], summary="Rename a list")
def lists_patch(request: HttpRequest, slug: str, payload: ListPatchIn):
    contact_list = services.list_update(
        workspace=_ws(request),
        actor=_actor(request),
        contact_list=selectors.list_get(workspace=_ws(request), slug_or_id=slug),
        data=payload.model_dump(exclude_unset=True),
    )
    return _list_out(_ws(request), contact_list)


@router.delete("/lists/{slug}", response={204: None}, tags=["lists"], summary="Delete a list")
def lists_delete(request: HttpRequest, slug: str):
    contact_list = selectors.list_get(workspace=_ws(request), slug_or_id=slug)
    services.list_delete(workspace=_ws(request), actor=_actor(request), contact_list=contact_list)
    return 204, None


@router.get(
    "/lists/{slug}/members", response=list[MemberOut], tags=["lists"], summary="List members"
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def lists_members(request: HttpRequest, slug: str):
    contact_list = selectors.list_get(workspace=_ws(request), slug_or_id=slug)
    return selectors.list_members(workspace=_ws(request), contact_list=contact_list)


def _members_payload(payload: MembersIn | None) -> MembersIn:
    payload = payload or MembersIn()
    if len(payload.contact_ids) + len(payload.emails) > MAX_MEMBERS_PER_CALL:
        raise ApplicationError(
            f"at most {MAX_MEMBERS_PER_CALL:,} contacts per call", field="contact_ids"
        )
    return payload


@router.post("/lists/{slug}/members", tags=["lists"], summary="Add contacts by id or email")
def lists_members_add(request: HttpRequest, slug: str, payload: MembersIn | None = None):
    workspace = _ws(request)
    contact_list = selectors.list_get(workspace=workspace, slug_or_id=slug)
    payload = _members_payload(payload)
    with transaction.atomic():
        added = services.list_add(
            workspace=workspace,
            contact_list=contact_list,
            contact_ids=payload.contact_ids,
            source="api",
            actor=_actor(request),
        )
        by_email, missing = services.list_add_emails(
            workspace=workspace,
            contact_list=contact_list,
            emails=payload.emails,
            source="api",
            actor=_actor(request),
        )
    return {
        "added": added + by_email,
        "not_found": missing,
        "size": contact_list.memberships.count(),
    }


@router.delete("/lists/{slug}/members", tags=["lists"], summary="Remove contacts by id or email")
def lists_members_remove(request: HttpRequest, slug: str, payload: MembersIn | None = None):
    workspace = _ws(request)
    contact_list = selectors.list_get(workspace=workspace, slug_or_id=slug)
    payload = _members_payload(payload)
    ids, missing = services.contact_ids_by_email(workspace=workspace, emails=payload.emails)
    with transaction.atomic():
        removed = services.list_remove(
            workspace=workspace,
            contact_list=contact_list,
            contact_ids=[*payload.contact_ids, *ids],
            actor=_actor(request),
        )
    return {"removed": removed, "not_found": missing, "size": contact_list.memberships.count()}
