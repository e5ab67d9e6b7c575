"""The import wizard: upload → mapping (with a preview) → dry run → import → report."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from volano.core.errors import ApplicationError
from volano.core.exports import csv_text
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows, requires
from volano.imports import selectors
from volano.imports.mapping import targets_for
from volano.imports.models import ImportKind, ImportStatus
from volano.imports.reading import FileUnusable, preview
from volano.imports.services import (
    custom_fields_for,
    import_job_create,
    import_job_enqueue,
    import_job_mapping_set,
)


class WorkspaceRequest(HttpRequest):
    """What volano.core.middleware and django-htmx put on a request behind `requires`."""

    user: User
    workspace: Workspace
    membership: Membership
    htmx: HtmxDetails


def _job(request: WorkspaceRequest, job_id: int):
    try:
        return selectors.import_job_get(workspace=request.workspace, job_id=job_id)
    except ApplicationError:
        raise Http404(_("No such import.")) from None


@requires(Cap.VIEW_MARKETING)
def import_list(request: WorkspaceRequest) -> HttpResponse:
    return render(
        request,
        "imports/list.html",
        {
            "jobs": selectors.import_job_list(workspace=request.workspace)[:50],
            "kinds": ImportKind.choices,
            "can_import": allows(request.membership.role, Cap.EDIT_MARKETING),
        },
    )


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def import_upload(request: WorkspaceRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    error = None
    if kind not in ImportKind.values:
        error = _("Choose what the file contains.")
    elif upload is None:
        error = _("Choose a CSV or Excel file.")
    else:
        try:
            job = import_job_create(
                workspace=request.workspace,
                actor=request.user,
                kind=kind,
                filename=upload.name or "upload",
                content=upload,
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            return redirect("imports:mapping", job_id=job.pk)
    response = render(
        request,
        "imports/list.html",
        {
            "jobs": selectors.import_job_list(workspace=request.workspace)[:50],
            "kinds": ImportKind.choices,
            "can_import": True,
            "upload_error": error,
            "chosen_kind": kind,
        },
    )
    response.status_code = 400
    return response


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def import_mapping(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if job.status not in {ImportStatus.UPLOADED, ImportStatus.FAILED} and not (
        job.status == ImportStatus.DONE and job.dry_run
    ):
        return redirect("imports:detail", job_id=job.pk)
    try:
        table, sample = preview(job.path)
    except FileUnusable as failure:
        return render(request, "imports/mapping.html", {"job": job, "failure": failure.message})
    error = None
    mapping = dict(job.mapping)
    if request.method == "POST":
        mapping = {
            header: request.POST.get(f"column-{index}", "")
            for index, header in enumerate(table.headers)
        }
        try:
            import_job_mapping_set(
                workspace=request.workspace, actor=request.user, job=job, mapping=mapping
            )
            import_job_enqueue(
                workspace=request.workspace, actor=request.user, job=job, dry_run=True
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            return redirect("imports:detail", job_id=job.pk)
    fields = custom_fields_for(workspace=request.workspace, kind=job.kind)
    columns = [
        {
            "index": index,
            "header": header,
            "target": mapping.get(header, ""),
            "examples": [row[index] for row in sample if index < len(row) and row[index]][:3],
        }
        for index, header in enumerate(table.headers)
    ]
    response = render(
        request,
        "imports/mapping.html",
        {
            "job": job,
            "columns": columns,
            "targets": targets_for(job.kind, fields),
            "headers": table.headers,
            "sample": sample,
            "error": error,
        },
    )
    if error:
        response.status_code = 400
    return response


@requires(Cap.VIEW_MARKETING)
def import_detail(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    template = "imports/_status.html" if request.htmx else "imports/detail.html"
    return render(
        request,
        template,
        {
            "job": job,
            "can_import": allows(request.membership.role, Cap.EDIT_MARKETING),
            "errors": job.errors[:500],
            "warnings": job.warnings[:200],
            "poll_url": reverse("imports:detail", args=[job.pk]),
        },
    )


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def import_run(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        import_job_enqueue(workspace=request.workspace, actor=request.user, job=job, dry_run=False)
    except ApplicationError as failure:
        from django.contrib import messages

        messages.error(request, failure.message)
    return redirect("imports:detail", job_id=job.pk)


@requires(Cap.VIEW_MARKETING)
def import_errors_csv(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    rows = [[_("row"), _("column"), _("value"), _("message")]]
    rows += [[e["row"], e["column"], e["value"], e["message"]] for e in job.errors]
    response = HttpResponse("\ufeff" + csv_text(rows), content_type="text/csv; charset=utf-8")
    name = job.filename.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{name}-errors.csv"'
    return response
