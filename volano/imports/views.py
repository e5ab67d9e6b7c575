"""The import wizard: upload → mapping (with a preview) → dry run → import → report."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from volano.core.errors import ApplicationError
from volano.core.exports import csv_delimiter, csv_text
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows, requires
from volano.core.view_errors import error_redirect
from volano.imports import selectors
from volano.imports.mapping import targets_for
from volano.imports.models import ImportKind, ImportStatus
from volano.imports.reading import too_big_message
from volano.imports.services import (
    custom_fields_for,
    import_job_create,
    import_job_enqueue,
    import_job_mapping_set,
)
from volano.imports.services.inspect import import_job_inspect_retry
from volano.imports.template_files import FORMATS, import_template_file


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


# The wizard's steps, shown on every page of it (number, name, label).
IMPORT_STEPS = (
    (1, "file", gettext_lazy("File")),
    (2, "columns", gettext_lazy("Columns")),
    (3, "check", gettext_lazy("Check")),
    (4, "import", gettext_lazy("Import")),
)


def _max_size() -> str:
    return f"{settings.VOLANO_IMPORT_MAX_BYTES / 2**20:.0f} MB"  # 200 MB as the docs say it


@requires(Cap.VIEW_MARKETING)
def import_list(request: WorkspaceRequest) -> HttpResponse:
    return render(
        request,
        "imports/list.html",
        {
            "jobs": selectors.import_job_list(workspace=request.workspace)[:50],
            "kinds": ImportKind.choices,
            "can_import": allows(request.membership.role, Cap.EDIT_MARKETING),
            "import_steps": IMPORT_STEPS,
            "max_size": _max_size(),
        },
    )


# Multipart overhead around the file (boundaries, the other fields) that a Content-Length may
# carry beyond the file itself before the upload is refused unread.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
MAPPING_FIELDS_WITHOUT_SCRIPT = 900  # below DATA_UPLOAD_MAX_NUMBER_FIELDS, with room to spare
PREVIEW_COLUMNS = 30  # the "first rows" table; every column is in the mapping table above it


class ImportUploadHandler(TemporaryFileUploadHandler):
    """The file goes straight to a temporary file on disk, whatever its size, and the upload
    stops as soon as it passes VOLANO_IMPORT_MAX_BYTES (Content-Length may be absent or lie)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.too_big = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.VOLANO_IMPORT_MAX_BYTES:
            self.too_big = True
            self.file.close()
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def _upload_page(request: WorkspaceRequest, *, error: str, kind: str, status: int) -> HttpResponse:
    response = render(
        request,
        "imports/list.html",
        {
            "jobs": selectors.import_job_list(workspace=request.workspace)[:50],
            "kinds": ImportKind.choices,
            "can_import": True,
            "upload_error": error,
            "chosen_kind": kind,
            "import_steps": IMPORT_STEPS,
            "max_size": _max_size(),
        },
    )
    response.status_code = status
    return response


@csrf_exempt  # checked by _import_upload, once the upload handler below is in place
@requires(write=Cap.EDIT_MARKETING)
@require_POST
def import_upload(request: WorkspaceRequest) -> HttpResponse:
    """Refuse an upload too big from its Content-Length before reading a byte of it; stream any
    other straight to disk (never into the web process's memory)."""
    limit = settings.VOLANO_IMPORT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + UPLOAD_OVERHEAD_BYTES:
        return _upload_page(request, error=too_big_message(limit), kind="", status=413)
    handler = ImportUploadHandler(request)
    request.upload_handlers = [handler]
    return _import_upload(request, handler)


