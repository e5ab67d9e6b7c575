"""Pages: the template list, the editor (visual MJML editor, code view, blocks), preview as any
contact, a test send to oneself. Thin: parse the form, call a service, render."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.csp import CSP
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from volano.conditions.catalogue import builder_catalogue
from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.emails.models import EmailTemplate
from volano.emails.rendering import render_for_contact
from volano.emails.templating import services
from volano.emails.templating.starters import STARTERS, starter_get
from volano.emails.templating.testsend import template_test_send

PREVIEW_CONTACTS = 200


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _get(request: HttpRequest, slug: str) -> EmailTemplate:
    template = EmailTemplate.objects.for_workspace(_ws(request)).filter(slug=slug).first()
    if template is None:
        raise Http404
    return template


def _catalogue(workspace: Any) -> dict:
    from volano.segments.models import ContactList, Segment

    segments = Segment.objects.for_workspace(workspace).values_list("slug", "name", "kind")
    return builder_catalogue(
        workspace=workspace,
        lists=[
            list(x)
            for x in ContactList.objects.for_workspace(workspace).values_list("slug", "name")
        ],
        segments=[[s, n] for s, n, k in segments if k == "segment"],
        personas=[[s, n] for s, n, k in segments if k == "persona"],
    )


def _unique_slug(workspace: Any, name: str) -> str:
    base = slugify(name)[:70] or "template"
    taken = set(EmailTemplate.objects.for_workspace(workspace).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@requires(Cap.VIEW_MARKETING)
def template_list_view(request: HttpRequest) -> HttpResponse:
    templates = EmailTemplate.objects.for_workspace(_ws(request)).order_by("name")
    return render(
        request,
        "emails/template_list.html",
        {"templates": templates, "starters": STARTERS},
    )


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def template_from_starter_view(request: HttpRequest) -> HttpResponse:
    starter = starter_get(request.POST.get("starter", ""))
    if starter is None:
        raise Http404
    workspace = _ws(request)
    template = services.template_save(
        workspace=workspace,
        actor=_actor(request),
        slug=_unique_slug(workspace, str(starter.name)),
        name=str(starter.name),
        subject=starter.subject,
        mjml=starter.mjml,
        blocks=list(starter.blocks),
    )
    return redirect("emails:edit", template.slug)


def _blocks_from_post(post: Any) -> list[dict]:
    """blocks from the editor's fields: block-<i>-key, block-<i>-<j>-html, block-<i>-<j>-when.
    A variant with no HTML and no condition, and a block with no key, are left out."""
    blocks = []
    i = 0
    while f"block-{i}-key" in post:
        key = post.get(f"block-{i}-key", "").strip()
        variants = []
        j = 0
        while f"block-{i}-{j}-html" in post:
            html = post.get(f"block-{i}-{j}-html", "")
            try:
                when = json.loads(post.get(f"block-{i}-{j}-when") or "null")
            except ValueError:
                when = None
            if isinstance(when, dict) and len(when) == 1 and next(iter(when.values())) == []:
                when = None  # an empty builder
            if html.strip() or when:
                variants.append({"when": when, "html": html} if when else {"html": html})
            j += 1
        if key:
            blocks.append({"key": key, "variants": variants})
        i += 1
    return blocks


def _editor_rows(blocks: list[dict]) -> list[dict]:
    """The blocks as the editor shows them: each with one empty variant more, and one empty
    block at the end, so adding needs no script."""
    rows = []
    for block in [*blocks, {"key": "", "variants": []}]:
        variants = [
            {"html": v.get("html", ""), "when": json.dumps(v["when"]) if v.get("when") else ""}
            for v in block["variants"]
        ]
        variants.append({"html": "", "when": ""})
        rows.append({"key": block["key"], "variants": variants})
    return rows


# GrapesJS writes the styles of its panels and of the email being edited as <style> elements and
# style attributes, in the page and in its canvas iframe (which inherits this page's policy):
# this page alone allows inline styles. Scripts stay 'self' only (docs/security.md).
EDITOR_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}


@csp_override(EDITOR_CSP)
@requires(Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def template_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = _ws(request)
    template = _get(request, slug)
    status = 200
    if request.method == "POST":
        source = request.POST.get("source", "mjml")
        code = request.POST.get("code", "")
        blocks = _blocks_from_post(request.POST)
        try:
            template = services.template_save(
                workspace=workspace,
                actor=_actor(request),
                slug=template.slug,
                template=template,
                name=request.POST.get("name", ""),
                subject=request.POST.get("subject", ""),
                mjml=code if source == "mjml" else "",
                html=code if source == "html" else "",
                blocks=blocks,
                keep_broken=True,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            status = 422
        else:
            if template.errors:
                messages.error(
                    request, _("Saved as a draft: fix the errors below before sending it.")
                )
                status = 422
            else:
                messages.success(request, _("Template saved."))
                return redirect("emails:edit", template.slug)
    contacts = (
        Contact.objects.for_workspace(workspace)
        .exclude(email="")
        .order_by("last_name", "first_name", "pk")
        .values("pk", "first_name", "last_name", "email")[:PREVIEW_CONTACTS]
    )
    return render(
        request,
        "emails/template_edit.html",
        {
            "template": template,
            "rows": _editor_rows(template.blocks),
            "catalogue": _catalogue(workspace),
            "contacts": contacts,
            "source": "html" if template.html and not template.mjml else "mjml",
        },
        status=status,
    )


def _preview_contact(request: HttpRequest) -> Contact:
    try:
        contact_id = int(request.GET.get("contact") or request.POST.get("contact") or "")
    except ValueError:
        raise Http404 from None
    contact = (
        Contact.objects.for_workspace(_ws(request))
        .select_related("company", "owner")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise Http404
    return contact


@requires(Cap.VIEW_MARKETING)
def template_preview_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The subject, the text and a frame with the HTML, as one contact receives it."""
    template = _get(request, slug)
    context: dict[str, Any] = {"template": template}
    try:
        contact = _preview_contact(request)
        context.update(contact=contact, email=render_for_contact(template, contact))
    except ApplicationError as error:
        context["error"] = error
    except Http404:
        context["error"] = ApplicationError(_("Pick a contact of this workspace."))
    return render(request, "emails/_preview.html", context)


