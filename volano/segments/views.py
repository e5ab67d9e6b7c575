"""Segments, lists and personas pages: parse the request, call a selector or a service, render."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.conditions.catalogue import builder_catalogue
from volano.conditions.types import ConditionError
from volano.contacts.models import Consent, Contact, Purpose
from volano.core.errors import ApplicationError, NotFound
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.core.view_errors import error_redirect
from volano.segments import export, selectors, services
from volano.segments.forms import (
    ListForm,
    PasteEmailsForm,
    SaveAsListForm,
    SegmentForm,
)
from volano.segments.models import ContactList, Segment, SegmentKind

PAGE_SIZE = 50
# Slugs the segment URLs use for themselves.
RESERVED_SLUGS = {"new", "preview"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _page(request: HttpRequest, object_list: Any):
    paginator = Paginator(object_list, PAGE_SIZE)
    try:
        return paginator, paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        return paginator, paginator.page(1)
    except EmptyPage:
        return paginator, paginator.page(paginator.num_pages)


def _member_rows(workspace, contacts: list[Contact]) -> list[tuple[Contact, str]]:
    """Each contact with its email-marketing consent status, for the consent badge."""
    statuses = dict(
        Consent.objects.for_workspace(workspace)
        .filter(contact_id__in=[c.pk for c in contacts], purpose=Purpose.EMAIL_MARKETING)
        .values_list("contact_id", "status")
    )
    return [(c, statuses.get(c.pk, "")) for c in contacts]


def _is_results_request(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and htmx.target == "results"


def _unique_slug(name: str, taken: set[str]) -> str:
    base = slugify(name)[:70] or "segment"
    slug, n = base, 2
    while slug in taken or slug in RESERVED_SLUGS:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _get_segment(request: HttpRequest, slug: str) -> Segment:
    try:
        return selectors.segment_get(workspace=request.workspace, slug_or_id=slug)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404("no such segment") from None


def _get_list(request: HttpRequest, slug: str) -> ContactList:
    try:
        return selectors.list_get(workspace=request.workspace, slug_or_id=slug)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404("no such list") from None


def _language() -> str:
    return "it" if (get_language() or "it").startswith("it") else "en"


def _wall_clock_ms(at) -> int:
    """Milliseconds of `at` as read on a clock in the page's time zone, written as if it were UTC.

    Browsers can only draw in their own zone or in UTC; the chart draws in UTC, so its axis shows the
    hours the rest of the page shows."""
    local = timezone.localtime(at)
    return int(local.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _describe(segment: Segment, workspace) -> str:
    try:
        return selectors.segment_describe(
            workspace=workspace, segment=segment, language=_language()
        )
    except ApplicationError:
        return ""


# ---- segments --------------------------------------------------------------------------------


@requires(Cap.VIEW_MARKETING)
def segment_list_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    segments = list(selectors.segment_list(workspace=workspace))
    return render(
        request,
        "segments/segment_list.html",
        {
            "segments": [s for s in segments if s.kind == SegmentKind.SEGMENT],
            "personas": [s for s in segments if s.kind == SegmentKind.PERSONA],
        },
    )


def _catalogue(workspace, exclude: str = "") -> dict[str, Any]:
    segments = [s for s in selectors.segment_list(workspace=workspace) if s.slug != exclude]
    return builder_catalogue(
        workspace=workspace,
        lists=[[cl.slug, cl.name] for cl in selectors.list_list(workspace=workspace)],
        segments=[[s.slug, s.name] for s in segments if s.kind == SegmentKind.SEGMENT],
        personas=[[s.slug, s.name] for s in segments if s.kind == SegmentKind.PERSONA],
    )


def _segment_form_view(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    status = 200
    rule_error: ApplicationError | None = None
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if segment is not None:
                slug = segment.slug
            else:
                taken = {s.slug for s in selectors.segment_list(workspace=workspace)}
                slug = _unique_slug(data["name"], taken)
            try:
                saved = services.segment_save(
                    workspace=workspace,
                    actor=_actor(request),
                    slug=slug,
                    name=data["name"],
                    definition=data["definition"],
                    description=data["description"],
                    kind=data["kind"],
                    goals=data["goals"],
                    pains=data["pains"],
                    channels=data["channels"],
                    job_titles=data["job_titles"],
                )
            except ApplicationError as error:
                rule_error = error
            else:
                messages.success(
                    request,
                    _("“%(name)s” saved: %(size)s contacts.")
                    % {"name": saved.name, "size": f"{saved.size:,}"},
                )
                return redirect("segments:detail", slug=saved.slug)
        status = 422
        definition_json = request.POST.get("definition", "")
    else:
        if segment is not None:
            form = SegmentForm(
                initial={
                    "name": segment.name,
                    "description": segment.description,
                    "kind": segment.kind,
                    "goals": segment.goals,
                    "pains": segment.pains,
                    "channels": segment.channels,
                    "job_titles": segment.job_titles,
                }
            )
            definition_json = json.dumps(segment.definition)
        else:
            kind = request.GET.get("kind")
            form = SegmentForm(
                initial={"kind": kind if kind in SegmentKind.values else SegmentKind.SEGMENT}
            )
            definition_json = json.dumps({"all": [{"field": "province", "op": "in", "value": []}]})
    return render(
        request,
        "segments/segment_form.html",
        {
            "form": form,
            "segment": segment,
            "definition_json": definition_json,
            "catalogue": _catalogue(workspace, exclude=segment.slug if segment else ""),
            "rule_error": rule_error,
        },
        status=status,
    )


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def segment_create_view(request: HttpRequest) -> HttpResponse:
    return _segment_form_view(request, None)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def segment_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    return _segment_form_view(request, _get_segment(request, slug))


@requires(write=Cap.PREVIEW)
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The count and the plain-language rule for the definition being edited (not saved)."""
    workspace = request.workspace  # type: ignore[attr-defined]
    context: dict[str, Any] = {"count": None, "description": "", "error": None}
    try:
        definition = json.loads(request.POST.get("definition") or "null")
    except ValueError:
        definition = None
    if not definition:
        context["error"] = ConditionError(_("Add at least one condition."), field="conditions")
    else:
        try:
            preview = selectors.segment_preview(
                workspace=workspace,
                definition=definition,
                slug=request.POST.get("slug") or None,
            )
        except ApplicationError as error:
            context["error"] = error
        else:
            context["count"] = preview["count"]
            context["description"] = preview["description"][_language()]
    return render(request, "segments/_preview.html", context)


