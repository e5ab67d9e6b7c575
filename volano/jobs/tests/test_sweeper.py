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


def test_a_running_import_whose_worker_stopped_beating_is_requeued_within_a_minute(
    officina, django_capture_on_commit_callbacks
):
    now = timezone.now()
    dead = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=400)
    alive = _job(officina, status=ImportStatus.RUNNING, age_minutes=30, processed=100)
    jobs = ImportJob.objects.for_workspace(officina)
    jobs.filter(pk=dead.pk).update(heartbeat_at=now - dt.timedelta(seconds=61), attempts=1)
    jobs.filter(pk=alive.pk).update(heartbeat_at=now - dt.timedelta(seconds=20), attempts=1)
    sweeper = Sweeper()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep(now)["imports"] == 1
        assert sweeper.sweep(now + dt.timedelta(seconds=30))["imports"] == 0
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == ImportStatus.QUEUED
    assert alive.status == ImportStatus.RUNNING
    assert _enqueued_job_ids() == [dead.pk]


def test_an_email_that_never_left_is_enqueued_again_every_five_minutes(
    officina, giulia, django_capture_on_commit_callbacks
):
    from volano.notifications.models import EmailStatus, Notification

    now = timezone.now()
    lost = Notification.objects.create(
        workspace=officina,
        recipient=giulia,
        kind="lead_assigned",
        title="Nuovo lead",
        created_at=now - dt.timedelta(minutes=10),
        email_status=EmailStatus.PENDING,
    )
    fresh = Notification.objects.create(  # just created: its own task is coming
        workspace=officina,
        recipient=giulia,
        kind="lead_assigned",
        title="Appena creato",
        created_at=now,
        email_status=EmailStatus.PENDING,
    )
    Notification.objects.create(  # already sent
        workspace=officina,
        recipient=giulia,
        kind="lead_assigned",
        title="Inviato",
        created_at=now - dt.timedelta(minutes=10),
        email_status=EmailStatus.SENT,
        emailed_at=now - dt.timedelta(minutes=9),
    )
    Notification.objects.create(  # in the app only
        workspace=officina,
        recipient=giulia,
        kind="lead_assigned",
        title="Solo in app",
        created_at=now - dt.timedelta(minutes=10),
    )
    sweeper = Sweeper()

    def enqueued() -> list[int]:
        rows = DBTaskResult.objects.filter(
            task_path="volano.notifications.tasks.notification_email_task"
        )
        return sorted(r.args_kwargs["args"][0] for r in rows)

    with django_capture_on_commit_callbacks(execute=True):
        sweeper.sweep(now)
        sweeper.sweep(now + dt.timedelta(minutes=1))  # not again within five minutes
    assert enqueued() == [lost.pk]
    with django_capture_on_commit_callbacks(execute=True):
        # five minutes on: the lost one again, and the fresh one, whose task never came either
        sweeper.sweep(now + dt.timedelta(minutes=6))
    assert enqueued() == sorted([lost.pk, lost.pk, fresh.pk])
