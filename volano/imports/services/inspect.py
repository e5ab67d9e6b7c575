"""Reading an uploaded file's header and first rows, in the worker, for the mapping page.

The web request that receives an upload only streams it to disk and looks at its first bytes
(`reading.sniff`); parsing even the header of a workbook can cost what the file's hostile parts
make it cost, so it happens here, on the default queue, within the reader's limits. The page
polls the job until it leaves `reading`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from volano.imports.mapping import suggest_mapping
from volano.imports.models import ImportJob, ImportStatus
from volano.imports.reading import FileUnusable, preview

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 100
# Longer than any bounded read takes (3M shared strings: ~15 s on a loaded machine): a job still
# `reading` after this lost its task (a worker killed mid-read), and the page that waits for it
# queues the read again.
INSPECT_RETRY_AFTER = dt.timedelta(minutes=2)


def import_job_inspect(*, job: ImportJob) -> ImportJob:
    """Read the header and first rows of a job still `reading`, then make it ready to map (with
    the suggested mapping) or failed with the reason; an unusable upload is deleted."""
    from volano.imports.services import custom_fields_for

    pending = ImportJob.objects.for_workspace(job.workspace).filter(
        pk=job.pk, status=ImportStatus.READING
    )
    try:
        table, sample = preview(job.path, limit=PREVIEW_ROWS)
    except FileUnusable as error:
        Path(job.path).unlink(missing_ok=True)
        job.status, job.failure, job.finished_at = (
            ImportStatus.FAILED,
            error.message,
            timezone.now(),
        )
        pending.update(status=job.status, failure=job.failure, finished_at=job.finished_at)
        return job
    fields = custom_fields_for(workspace=job.workspace, kind=job.kind)
    job.headers = table.headers
    job.sample = [[_cut(cell) for cell in row[: len(table.headers)]] for row in sample]
    job.mapping = suggest_mapping(job.kind, table.headers, fields)
    job.total = table.total_estimate
    job.status = ImportStatus.UPLOADED
    pending.update(
        headers=job.headers,
        sample=job.sample,
        mapping=job.mapping,
        total=job.total,
        status=job.status,
    )
    return job


def _cut(cell: str) -> str:
    cell = cell.replace("\x00", "\\0")
    return cell if len(cell) <= PREVIEW_CELL_CHARS else cell[: PREVIEW_CELL_CHARS - 1] + "…"


def import_job_inspect_retry(*, job: ImportJob, language: str = "") -> bool:
    """Queue the read again for a job left in `reading` past INSPECT_RETRY_AFTER; at most once
    per that time per job (per cache). The read is idempotent: a late duplicate changes nothing."""
    from volano.imports.tasks import import_job_inspect_task

    if job.status != ImportStatus.READING or timezone.now() - job.created_at < INSPECT_RETRY_AFTER:
        return False
    key = f"volano:imports:inspect-retry:{job.pk}"
    if not cache.add(key, True, timeout=INSPECT_RETRY_AFTER.total_seconds()):
        return False
    job_id = job.pk
    transaction.on_commit(lambda: import_job_inspect_task.enqueue(job_id, language))
    return True
