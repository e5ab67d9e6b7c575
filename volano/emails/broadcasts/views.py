"""Broadcast pages: the list, the new-broadcast form, the detail page (status, the whole-list
warning, send and cancel, progress polled with HTMX while it sends, the report). Thin: parse
the form, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core.errors import ApplicationError, NotFound
from volano.core.permissions import Cap, requires
from volano.emails.broadcasts import selectors, services
from volano.emails.broadcasts.forms import BroadcastForm
from volano.emails.models import Broadcast, BroadcastStatus


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _get(request: HttpRequest, broadcast_id: int) -> Broadcast:
    try:
        return selectors.broadcast_get(workspace=_ws(request), broadcast_id=broadcast_id)
    except NotFound:
        raise Http404 from None


def _report_url(mailing_id: int) -> str | None:
    """The per-mailing report page, once the reports session adds it."""
    try:
        return reverse("emails:mailing_report", args=[mailing_id])
    except NoReverseMatch:
        return None


@requires(Cap.VIEW_MARKETING)
def broadcast_list_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    broadcasts = list(selectors.broadcast_list(workspace=workspace)[:200])
    figures = selectors.broadcasts_figures(workspace=workspace, broadcasts=broadcasts)
    rows = [{"broadcast": b, "report": figures[b.pk]} for b in broadcasts]
    return render(request, "emails/broadcasts/list.html", {"rows": rows})


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def broadcast_new_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = BroadcastForm(request.POST or None, workspace=workspace)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                broadcast = services.broadcast_create(
                    workspace=workspace, actor=request.user, **form.service_kwargs()
                )
            except ApplicationError as error:
                field = (error.field or "").replace(".", "_").replace("contact_list", "audience")
                if field in ("segment", "list"):
                    field = "audience"
                form.add_error(field if field in form.fields else None, error.message)
                status = 422
            else:
                messages.success(request, _("Broadcast saved as a draft: check it, then send it."))
                return redirect("emails:broadcast", broadcast.pk)
        else:
            status = 422
    return render(request, "emails/broadcasts/new.html", {"form": form}, status=status)


def _detail_context(workspace: Any, broadcast: Broadcast) -> dict:
    report = selectors.broadcast_report(workspace=workspace, broadcast=broadcast)
    variants = selectors.broadcast_variant_reports(workspace=workspace, broadcast=broadcast)
    for row in variants:
        row["url"] = _report_url(row["mailing_id"])
    return {
        "broadcast": broadcast,
        "report": report,
        "recipients": selectors.broadcast_recipients(workspace=workspace, broadcast=broadcast),
        "variants": variants,
        "scores": services.ab_scores(broadcast=broadcast) if broadcast.is_ab else None,
        "polling": broadcast.status == BroadcastStatus.SENDING,
    }


@requires(Cap.VIEW_MARKETING)
def broadcast_detail_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    workspace = _ws(request)
    broadcast = _get(request, broadcast_id)
    context = _detail_context(workspace, broadcast)
    context["warnings"] = (
        selectors.broadcast_warnings(workspace=workspace, broadcast=broadcast)
        if broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
        else []
    )
    return render(request, "emails/broadcasts/detail.html", context)


@requires(Cap.VIEW_MARKETING)
def broadcast_progress_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    """The status and figures, polled by the detail page while the broadcast sends."""
    workspace = _ws(request)
    broadcast = _get(request, broadcast_id)
    return render(
        request, "emails/broadcasts/_progress.html", _detail_context(workspace, broadcast)
    )


@require_POST
@requires(write=Cap.EDIT_MARKETING)
def broadcast_send_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    workspace = _ws(request)
    broadcast = _get(request, broadcast_id)
    warnings = selectors.broadcast_warnings(workspace=workspace, broadcast=broadcast)
    if warnings and request.POST.get("confirm") != "yes":
        messages.error(
            request,
            _("Tick the box to confirm you want to send the same email to the whole list."),
        )
        return redirect("emails:broadcast", broadcast.pk)
    try:
        broadcast = services.broadcast_send(
            workspace=workspace, actor=request.user, broadcast=broadcast
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if broadcast.status == BroadcastStatus.SCHEDULED:
            messages.success(request, _("Broadcast scheduled."))
        else:
            messages.success(request, _("Broadcast on its way."))
    return redirect("emails:broadcast", broadcast.pk)


@require_POST
@requires(write=Cap.EDIT_MARKETING)
def broadcast_cancel_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    workspace = _ws(request)
    broadcast = _get(request, broadcast_id)
    try:
        services.broadcast_cancel(workspace=workspace, actor=request.user, broadcast=broadcast)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Broadcast cancelled."))
    return redirect("emails:broadcast", broadcast.pk)