# The rendered email in the preview frame: its own styles inline and in <style>, no script at
# all, and only this origin may frame it.
PREVIEW_FRAME_CSP: dict[str, list[str]] = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["https:", "data:", CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
}


@csp_override(PREVIEW_FRAME_CSP)
@requires(Cap.VIEW_MARKETING)
def template_preview_frame_view(request: HttpRequest, slug: str) -> HttpResponse:
    template = _get(request, slug)
    contact = _preview_contact(request)
    try:
        html = render_for_contact(template, contact).html
    except ApplicationError as error:
        html = f"<p>{error.message}</p>".replace("<", "&lt;")
    response = HttpResponse(html)
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def template_test_send_view(request: HttpRequest, slug: str) -> HttpResponse:
    template = _get(request, slug)
    try:
        contact = _preview_contact(request)
        template_test_send(
            workspace=_ws(request), actor=_actor(request), template=template, contact=contact
        )
    except (ApplicationError, Http404) as error:
        message = getattr(error, "message", _("Pick a contact of this workspace."))
        return render(request, "emails/_test_sent.html", {"error": message})
    return render(request, "emails/_test_sent.html", {"to": _actor(request).email})


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def template_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    template = _get(request, slug)
    services.template_delete(workspace=_ws(request), actor=_actor(request), template=template)
    messages.success(request, _("Template deleted."))
    return redirect("emails:templates")


@requires(Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def template_new_view(request: HttpRequest) -> HttpResponse:
    """A blank template (MJML with one section), then the editor."""
    if request.method != "POST":
        return redirect("emails:templates")
    workspace = _ws(request)
    name = request.POST.get("name", "").strip() or _("New template")
    template = services.template_save(
        workspace=workspace,
        actor=_actor(request),
        slug=_unique_slug(workspace, name),
        name=name,
        subject="",
        mjml=BLANK_MJML,
    )
    return redirect("emails:edit", template.slug)


BLANK_MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Gentile {{ contact.first_name|default("cliente") }},</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""