@csrf_protect
def _import_upload(request: WorkspaceRequest, handler: ImportUploadHandler) -> HttpResponse:
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    if handler.too_big:
        return _upload_page(
            request, error=too_big_message(settings.VOLANO_IMPORT_MAX_BYTES), kind=kind, status=413
        )
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
                language=translation.get_language() or "",
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            return redirect("imports:mapping", job_id=job.pk)
        finally:
            upload.close()
    return _upload_page(request, error=error or "", kind=kind, status=400)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def import_mapping(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    """The mapping page, from the header and first rows the worker read; while it reads, the
    page polls (HTMX; without JavaScript, a reload link) and reloads once they are there."""
    job = _job(request, job_id)
    if job.status == ImportStatus.READING:
        import_job_inspect_retry(job=job, language=translation.get_language() or "")
        return render(
            request,
            "imports/_reading.html" if request.htmx else "imports/mapping.html",
            {"job": job, "reading": True, "import_steps": IMPORT_STEPS},
        )
    if request.htmx and request.headers.get("HX-Target") == "import-reading":
        response = HttpResponse()  # read: the whole page reloads with the mapping form
        response["HX-Refresh"] = "true"
        return response
    if not job.headers:
        return render(
            request,
            "imports/mapping.html",
            {
                "job": job,
                "failure": job.failure or _("No such import."),
                "import_steps": IMPORT_STEPS,
            },
        )
    if job.status not in {ImportStatus.UPLOADED, ImportStatus.FAILED} and not (
        job.status == ImportStatus.DONE and job.dry_run
    ):
        return redirect("imports:detail", job_id=job.pk)
    headers: list[str] = job.headers
    error = None
    mapping = dict(job.mapping)
    if request.method == "POST":
        try:
            mapping = _posted_mapping(request, headers)
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
    sample: list[list[str]] = job.sample
    columns = [
        {
            "index": index,
            "header": header,
            "target": mapping.get(header, ""),
            "examples": [row[index] for row in sample if index < len(row) and row[index]][:3],
        }
        for index, header in enumerate(headers)
    ]
    response = render(
        request,
        "imports/mapping.html",
        {
            "job": job,
            "columns": columns,
            "targets": targets_for(job.kind, fields),
            "headers": headers[:PREVIEW_COLUMNS],
            "sample": [row[:PREVIEW_COLUMNS] for row in sample],
            "hidden_columns": max(0, len(headers) - PREVIEW_COLUMNS),
            "needs_script": len(headers) > MAPPING_FIELDS_WITHOUT_SCRIPT,
            "error": error,
            "import_steps": IMPORT_STEPS,
        },
    )
    if error:
        response.status_code = 400
    return response


def _posted_mapping(request: WorkspaceRequest, headers: list[str]) -> dict[str, str]:
    """The mapping as posted: one field per column ("column-<n>"), or, from the page's script
    for files with more columns than Django accepts fields, one JSON object
    {"<column number>": "<target>"} of the mapped columns only."""
    packed = request.POST.get("mapping")
    if packed is None:
        return {header: request.POST.get(f"column-{i}", "") for i, header in enumerate(headers)}
    try:
        chosen = json.loads(packed)
        if not isinstance(chosen, dict):
            raise ValueError
        by_index = {int(index): target for index, target in chosen.items()}
    except (ValueError, TypeError):
        raise ApplicationError(
            _("The mapping sent by the page is damaged: reload the page."), field="mapping"
        ) from None
    if any(not 0 <= index < len(headers) for index in by_index):
        raise ApplicationError(
            _("The mapping sent by the page is damaged: reload the page."), field="mapping"
        )
    return {header: by_index.get(i, "") for i, header in enumerate(headers)}


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
            "import_steps": IMPORT_STEPS,
            "step": _detail_step(job),
            "contacts_url": _contacts_url(job),
        },
    )


def _detail_step(job) -> int:
    """Columns while the file is read or waits for its mapping, check for a dry run, import
    for the real thing."""
    if job.status in {ImportStatus.READING, ImportStatus.UPLOADED}:
        return 2
    return 3 if job.dry_run else 4


def _contacts_url(job) -> str:
    """The contacts list filtered to the contacts this import created or updated."""
    if job.kind != ImportKind.CONTACTS or job.dry_run or not (job.created or job.updated):
        return ""
    return f"{reverse('contacts:list')}?import={job.pk}"


@error_redirect("imports:detail", "job_id")
@requires(write=Cap.EDIT_MARKETING)
@require_POST
def import_run(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    import_job_enqueue(workspace=request.workspace, actor=request.user, job=job, dry_run=False)
    return redirect("imports:detail", job_id=job.pk)


@requires(Cap.VIEW_MARKETING)
def import_template(request: WorkspaceRequest, kind: str, file_format: str) -> HttpResponse:
    """A file to fill in, with the headers Volano maps by itself, in the user's language."""
    if kind not in ImportKind.values or file_format not in FORMATS:
        raise Http404(_("No such template."))
    template = import_template_file(
        kind=kind, file_format=file_format, language=translation.get_language() or ""
    )
    response = HttpResponse(template.content, content_type=template.content_type)
    response["Content-Disposition"] = f'attachment; filename="{template.name}"'
    return response


@requires(Cap.VIEW_MARKETING)
def import_errors_csv(request: WorkspaceRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    rows = [[_("row"), _("column"), _("value"), _("message")]]
    rows += [[e["row"], e["column"], e["value"], e["message"]] for e in job.errors]
    # With a BOM, so Excel reads UTF-8; separated as a spreadsheet in the user's language expects.
    text = csv_text(rows, delimiter=csv_delimiter(translation.get_language()))
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    name = job.filename.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{name}-errors.csv"'
    return response
