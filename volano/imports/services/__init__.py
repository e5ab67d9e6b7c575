"""Imports: one entry point for the command line, the UI wizard and the background task.

`import_file` reads a file with a mapping and imports it (or, with `dry_run`, computes the same
report and writes nothing). An `ImportJob` records an upload or a command-line run, its mapping,
progress and report; `import_job_run` runs one, `import_job_enqueue` queues it after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from volano.contacts.models import CustomField, Entity
from volano.core.errors import ApplicationError
from volano.core.facts import ContactsChanged
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.imports.mapping import mapping_check, suggest_mapping
from volano.imports.models import ImportJob, ImportKind, ImportStatus
from volano.imports.reading import FileUnusable, Table, open_table, preview
from volano.imports.rows import ImportReport

from .companies import import_companies
from .contacts import import_contacts
from .orders import import_orders

__all__ = [
    "FileUnusable",
    "ImportReport",
    "import_file",
    "import_job_create",
    "import_job_enqueue",
    "import_job_mapping_set",
    "import_job_run",
    "import_mapping_suggest",
]

_IMPORTERS = {
    ImportKind.CONTACTS: import_contacts,
    ImportKind.COMPANIES: import_companies,
    ImportKind.ORDERS: import_orders,
}


def custom_fields_for(*, workspace: Workspace, kind: str) -> list[CustomField]:
    if kind == ImportKind.ORDERS:
        return []
    entity = Entity.CONTACT if kind == ImportKind.CONTACTS else Entity.COMPANY
    return list(CustomField.objects.for_workspace(workspace).filter(entity=entity))


def _check_kind(kind: str) -> None:
    if kind not in ImportKind.values:
        raise ApplicationError(
            f"unknown import kind {kind!r}: use one of {', '.join(ImportKind.values)}",
            field="kind",
        )


def import_mapping_suggest(*, workspace: Workspace, kind: str, headers: list[str]) -> dict:
    _check_kind(kind)
    return suggest_mapping(kind, headers, custom_fields_for(workspace=workspace, kind=kind))


def import_file(
    *,
    workspace: Workspace,
    actor: User | None,
    kind: str,
    path: str | Path,
    mapping: dict | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import one file. Raises FileUnusable when the file as a whole cannot be used; a bad row
    only lands in the report's errors, and every good row is imported."""
    _check_kind(kind)
    table: Table = open_table(path)
    try:
        fields = custom_fields_for(workspace=workspace, kind=kind)
        if mapping is None:
            mapping = suggest_mapping(kind, table.headers, fields)
        try:
            clean_mapping = mapping_check(kind, table.headers, mapping, fields)
        except ApplicationError as error:
            raise FileUnusable(error.message, field="mapping") from None
        total = table.total_estimate

        def report_progress(rows: int) -> None:
            if progress:
                progress(rows, max(total, rows))

        report = _IMPORTERS[ImportKind(kind)](
            workspace=workspace,
            actor=actor,
            table=table,
            mapping=clean_mapping,
            dry_run=dry_run,
            progress=report_progress,
        )
    finally:
        table.close()
    report.notes.extend(table.notes)
    report.errors.sort(key=lambda e: e["row"])
    report.warnings.sort(key=lambda e: e["row"])
    if not dry_run and (report.created or report.updated):
        _bulk_load_announce(workspace)
    return report


def _bulk_load_announce(workspace: Workspace) -> None:
    """What reads contacts catches up with a bulk load (segment membership, scores and the
    stage rules), set-based on the bulk queue once the import has committed."""
    announce(ContactsChanged(workspace_id=workspace.pk, contact_ids=None))


