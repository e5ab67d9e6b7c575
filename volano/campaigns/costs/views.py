"""The costs page, /campaigns/costs/: import a cost file (a dry run first, then confirm), what
was spent by campaign, channel and month with a chart, and the costs entered by hand. Thin:
the selectors read, the services write."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from volano.campaigns.costs import selectors, services
from volano.campaigns.costs.forms import CostUploadForm, ManualCostForm
from volano.campaigns.costs.parsers import MAX_BYTES
from volano.campaigns.models import CostEntry, CostPlatform
from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _held(workspace: Any, token: str) -> Path | None:
    """Where a previewed upload waits for its confirmation (one folder per workspace)."""
    if not token or not token.isalnum() or len(token) != 32:
        return None
    folder = Path(settings.MEDIA_ROOT) / "costs" / str(workspace.pk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / token


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def costs_page(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    actor = cast(User, request.user)
    upload = CostUploadForm()
    manual = ManualCostForm(workspace=workspace)
    report = None
    held = ""
    held_name = ""
    held_platform = ""
    status = 200
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "preview":
        upload = CostUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            file = upload.cleaned_data["file"]
            if file.size > MAX_BYTES:
                upload.add_error("file", _("the file is larger than 20 MB"))
            else:
                content = file.read()
                held_platform = upload.cleaned_data["platform"]
                try:
                    report = services.costs_import(
                        workspace=workspace,
                        actor=actor,
                        content=content,
                        filename=file.name,
                        platform=held_platform or None,
                        dry_run=True,
                    )
                except ApplicationError as failure:
                    upload.add_error("file", failure.message)
                else:
                    held = uuid.uuid4().hex
                    path = _held(workspace, held)
                    assert path is not None
                    path.write_bytes(content)
                    held_name = file.name
        if report is None:
            status = 422
    elif request.method == "POST" and action == "confirm":
        path = _held(workspace, request.POST.get("held", ""))
        if path is None or not path.exists():
            messages.error(request, _("The previewed file is gone: upload it again."))
            return redirect("campaigns:costs")
        try:
            report = services.costs_import(
                workspace=workspace,
                actor=actor,
                content=path.read_bytes(),
                filename=request.POST.get("name", "")[:255],
                platform=request.POST.get("platform") or None,
            )
        except ApplicationError as failure:
            messages.error(request, failure.message)
            return redirect("campaigns:costs")
        finally:
            path.unlink(missing_ok=True)
        messages.success(
            request,
            _("Costs imported: %(created)s days added, %(updated)s replaced.")
            % {"created": report.created, "updated": report.updated},
        )
    elif request.method == "POST" and action == "manual":
        manual = ManualCostForm(request.POST, workspace=workspace)
        if manual.is_valid():
            try:
                services.cost_create(workspace=workspace, actor=actor, data=manual.cleaned_data)
            except ApplicationError as failure:
                manual.add_error(None, failure.message)
            else:
                messages.success(request, _("Cost saved."))
                return redirect("campaigns:costs")
        status = 422
    elif request.method == "POST" and action == "delete":
        try:
            services.cost_delete(
                workspace=workspace, actor=actor, cost_id=int(request.POST.get("cost", "0") or 0)
            )
        except (ApplicationError, ValueError):
            messages.error(request, _("That cost is not there any more."))
        else:
            messages.success(request, _("Cost deleted."))
        return redirect("campaigns:costs")
    editing = None
    edit_form = None
    if request.GET.get("edit", "").isdigit():
        editing = _manual_entry(workspace, int(request.GET["edit"]))
        edit_form = _edit_form(workspace, editing) if editing else None
    state = {
        "upload": upload,
        "manual": manual,
        "report": report,
        "held": held,
        "held_name": held_name,
        "held_platform": held_platform,
        "editing": editing,
        "edit_form": edit_form,
    }
    return _page(request, workspace, state, status)


def _page(request: HttpRequest, workspace: Any, state: dict, status: int) -> HttpResponse:
    upload, manual, report = state["upload"], state["manual"], state["report"]
    held, held_name, held_platform = state["held"], state["held_name"], state["held_platform"]
    overview = selectors.costs_overview(workspace=workspace)
    chart = {
        "months": [r["key"] for r in overview["months"]],
        "series": [
            {
                "name": _("Campaign costs"),
                "data": [float(r["campaigns"]) for r in overview["months"]],
            },
            {
                "name": _("Channel-level spend"),
                "data": [float(r["channel_level"]) for r in overview["months"]],
            },
        ],
        "currency": workspace.currency,
    }
    return render(
        request,
        "campaigns/costs.html",
        {
            "upload": upload,
            "manual": manual,
            "report": report,
            "held": held,
            "held_name": held_name,
            "held_platform": held_platform,
            "overview": overview,
            "chart": chart,
            "manual_costs": selectors.manual_costs(workspace=workspace),
            "currency": workspace.currency,
            "editing": state.get("editing"),
            "edit_form": state.get("edit_form"),
        },
        status=status,
    )


def _manual_entry(workspace: Any, cost_id: int) -> CostEntry | None:
    return (
        CostEntry.objects.for_workspace(workspace)
        .filter(pk=cost_id, platform=CostPlatform.MANUAL)
        .select_related("campaign")
        .first()
    )


def _edit_form(workspace: Any, entry: CostEntry, data: Any = None) -> ManualCostForm:
    return ManualCostForm(
        data,
        workspace=workspace,
        prefix=f"cost-{entry.pk}",
        initial={
            "day": entry.day,
            "amount": entry.amount,
            "kind": entry.kind,
            "campaign": str(entry.campaign_id or ""),
            "note": entry.note,
        },
    )


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def cost_edit(request: HttpRequest, cost_id: int) -> HttpResponse:
    """One cost entered by hand, edited in its row: GET gives the row as a form (or, with
    `cancel`, as it is), POST saves it through the service. The errors are next to their field;
    htmx swaps only 2xx replies, so a refused edit is the form again with a 200 (422 without
    htmx, on the whole page)."""
    workspace = _ws(request)
    entry = _manual_entry(workspace, cost_id)
    if entry is None:
        raise Http404(_("That cost is not there any more."))
    if request.method != "POST":
        if not _is_htmx(request):
            return redirect(f"{reverse('campaigns:costs')}?edit={entry.pk}#cost-{entry.pk}")
        if request.GET.get("cancel"):
            return render(request, "campaigns/_cost_row.html", {"cost": entry})
        return render(
            request,
            "campaigns/_cost_row_edit.html",
            {"cost": entry, "form": _edit_form(workspace, entry)},
        )
    form = _edit_form(workspace, entry, request.POST)
    if form.is_valid():
        try:
            entry = services.cost_update(
                workspace=workspace,
                actor=cast(User, request.user),
                cost_id=entry.pk,
                data=form.cleaned_data,
            )
        except ApplicationError as failure:
            form.add_error(failure.field if failure.field in form.fields else None, failure.message)
        else:
            if _is_htmx(request):
                saved = _manual_entry(workspace, entry.pk)
                return render(request, "campaigns/_cost_row.html", {"cost": saved, "saved": True})
            messages.success(request, _("Cost saved."))
            return redirect("campaigns:costs")
    if _is_htmx(request):
        return render(request, "campaigns/_cost_row_edit.html", {"cost": entry, "form": form})
    return _page(
        request,
        workspace,
        {
            "upload": CostUploadForm(),
            "manual": ManualCostForm(workspace=workspace),
            "report": None,
            "held": "",
            "held_name": "",
            "held_platform": "",
            "editing": entry,
            "edit_form": form,
        },
        422,
    )


SAMPLES = Path(__file__).parent / "samples"
SAMPLE_NAMES = ("google_ads_it.csv", "meta_it.csv", "spesa_settimanale.csv")


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def cost_sample(request: HttpRequest, name: str) -> HttpResponse:
    """A sample cost file to try the import with."""
    if name not in SAMPLE_NAMES:
        raise Http404(name)
    response = HttpResponse((SAMPLES / name).read_bytes(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
