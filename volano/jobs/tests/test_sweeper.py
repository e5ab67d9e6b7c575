"""The sweeper puts stuck imports back in the queue, once, and leaves healthy ones alone."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from volano.imports.models import ImportJob, ImportStatus
from volano.jobs.sweeper import IMPORT_TASK, Sweeper


def _job(workspace, *, status, age_minutes, processed=0):
    return ImportJob.objects.create(
        workspace=workspace,
        kind="contacts",
        filename="clienti.csv",
        path="/tmp/clienti.csv",
        status=status,
        processed=processed,
        created_at=timezone.now() - dt.timedelta(minutes=age_minutes),
    )


def _enqueued_job_ids() -> list[int]:
    task_path = ".".join(IMPORT_TASK)
    return [r.args_kwargs["args"][0] for r in DBTaskResult.objects.filter(task_path=task_path)]


def test_a_queued_import_whose_task_was_lost_is_enqueued_again_once(
    officina, django_capture_on_commit_callbacks
):
    stuck = _job(officina, status=ImportStatus.QUEUED, age_minutes=5)
    _job(officina, status=ImportStatus.QUEUED, age_minutes=0)  # just queued: its task is coming
    _job(officina, status=ImportStatus.DONE, age_minutes=60)
    sweeper = Sweeper()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep() == {"imports": 1}
        assert sweeper.sweep() == {"imports": 0}  # not again within two minutes
    assert _enqueued_job_ids() == [stuck.pk]


def test_a_running_import_that_stopped_moving_is_requeued(
    officina, django_capture_on_commit_callbacks
):
    stalled = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=400)
    moving = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=100)
    sweeper = Sweeper()
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep(start) == {"imports": 0}
        ImportJob.objects.for_workspace(officina).filter(pk=moving.pk).update(processed=900)
        assert sweeper.sweep(start + dt.timedelta(minutes=5)) == {"imports": 0}
        assert sweeper.sweep(start + dt.timedelta(minutes=11)) == {"imports": 1}
    stalled.refresh_from_db()
    moving.refresh_from_db()
    assert stalled.status == ImportStatus.QUEUED
    assert moving.status == ImportStatus.RUNNING
    assert _enqueued_job_ids() == [stalled.pk]
