"""/api/v1/email-templates: create, read, replace, delete and preview email templates.

A template with errors is a 422 in the API's error shape: `errors` lists each with `field`,
`line`, `column` and `message`. Addressed by slug."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.contacts.models import Contact
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages
from volano.core.errors import NotFound
from volano.emails.models import EmailTemplate
from volano.emails.rendering import render_for_contact
from volano.emails.templating import services

router = Router(tags=["email templates"])
MAX_SOURCE = 500_000


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class TemplateOut(Schema):
    id: int
    slug: str
    name: str
    subject: str
    mjml: str
    html: str
    blocks: Any
    sendable: bool
    errors: Any
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplateIn(Strict):
    stored_in = EmailTemplate
    input_lengths = {"mjml": MAX_SOURCE, "html": MAX_SOURCE}

    name: str
    subject: str = ""
    mjml: str = ""
    html: str = ""
    blocks: list[Any] = Field(default_factory=list)


class TemplateCreateIn(TemplateIn):
    slug: str


class TemplatePatchIn(Strict):
    stored_in = EmailTemplate
    input_lengths = {"mjml": MAX_SOURCE, "html": MAX_SOURCE}

    name: str | None = None
    subject: str | None = None
    mjml: str | None = None
    html: str | None = None
    blocks: list[Any] | None = None


class PreviewOut(Schema):
    subject: str
    html: str
    text: str


def template_get(*, workspace: Any, slug: str) -> EmailTemplate:
    found = EmailTemplate.objects.for_workspace(workspace).filter(slug=slug).first()
    if found is None:
        raise NotFound(_("no email template “%(slug)s”") % {"slug": slug[:80]}, field="slug")
    return found


@router.get("/email-templates", response=list[TemplateOut], summary="List email templates")
@paginate(Pages, page_size=50, max_page_size=500)
def templates_list(request: HttpRequest):
    return EmailTemplate.objects.for_workspace(_ws(request)).order_by("name", "pk")


@router.post("/email-templates", response={201: TemplateOut}, summary="Create an email template")
def templates_create(request: HttpRequest, payload: TemplateCreateIn):
    data = payload.model_dump()
    return 201, services.template_save(workspace=_ws(request), actor=_actor(request), **data)


@router.get("/email-templates/{slug}", response=TemplateOut, summary="Get an email template")
def templates_get(request: HttpRequest, slug: str):
    return template_get(workspace=_ws(request), slug=slug)


def _replace(request: HttpRequest, slug: str, data: dict) -> EmailTemplate:
    template = template_get(workspace=_ws(request), slug=slug)
    current = {
        "name": template.name,
        "subject": template.subject,
        "mjml": template.mjml,
        "html": template.html,
        "blocks": template.blocks,
    }
    if data.get("mjml"):
        current["html"] = ""
    if data.get("html"):
        current["mjml"] = ""
    current.update(data)
    return services.template_save(
        workspace=_ws(request), actor=_actor(request), slug=slug, template=template, **current
    )


@router.put("/email-templates/{slug}", response=TemplateOut, summary="Replace an email template")
def templates_put(request: HttpRequest, slug: str, payload: TemplateIn):
    return _replace(request, slug, payload.model_dump())


@router.patch("/email-templates/{slug}", response=TemplateOut, summary="Change an email template")
def templates_patch(request: HttpRequest, slug: str, payload: TemplatePatchIn):
    return _replace(request, slug, payload.model_dump(exclude_unset=True, exclude_none=True))


@router.delete("/email-templates/{slug}", response={204: None}, summary="Delete an email template")
def templates_delete(request: HttpRequest, slug: str):
    template = template_get(workspace=_ws(request), slug=slug)
    services.template_delete(workspace=_ws(request), actor=_actor(request), template=template)
    return 204, None


@router.get(
    "/email-templates/{slug}/preview",
    response=PreviewOut,
    summary="The email as one contact would receive it",
)
def templates_preview(request: HttpRequest, slug: str, contact_id: int):
    template = template_get(workspace=_ws(request), slug=slug)
    contact = (
        Contact.objects.for_workspace(_ws(request))
        .select_related("company", "owner")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise NotFound(_("no such contact in this workspace"), field="contact_id")
    return render_for_contact(template, contact)