@requires(Cap.VIEW_MARKETING)
def segment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    segment = _get_segment(request, slug)
    paginator, page = _page(
        request,
        selectors.segment_members(workspace=workspace, segment=segment).select_related("company"),
    )
    context = {
        "segment": segment,
        "paginator": paginator,
        "page": page,
        "rows": _member_rows(workspace, list(page.object_list)),
        "query": "",
    }
    if _is_results_request(request):
        response = render(request, "segments/_members.html", context)
    else:
        sizes = selectors.segment_sizes(workspace=workspace, segment=segment)
        # Full refreshes record a point; incremental changes only move the cached size, so the
        # line ends at the size the page shows.
        if not sizes or sizes[-1][1] != segment.size:
            sizes = [*sizes, (timezone.now(), segment.size)]
        context.update(
            {
                "description_text": _describe(segment, workspace),
                "sizes": sizes,
                "chart": {
                    "at": [_wall_clock_ms(at) for at, _size in sizes],
                    "time_zone": timezone.get_current_timezone_name(),
                    "size": [size for _at, size in sizes],
                    "label": _("Contacts"),
                },
                "list_form": SaveAsListForm(initial={"name": segment.name}),
            }
        )
        response = render(request, "segments/segment_detail.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def segment_refresh_view(request: HttpRequest, slug: str) -> HttpResponse:
    segment = _get_segment(request, slug)
    if segment.disabled_at is not None:
        messages.error(request, _("This segment is switched off: fix its rule and save it first."))
        return redirect("segments:detail", slug=segment.slug)
    result = services.segment_refresh(workspace=request.workspace, segment=segment)  # type: ignore[attr-defined]
    messages.success(
        request,
        _("Refreshed: %(size)s contacts (%(entered)s entered, %(left)s left).")
        % {"size": f"{result.size:,}", "entered": result.entered, "left": result.left},
    )
    return redirect("segments:detail", slug=segment.slug)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def segment_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    segment = _get_segment(request, slug)
    services.segment_delete(workspace=request.workspace, actor=_actor(request), segment=segment)  # type: ignore[attr-defined]
    messages.success(request, _("“%(name)s” deleted.") % {"name": segment.name})
    return redirect("segments:list")


@error_redirect("segments:detail", "slug")
@requires(write=Cap.EDIT_MARKETING)
@require_POST
def segment_to_list_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    segment = _get_segment(request, slug)
    form = SaveAsListForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the new list a name."))
        return redirect("segments:detail", slug=segment.slug)
    name = form.cleaned_data["name"]
    taken = {cl.slug for cl in selectors.list_list(workspace=workspace)}
    contact_list = services.list_from_segment(
        workspace=workspace,
        actor=_actor(request),
        segment=segment,
        slug=_unique_slug(name, taken),
        name=name,
    )
    messages.success(
        request, _("Static list “%(name)s” created from the segment.") % {"name": name}
    )
    return redirect("segments:list_detail", slug=contact_list.slug)


def _export_response(*, workspace, contacts: Any, fmt: str, name: str) -> HttpResponse:
    """CSV and audience files stream row by row; the workbook is written straight into the reply."""
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            export.export_csv(workspace=workspace, contacts=contacts),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"{name}.csv"
    elif fmt == "xlsx":
        workbook = io.BytesIO()
        export.export_xlsx(workspace=workspace, contacts=contacts, out=workbook)
        response = HttpResponse(workbook.getvalue(), content_type=XLSX)
        filename = f"{name}.xlsx"
    elif fmt in export.PLATFORMS:
        response = StreamingHttpResponse(
            export.audience_csv(workspace=workspace, contacts=contacts, platform=fmt),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"{name}-audience-{fmt}.csv"
    else:
        raise Http404("no such format")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response  # type: ignore[return-value]


@requires(Cap.EXPORT)
def segment_export_view(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    segment = _get_segment(request, slug)
    contacts = selectors.segment_members(workspace=workspace, segment=segment)
    return _export_response(workspace=workspace, contacts=contacts, fmt=fmt, name=segment.slug)


# ---- personas --------------------------------------------------------------------------------


@requires(Cap.VIEW_MARKETING)
def persona_list(request: HttpRequest) -> HttpResponse:
    personas = selectors.segment_list(
        workspace=request.workspace,  # type: ignore[attr-defined]
        kind=SegmentKind.PERSONA,
    )
    return render(request, "segments/persona_list.html", {"personas": personas})


# ---- static lists ----------------------------------------------------------------------------


@requires(Cap.VIEW_MARKETING)
def list_list_view(request: HttpRequest) -> HttpResponse:
    return _list_list(request, ListForm())


def _list_list(request: HttpRequest, form: ListForm, status: int = 200) -> HttpResponse:
    lists = selectors.list_list(workspace=request.workspace)  # type: ignore[attr-defined]
    return render(request, "segments/list_list.html", {"lists": lists, "form": form}, status=status)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def list_create_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = ListForm(request.POST)
    if form.is_valid():
        taken = {cl.slug for cl in selectors.list_list(workspace=workspace)}
        try:
            contact_list = services.list_create(
                workspace=workspace,
                actor=_actor(request),
                slug=_unique_slug(form.cleaned_data["name"], taken),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ApplicationError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("List “%(name)s” created.") % {"name": contact_list})
            return redirect("segments:list_detail", slug=contact_list.slug)
    return _list_list(request, form, status=422)


def _list_context(request: HttpRequest, contact_list: ContactList) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    paginator, page = _page(
        request,
        selectors.list_members(workspace=workspace, contact_list=contact_list).select_related(
            "company"
        ),
    )
    return {
        "contact_list": contact_list,
        "paginator": paginator,
        "page": page,
        "rows": _member_rows(workspace, list(page.object_list)),
        "query": "",
    }


@requires(Cap.VIEW_MARKETING)
def list_detail(request: HttpRequest, slug: str) -> HttpResponse:
    contact_list = _get_list(request, slug)
    context = _list_context(request, contact_list)
    if _is_results_request(request):
        response = render(request, "segments/_list_members.html", context)
    else:
        context["paste_form"] = PasteEmailsForm()
        response = render(request, "segments/list_detail.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


EMAIL_SPLIT = re.compile(r"[\s,;]+")


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def list_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    contact_list = _get_list(request, slug)
    form = PasteEmailsForm(request.POST)
    if not form.is_valid():
        context = _list_context(request, contact_list)
        context["paste_form"] = form
        return render(request, "segments/list_detail.html", context, status=422)
    added, missing = services.list_add_emails(
        workspace=workspace,
        contact_list=contact_list,
        emails=EMAIL_SPLIT.split(form.cleaned_data["emails"]),
        source="manual",
        actor=_actor(request),
    )
    messages.success(request, _("%(n)s contacts added to the list.") % {"n": added})
    if missing:
        messages.error(
            request,
            _("No contact has these addresses, so they were not added: %(emails)s")
            % {"emails": ", ".join(missing[:20]) + ("…" if len(missing) > 20 else "")},
        )
    return redirect("segments:list_detail", slug=contact_list.slug)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def list_remove_view(request: HttpRequest, slug: str) -> HttpResponse:
    contact_list = _get_list(request, slug)
    try:
        contact_id = int(request.POST.get("contact", ""))
    except ValueError:
        return redirect("segments:list_detail", slug=contact_list.slug)
    services.list_remove(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact_list=contact_list,
        contact_ids=[contact_id],
        actor=_actor(request),
    )
    messages.success(request, _("Contact removed from the list."))
    return redirect("segments:list_detail", slug=contact_list.slug)


@requires(Cap.EXPORT)
def list_export_view(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    contact_list = _get_list(request, slug)
    contacts = selectors.list_members(workspace=workspace, contact_list=contact_list)
    return _export_response(workspace=workspace, contacts=contacts, fmt=fmt, name=contact_list.slug)
