"""Imports: one entry point for the command line, the UI wizard and the background task.

`import_file` reads a file with a mapping and imports it (or, with `dry_run`, computes the same
report and writes nothing). An `ImportJob` records an upload or a command-line run, its mapping,
progress and report; `import_job_run` runs one, `import_job_enqueue` queues it after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from volano.contacts.models import CustomField, Entity
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.facts import ContactsChanged
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.imports.mapping import mapping_check, suggest_mapping
from volano.imports.models import ImportJob, ImportKind, ImportStatus
from volano.imports.reading import FileUnusable, Table, open_table, sniff, too_big_message
from volano.imports.rows import Checkpoint, ImportReport

from .companies import import_companies
from .contacts import ImportOrigin, import_contacts
from .orders import import_orders

__all__ = [
    "Checkpoint",
    "FileUnusable",
    "ImportReport",
    "import_file",
    "import_job_create",
    "import_job_enqueue",
    "import_job_mapping_set",
    "import_job_run",
    "import_jobs_dead_sweep",
    "import_mapping_suggest",
]

logger = logging.getLogger(__name__)

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
    reading: Callable[[int, int], None] | None = None,
    checkpoint: Callable[[Checkpoint, int], None] | None = None,
    resume: Checkpoint | None = None,
    report: ImportReport | None = None,
    filename: str = "",
    job_id: int | None = None,
) -> ImportReport:
    """Import one file. Raises FileUnusable when the file as a whole cannot be used; a bad row
    only lands in the report's errors, and every good row is imported.

    The file is written in chunks, each in its own transaction: `checkpoint(point, total)` is
    called inside each one, so what it saves commits with the rows it counts; `progress(rows,
    total)` after it, with the rows written so far; `reading(rows, total)` as rows are read.
    `resume` (an earlier run's last checkpoint) skips the chunks that run wrote. Should the
    import stop midway, what reads contacts still catches up with the chunks written, and
    `report` (when given) holds what was found until then. Each contact created or updated gets
    an `imported` timeline event naming `filename` (by default the file's own name) and
    `job_id`."""
    _check_kind(kind)
    report = report if report is not None else ImportReport(kind=kind, dry_run=dry_run)
    table: Table = open_table(path)
    written = resume or Checkpoint()
    try:
        fields = custom_fields_for(workspace=workspace, kind=kind)
        if mapping is None:
            mapping = suggest_mapping(kind, table.headers, fields)
        try:
            clean_mapping = mapping_check(kind, table.headers, mapping, fields)
        except ApplicationError as error:
            raise FileUnusable(error.message, field="mapping") from None
        total = table.total_estimate

        def chunk_written(point: Checkpoint) -> None:
            nonlocal written
            if checkpoint:
                checkpoint(point, max(total, point.rows))
            written = point
            if progress:
                progress(point.rows, max(total, point.rows))

        def rows_read(rows: int) -> None:
            if reading:
                reading(rows, max(total, rows))

        origin = ImportOrigin(file=filename or Path(path).name, job_id=job_id)
        _IMPORTERS[ImportKind(kind)](
            **({"origin": origin} if kind == ImportKind.CONTACTS else {}),
            workspace=workspace,
            actor=actor,
            table=table,
            mapping=clean_mapping,
            dry_run=dry_run,
            report=report,
            progress=rows_read,
            checkpoint=chunk_written,
            skip_chunks=report.resume_from(resume),
        )
    finally:
        table.close()
        if not dry_run and (written.created or written.updated):
            _bulk_load_announce(workspace)
            activity_record(  # one row per import, with its counts, not one per contact
                workspace=workspace,
                actor=actor,
                verb=f"import.{kind}",
                object_type="import",
                changes={
                    "file": Path(path).name,
                    "rows": written.rows,
                    "created": written.created,
                    "updated": written.updated,
                    "unchanged": written.unchanged,
                },
            )
    report.notes.extend(table.notes)
    report.errors.sort(key=lambda e: e["row"])
    report.warnings.sort(key=lambda e: e["row"])
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
    language: str = "",
) -> ImportJob:
    """Record an upload (content is stored under the data folder) or a file on disk (path).
    Only the cheap checks run here (size, type from the first bytes), so a web request never
    parses a file; the worker reads the header and first rows (`import_job_inspect`) after
    commit, and the job waits in `reading` until then."""
    from volano.imports.tasks import import_job_inspect_task

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
                    raise FileUnusable(too_big_message(limit))
                out.write(block)
        path = stored
    if path is None:
        raise ApplicationError(gettext("an import needs a file"), field="file")
    try:
        sniff(Path(path))
    except FileUnusable:
        if content is not None:
            Path(path).unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        workspace=workspace,
        kind=kind,
        filename=Path(filename).name[:255],
        path=str(path),
        status=ImportStatus.READING,
        created_by=actor,
    )
    job_id = job.pk
    transaction.on_commit(lambda: import_job_inspect_task.enqueue(job_id, language))
    return job


def import_job_mapping_set(
    *, workspace: Workspace, actor: User | None, job: ImportJob, mapping: dict
) -> ImportJob:
    """Check a mapping against the header the worker read (never re-reading the file here)."""
    if job.workspace_id != workspace.pk:
        raise ApplicationError("no such import")
    if job.status == ImportStatus.READING or not job.headers:
        raise ApplicationError(gettext("the file is still being read: try again in a moment"))
    fields = custom_fields_for(workspace=workspace, kind=job.kind)
    job.mapping = mapping_check(job.kind, job.headers, mapping, fields)
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
        raise ApplicationError(gettext("this import is already running"))
    if job.status == ImportStatus.READING:
        raise ApplicationError(gettext("the file is still being read: try again in a moment"))
    if job.status == ImportStatus.DONE and not job.dry_run:
        raise ApplicationError(gettext("this file was already imported"))
    job.status = ImportStatus.QUEUED
    job.dry_run = dry_run
    job.processed = job.chunks_done = job.attempts = 0
    job.created = job.updated = job.unchanged = job.error_count = 0
    job.failure = ""
    job.save(
        update_fields=[
            "status",
            "dry_run",
            "processed",
            "chunks_done",
            "attempts",
            "created",
            "updated",
            "unchanged",
            "error_count",
            "failure",
        ]
    )
    job_id = job.pk
    transaction.on_commit(lambda: import_job_run_task.enqueue(job_id))
    return job


HEARTBEAT_EVERY = 5.0  # seconds between two heartbeats while rows are read
DEAD_AFTER = dt.timedelta(seconds=60)  # a running job whose heartbeat is older lost its worker
MAX_ATTEMPTS = 3  # runs a job may start; one that lost its worker that often has failed


class ImportJobLost(Exception):
    """This worker's run of the job was given up for dead and the job handed on: stop, write
    nothing more (the chunk being written is rolled back)."""


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run a queued job to the end, saving progress as it goes and the report at the end.

    Each chunk's transaction also saves the job's counts and heartbeat, fenced by the run's
    attempt number: once the sweeper has handed the job to another run, this one stops. A job
    run again after its worker died resumes after the last chunk it wrote."""
    workspace = job.workspace
    scoped = ImportJob.objects.for_workspace(workspace)
    this_run = scoped.filter(pk=job.pk, attempts=job.attempts)
    with translation.override(workspace.language):
        if not this_run.update(status=ImportStatus.RUNNING, heartbeat_at=timezone.now()):
            return job
        job.status = ImportStatus.RUNNING
        report = ImportReport(kind=job.kind, dry_run=job.dry_run)
        last_beat = time.monotonic()

        def checkpoint(point: Checkpoint, total: int) -> None:
            nonlocal last_beat
            last_beat = time.monotonic()
            if not this_run.update(
                processed=point.rows,
                total=total,
                chunks_done=point.chunks,
                created=point.created,
                updated=point.updated,
                unchanged=point.unchanged,
                error_count=point.error_count,
                heartbeat_at=timezone.now(),
            ):
                raise ImportJobLost

        def reading(rows: int, total: int) -> None:
            nonlocal last_beat
            if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                last_beat = time.monotonic()
                this_run.update(total=total, heartbeat_at=timezone.now())

        try:
            import_file(
                workspace=workspace,
                actor=job.created_by,
                kind=job.kind,
                path=job.path,
                mapping=job.mapping or None,
                dry_run=job.dry_run,
                reading=reading,
                checkpoint=checkpoint,
                resume=_resume_point(job),
                report=report,
                filename=job.filename,
                job_id=job.pk,
            )
        except ImportJobLost:
            return job
        except ApplicationError as error:
            _job_failed(job, report, error.message)
            return job
        except Exception:
            _job_failed(job, report, gettext("an internal error stopped the import"))
            raise
    finished = {
        "status": ImportStatus.DONE,
        "rows": report.rows,
        "processed": report.rows,
        "total": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "error_count": report.error_count,
        "errors": report.errors,
        "warnings": report.warnings,
        "unmapped": report.unmapped,
        "finished_at": timezone.now(),
    }
    if this_run.update(**finished):  # unless the job was handed to another run meanwhile
        for name, value in finished.items():
            setattr(job, name, value)
    return job


def _resume_point(job: ImportJob) -> Checkpoint | None:
    """Where an earlier run of this job stopped, when it wrote anything."""
    if not job.chunks_done:
        return None
    return Checkpoint(
        chunks=job.chunks_done,
        rows=job.processed,
        created=job.created,
        updated=job.updated,
        unchanged=job.unchanged,
        error_count=job.error_count,
    )


def _job_failed(job: ImportJob, report: ImportReport, message: str) -> None:
    """The job stopped: it keeps the counts its chunks committed, and says how far it got
    (unless the job was handed to another run meanwhile: that run reports)."""
    job.refresh_from_db(fields=["processed", "created", "updated", "unchanged", "error_count"])
    stopped = {
        "status": ImportStatus.FAILED,
        "failure": _stopped_message(job, message),
        "errors": sorted(report.errors, key=lambda e: e["row"]),
        "warnings": sorted(report.warnings, key=lambda e: e["row"]),
        "error_count": max(job.error_count, report.error_count),
        "unmapped": report.unmapped,
        "finished_at": timezone.now(),
    }
    this_run = ImportJob.objects.for_workspace(job.workspace).filter(
        pk=job.pk, attempts=job.attempts
    )
    if this_run.update(**stopped):
        for name, value in stopped.items():
            setattr(job, name, value)


def _stopped_message(job: ImportJob, reason: str) -> str:
    """Why the job stopped, and what its committed chunks hold, in the workspace's language."""
    reason = reason.rstrip(". ")
    if job.dry_run:
        return gettext("%(reason)s (after checking %(rows)s rows).") % {
            "reason": reason,
            "rows": job.processed,
        }
    if not job.processed:
        return gettext("%(reason)s. Nothing was imported.") % {"reason": reason}
    return gettext(
        "%(reason)s. Before it stopped, %(rows)s rows were read and saved: %(created)s created,"
        " %(updated)s updated, %(unchanged)s unchanged."
    ) % {
        "reason": reason,
        "rows": job.processed,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
    }


def import_jobs_dead_sweep(*, now: dt.datetime) -> list[int]:
    """Running jobs whose worker died (no heartbeat for DEAD_AFTER): each is queued again, to
    resume after its last chunk, or marked failed once it has lost MAX_ATTEMPTS workers. The
    ids queued again; their tasks are enqueued after commit."""
    from volano.imports.tasks import import_job_run_task

    dead = (
        ImportJob.all_workspaces.filter(status=ImportStatus.RUNNING)
        .filter(
            Q(heartbeat_at__lt=now - DEAD_AFTER)
            | Q(heartbeat_at__isnull=True, created_at__lt=now - DEAD_AFTER)
        )
        .select_related("workspace")
    )
    requeued = []
    for job in dead:
        # Only if nothing moved since it was read: the heartbeat and attempt are the fence.
        same = ImportJob.all_workspaces.filter(
            pk=job.pk,
            status=ImportStatus.RUNNING,
            attempts=job.attempts,
            heartbeat_at=job.heartbeat_at,
        )
        if job.attempts >= MAX_ATTEMPTS:
            with translation.override(job.workspace.language):
                reason = ngettext(
                    "The worker running this import stopped %(count)s time",
                    "The worker running this import stopped %(count)s times",
                    job.attempts,
                ) % {"count": job.attempts}
                message = _stopped_message(job, reason)
            if same.update(status=ImportStatus.FAILED, failure=message, finished_at=now):
                logger.warning(
                    "import job %s lost its worker %s times: failed", job.pk, job.attempts
                )
        elif same.update(status=ImportStatus.QUEUED):
            requeued.append(job.pk)
            transaction.on_commit(functools.partial(import_job_run_task.enqueue, job.pk))
            logger.warning(
                "import job %s lost its worker after %s rows: queued again", job.pk, job.processed
            )
    return requeued
