"""The sweeper: finds work stuck in our own tables and enqueues it again.

Runs inside `volano worker` every minute (and can be called once with `sweep()`). What it repairs:

- imports: an ImportJob still "queued" two minutes after it was created (its task was lost, or the
  worker was down) is enqueued again; one "running" whose progress (`processed`) has not moved for
  ten minutes (its worker died) is put back to "queued" and enqueued again. The import task claims
  a job with one UPDATE on status "queued", so a job enqueued twice still runs once.

- reactions: an outbox row whose task was lost (still pending a minute after it was dispatched) or
  whose worker died (running for fifteen minutes) is dispatched again
  (`volano.core.reactions.outbox_redispatch`), so no reaction to a committed change is lost.

- hand-off: pending assignments past their SLA due time are expired and the lead reassigned or
  escalated (`volano.handoff.services.assignments_overdue_sweep`).

ImportJob has no progress timestamp, so "has not moved" is judged by this sweeper's own memory of
`processed` between sweeps: after a restart, a stalled job is noticed ten minutes later.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import logging
import threading
from typing import Any

from django.db import close_old_connections, transaction
from django.utils import timezone

from volano.core.reactions import outbox_redispatch

logger = logging.getLogger(__name__)

QUEUED_GRACE = dt.timedelta(minutes=2)
STALLED_AFTER = dt.timedelta(minutes=10)
IMPORT_TASK = ("volano.imports.tasks", "import_job_run_task")
SEGMENTS_FULL_EVERY = dt.timedelta(hours=1)
# A notification whose email was not sent (the task was lost, SMTP failed) is retried after this
# long, then every RETRY_EMAIL_EVERY, for a day.
UNSENT_AFTER = dt.timedelta(minutes=2)
RETRY_EMAIL_EVERY = dt.timedelta(minutes=5)
GIVE_UP_EMAIL_AFTER = dt.timedelta(days=1)


def _task(module_name: str, name: str) -> Any:
    """A domain's task, or None while that domain does not have it."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


class Sweeper:
    def __init__(self) -> None:
        # job id -> (processed, when that value was first seen)
        self._progress: dict[int, tuple[int, dt.datetime]] = {}
        # job id -> when the sweeper last enqueued it, so a backlog is not enqueued every minute
        self._enqueued: dict[int, dt.datetime] = {}
        # notification id -> when its email task was last enqueued again
        self._emails_retried: dict[int, dt.datetime] = {}
        # segments: the last event id seen, and when every segment was last fully refreshed
        self._event_cursor: int | None = None
        self._segments_full_at: dt.datetime | None = None

    def sweep(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One pass over every kind of work; returns how many items were enqueued again."""
        now = now or timezone.now()
        imports = self._imports(now)
        try:
            reactions = outbox_redispatch(now=now)
        except Exception:
            reactions = 0
            logger.exception("sweeper: the reactions pass failed")
        try:
            self._segments(now)
        except Exception:
            logger.exception("sweeper: the segments pass failed")
        try:
            self._handoff(now)
            self._unsent_emails(now)
        except Exception:
            logger.exception("sweeper: the hand-off pass failed")
        return {"imports": imports, "reactions": reactions}

    def _segments(self, now: dt.datetime) -> int:
        """Announce the website's page views stored since the last pass (segments and scores
        react to them); every hour, enqueue a full refresh of the segments (sliding windows
        move)."""
        from volano.events.services import events_announce_recent

        self._event_cursor, done = events_announce_recent(after_event_id=self._event_cursor)
        if self._segments_full_at is None or now - self._segments_full_at >= SEGMENTS_FULL_EVERY:
            self._segments_full_at = now
            task = _task("volano.segments.tasks", "segments_refresh_all_task")
            from volano.core.models import Workspace

            for workspace_id in Workspace.objects.values_list("pk", flat=True):
                transaction.on_commit(functools.partial(task.enqueue, workspace_id))
        return sum(done.values())

    def _handoff(self, now: dt.datetime) -> int:
        """Leads not accepted within the SLA go to the next rep, or are escalated."""
        from volano.handoff.services import assignments_overdue_sweep

        expired = assignments_overdue_sweep(now=now)
        if expired:
            logger.info("sweeper: %s hand-off assignments past their SLA", expired)
        return expired

    def _unsent_emails(self, now: dt.datetime) -> int:
        """Notifications whose email never left: their task is enqueued again (it claims the
        row before sending, so an email is still sent once)."""
        from volano.handoff.models import Notification
        from volano.handoff.tasks import notification_email_task

        unsent = Notification.all_workspaces.filter(
            emailed_at__isnull=True,
            created_at__lt=now - UNSENT_AFTER,
            created_at__gte=now - GIVE_UP_EMAIL_AFTER,
        ).values_list("pk", flat=True)[:500]
        retried = 0
        for notification_id in unsent:
            last = self._emails_retried.get(notification_id)
            if last is None or now - last >= RETRY_EMAIL_EVERY:
                self._emails_retried[notification_id] = now
                transaction.on_commit(
                    functools.partial(notification_email_task.enqueue, notification_id)
                )
                retried += 1
        if retried:
            logger.warning("sweeper: %s notification emails enqueued again", retried)
        return retried

    def _imports(self, now: dt.datetime) -> int:
        task = _task(*IMPORT_TASK)
        if task is None:
            return 0
        from volano.imports.models import ImportJob, ImportStatus

        jobs = ImportJob.all_workspaces
        retry = []
        for job_id in jobs.filter(
            status=ImportStatus.QUEUED, created_at__lt=now - QUEUED_GRACE
        ).values_list("id", flat=True):
            last = self._enqueued.get(job_id)
            if last is None or now - last >= QUEUED_GRACE:
                retry.append(job_id)

        running = dict(jobs.filter(status=ImportStatus.RUNNING).values_list("id", "processed"))
        for job_id, processed in running.items():
            seen = self._progress.get(job_id)
            if seen is None or seen[0] != processed:
                self._progress[job_id] = (processed, now)
            elif now - seen[1] >= STALLED_AFTER and (
                jobs.filter(pk=job_id, status=ImportStatus.RUNNING, processed=processed).update(
                    status=ImportStatus.QUEUED
                )
            ):
                del self._progress[job_id]
                retry.append(job_id)
        for job_id in list(self._progress):
            if job_id not in running:
                del self._progress[job_id]

        for job_id in retry:
            self._enqueued[job_id] = now
            transaction.on_commit(functools.partial(task.enqueue, job_id))
            logger.warning("sweeper: import job %s was stuck, enqueued again", job_id)
        return len(retry)

    def run_forever(self, *, interval: float, stop: threading.Event) -> None:
        """Sweep every `interval` seconds until `stop` is set; an error is logged, never fatal."""
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:
                logger.exception("sweeper: a sweep failed")
            finally:
                close_old_connections()
            stop.wait(interval)
