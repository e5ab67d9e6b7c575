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
        assert sweeper.sweep()["imports"] == 1
        assert sweeper.sweep()["imports"] == 0  # not again within two minutes
    assert _enqueued_job_ids() == [stuck.pk]


def test_a_running_import_that_stopped_moving_is_requeued(
    officina, django_capture_on_commit_callbacks
):
    stalled = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=400)
    moving = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=100)
    sweeper = Sweeper()
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep(start)["imports"] == 0
        ImportJob.objects.for_workspace(officina).filter(pk=moving.pk).update(processed=900)
        assert sweeper.sweep(start + dt.timedelta(minutes=5))["imports"] == 0
        assert sweeper.sweep(start + dt.timedelta(minutes=11))["imports"] == 1
    stalled.refresh_from_db()
    moving.refresh_from_db()
    assert stalled.status == ImportStatus.QUEUED
    assert moving.status == ImportStatus.RUNNING
    assert _enqueued_job_ids() == [stalled.pk]


def test_an_email_that_never_left_is_enqueued_again_every_five_minutes(
    officina, giulia, django_capture_on_commit_callbacks
):
    from volano.handoff.models import Notification

    now = timezone.now()
    lost = Notification.objects.create(
        workspace=officina,
        user=giulia,
        title="Nuovo lead",
        created_at=now - dt.timedelta(minutes=10),
    )
    fresh = Notification.objects.create(  # just created: its own task is coming
        workspace=officina, user=giulia, title="Appena creato", created_at=now
    )
    Notification.objects.create(  # already sent
        workspace=officina,
        user=giulia,
        title="Inviato",
        created_at=now - dt.timedelta(minutes=10),
        emailed_at=now - dt.timedelta(minutes=9),
    )
    sweeper = Sweeper()

    def enqueued() -> list[int]:
        rows = DBTaskResult.objects.filter(task_path="volano.handoff.tasks.notification_email_task")
        return sorted(r.args_kwargs["args"][0] for r in rows)

    with django_capture_on_commit_callbacks(execute=True):
        sweeper.sweep(now)
        sweeper.sweep(now + dt.timedelta(minutes=1))  # not again within five minutes
    assert enqueued() == [lost.pk]
    with django_capture_on_commit_callbacks(execute=True):
        # five minutes on: the lost one again, and the fresh one, whose task never came either
        sweeper.sweep(now + dt.timedelta(minutes=6))
    assert enqueued() == sorted([lost.pk, lost.pk, fresh.pk])