def _upload_dir(workspace: Workspace) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports" / str(workspace.pk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def import_job_create(
    *,
    workspace: Workspace,
    actor: User | None,
    kind: str,
    filename: str,
    content: IO[bytes] | None = None,
    path: str | Path | None = None,
) -> ImportJob:
    """Record an upload (content is stored under the data folder) or a file on disk (path).
    The file is opened once here, so an unusable one is refused before any mapping."""
    _check_kind(kind)
    if content is not None:
        safe = Path(filename).name.replace(" ", "_")[-100:] or "upload"
        stored = _upload_dir(workspace) / f"{uuid.uuid4().hex}_{safe}"
        size = 0
        limit = settings.VOLANO_IMPORT_MAX_BYTES
        with stored.open("wb") as out:
            for block in iter(lambda: content.read(1 << 20), b""):
                size += len(block)
                if size > limit:
                    out.close()
                    stored.unlink()
                    raise FileUnusable(
                        f"the file is too big (the limit is {limit / 1e6:.1f} MB):"
                        " split it into smaller files"
                    )
                out.write(block)
        path = stored
    if path is None:
        raise ApplicationError("an import needs a file", field="file")
    try:
        table, _sample = preview(path, limit=1)
    except FileUnusable:
        if content is not None:
            Path(path).unlink(missing_ok=True)
        raise
    fields = custom_fields_for(workspace=workspace, kind=kind)
    return ImportJob.objects.create(
        workspace=workspace,
        kind=kind,
        filename=Path(filename).name[:255],
        path=str(path),
        mapping=suggest_mapping(kind, table.headers, fields),
        created_by=actor,
    )


def import_job_mapping_set(
    *, workspace: Workspace, actor: User | None, job: ImportJob, mapping: dict
) -> ImportJob:
    if job.workspace_id != workspace.pk:
        raise ApplicationError("no such import")
    table, _sample = preview(job.path, limit=1)
    fields = custom_fields_for(workspace=workspace, kind=job.kind)
    job.mapping = mapping_check(job.kind, table.headers, mapping, fields)
    job.save(update_fields=["mapping"])
    return job


def import_job_enqueue(
    *, workspace: Workspace, actor: User | None, job: ImportJob, dry_run: bool
) -> ImportJob:
    """Queue the dry run or the real run; the task starts after this transaction commits."""
    from volano.imports.tasks import import_job_run_task

    if job.workspace_id != workspace.pk:
        raise ApplicationError("no such import")
    if job.status in {ImportStatus.QUEUED, ImportStatus.RUNNING}:
        raise ApplicationError("this import is already running")
    if job.status == ImportStatus.DONE and not job.dry_run:
        raise ApplicationError("this file was already imported")
    job.status = ImportStatus.QUEUED
    job.dry_run = dry_run
    job.processed = 0
    job.failure = ""
    job.save(update_fields=["status", "dry_run", "processed", "failure"])
    job_id = job.pk
    transaction.on_commit(lambda: import_job_run_task.enqueue(job_id))
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run a queued job to the end, saving progress as it goes and the report at the end."""
    workspace = job.workspace
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["status"])
    update = ImportJob.objects.for_workspace(workspace).filter(pk=job.pk)

    def progress(rows: int, total: int) -> None:
        update.update(processed=rows, total=total)

    try:
        report = import_file(
            workspace=workspace,
            actor=job.created_by,
            kind=job.kind,
            path=job.path,
            mapping=job.mapping or None,
            dry_run=job.dry_run,
            progress=progress,
        )
    except ApplicationError as error:
        _job_failed(job, error.message)
        return job
    except Exception:
        _job_failed(job, "the import stopped because of an internal error")
        raise
    job.status = ImportStatus.DONE
    job.rows = job.processed = job.total = report.rows
    job.created, job.updated, job.unchanged = report.created, report.updated, report.unchanged
    job.error_count = report.error_count
    job.errors = report.errors
    job.warnings = report.warnings
    job.unmapped = report.unmapped
    job.finished_at = timezone.now()
    job.save()
    return job


def _job_failed(job: ImportJob, message: str) -> None:
    job.status = ImportStatus.FAILED
    job.failure = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "failure", "finished_at"])
