"""Background work for imports: thin, idempotent, takes the job id."""

from __future__ import annotations

from django.db.models import F
from django.tasks import task
from django.utils import timezone

from volano.imports.models import ImportJob, ImportStatus


@task(queue_name="bulk")
def import_job_run_task(job_id: int) -> None:
    from volano.imports.services import import_job_run

    # Claim the job in one statement, so a job enqueued twice runs once.
    # Each claim is a new attempt: the run's checkpoints are fenced by its number, and its
    # heartbeat starts now.
    claimed = ImportJob.all_workspaces.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    if not claimed:
        return  # deleted, already run, or picked up by another worker
    job = ImportJob.all_workspaces.select_related("workspace", "created_by").get(pk=job_id)
    import_job_run(job=job)


@task(queue_name="default")
def import_job_inspect_task(job_id: int, language: str = "") -> None:
    """Read an upload's header and first rows for the mapping page (never in the web process),
    in the language of the person who uploaded it."""
    from django.conf import settings
    from django.utils import translation

    from volano.imports.services.inspect import import_job_inspect

    job = (
        ImportJob.all_workspaces.select_related("workspace")
        .filter(pk=job_id, status=ImportStatus.READING)
        .first()
    )
    if job is None:
        return  # deleted, or already read
    with translation.override(language or settings.LANGUAGE_CODE):
        import_job_inspect(job=job)
