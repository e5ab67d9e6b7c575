"""The sweeper: finds work stuck in our own tables and enqueues it again.

Runs inside `volano worker` every 10 seconds (and can be called once with `sweep()`). What it repairs:

- imports: an ImportJob still "queued" two minutes after it was created (its task was lost, or the
  worker was down) is enqueued again; one "running" whose worker has not written its heartbeat
  for a minute (the worker died) is queued again to resume after its last chunk, or failed after
  three lost workers (`volano.imports.services.import_jobs_dead_sweep`). The import task claims
  a job with one UPDATE on status "queued", so a job enqueued twice still runs once.

- reactions: an outbox row whose task was lost (still pending a minute after it was dispatched) or
  whose worker died (running for fifteen minutes) is dispatched again
  (`volano.core.reactions.outbox_redispatch`), so no reaction to a committed change is lost.

- page views: the website's hits are stored by one INSERT each, with no fact announced; every
  pass announces those stored since a cursor kept in the database (`SweeperState`), so events
  stored while the worker was down are handled after a restart, a gap in the ids (a rolled-back
  batch) is stepped over, and the last few seconds of arrivals wait for the next pass. The
  cursor starts at the install (migration `jobs.0002`): on a fresh install at 0, so the page
  views stored before any worker ran are handled by the first pass; on an upgraded one at its
  last event, so a long history is not announced again.

- mailings: a mailing still sending whose worker has not claimed a batch for a minute (the task
  was lost, or the worker was killed) gets its dead claims back and a task again
  (`volano.emails.sending.services.mailings_stalled_sweep`); and the bounce mailbox
  (`VOLANO_BOUNCE_IMAP_URL`) is read once a minute (`volano.emails.bounces.bounces_poll`).
  Broadcasts whose scheduled send or A/B winner is due are run
  (`volano.emails.broadcasts.services.broadcasts_due_run`), so a lost task never loses a send.

- hand-off: pending assignments past their SLA due time are expired and the lead reassigned or
  escalated (`volano.handoff.services.assignments_overdue_sweep`).

- workflows: enrolments claimed by a worker that died (claimed for ten minutes) are let go, and
  each workspace with due steps gets a run task (`volano.workflows.services.workflows_due_sweep`):
  this is also how a wait of seven days ends.
- deferred tasks (only with VOLANO_BROKER_URL, on Celery): task rows whose `run_after` came, or
  whose message could not be published while the broker was away, are published
  (`volano.jobs.celery_backend.deferred_publish`).

- stakeholder reports: a schedule whose first-of-the-month came is claimed, its report kept and
  emailed; one kept but not sent is sent again (`volano.reports.services.report_schedules_due_run`).

- notification emails: one still pending two minutes after it was created, or claimed by a
  worker that died, is enqueued again on the transactional queue (its task claims it once).

Only one sweeper works at a time in an installation, whatever the number of workers: each pass
first takes (or renews) a lease in the database; a second worker's sweeper finds it taken and
does nothing until the first one stops (it gives the lease back) or its lease runs out; on
PostgreSQL each pass of `run_forever` also holds an advisory lock (`pass_lock`), so a pass that
runs longer than the lease is never overlapped by the next sweeper's. This holds for the embedded
workers and for Celery workers (`volano worker` with VOLANO_BROKER_URL starts a sweeper in each
worker; one sweeps, the others take over when it dies).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from volano.core.reactions import outbox_redispatch
from volano.jobs.models import SweeperState

logger = logging.getLogger(__name__)

QUEUED_GRACE = dt.timedelta(minutes=2)
IMPORT_TASK = ("volano.imports.tasks", "import_job_run_task")
SEGMENTS_FULL_EVERY = dt.timedelta(hours=1)
# the nightly work (the customer-value refit and its churn-risk marks) starts at the first pass
# after this hour, in the installation's time zone
NIGHTLY_FROM_HOUR = 3
STATE = "sweeper"  # the SweeperState row of the lease
CURSOR = "page_views"  # the SweeperState row of the page views' cursor
# renewed every pass (every 10 s by default); a sweeper that died is replaced once it ran out
LEASE = dt.timedelta(seconds=float(os.environ.get("VOLANO_SWEEPER_LEASE", "60")))
# A notification whose email was not sent (the task was lost, SMTP failed) is retried after this
# long, then every RETRY_EMAIL_EVERY, for a day.
UNSENT_AFTER = dt.timedelta(minutes=2)
RETRY_EMAIL_EVERY = dt.timedelta(minutes=5)
GIVE_UP_EMAIL_AFTER = dt.timedelta(days=1)
BOUNCES_EVERY = dt.timedelta(minutes=1)


def _task(module_name: str, name: str) -> Any:
    """A domain's task, or None while that domain does not have it."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


# pg_try_advisory_lock key of a sweep pass (any constant 64-bit number, Volano's own)
PASS_LOCK_KEY = 0x566F6C616E6F  # "Volano"


@contextlib.contextmanager
def pass_lock() -> Iterator[bool]:
    """One sweep pass at a time across every machine: on PostgreSQL a session advisory lock
    (`pg_try_advisory_lock`) held for the pass, which the server frees by itself when the
    holder's connection dies (kill -9, a lost machine); yields False when another pass holds it.
    The lease decides which worker sweeps; this lock covers a pass longer than the lease. On
    SQLite (one machine) the lease alone."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PASS_LOCK_KEY])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PASS_LOCK_KEY])


class Sweeper:
    def __init__(self) -> None:
        # who this sweeper is, for the installation-wide lease (one sweeper works at a time)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # job id -> when the sweeper last enqueued it, so a backlog is not enqueued every minute
        self._enqueued: dict[int, dt.datetime] = {}
        # notification id -> when its email task was last enqueued again
        self._emails_retried: dict[int, dt.datetime] = {}
        # when every segment was last fully refreshed
        self._segments_full_at: dt.datetime | None = None
        # when the bounce mailbox was last read
        self._bounces_at: dt.datetime | None = None
        # the day the nightly work was last enqueued
        self._nightly_on: dt.date | None = None

    def sweep(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One pass over every kind of work; returns how many items were enqueued again (and
        nothing at all when another sweeper holds the lease)."""
        now = now or timezone.now()
        if not self.lease_take(now):
            return {"imports": 0, "reactions": 0, "page_views": 0}
        imports = self._imports(now)
        try:
            reactions = outbox_redispatch(now=now)
        except Exception:
            reactions = 0
            logger.exception("sweeper: the reactions pass failed")
        page_views = 0
        try:
            page_views = self._page_views(now)
            self._segments(now)
        except Exception:
            logger.exception("sweeper: the page views and segments pass failed")
        try:
            self._handoff(now)
            self._unsent_emails(now)
        except Exception:
            logger.exception("sweeper: the hand-off pass failed")
        try:
            self._mailings(now)
        except Exception:
            logger.exception("sweeper: the mailings pass failed")
        try:
            self._workflows(now)
        except Exception:
            logger.exception("sweeper: the workflows pass failed")
        try:
            self._deferred_tasks(now)
        except Exception:
            logger.exception("sweeper: the deferred tasks pass failed")
        try:
            self._reports(now)
        except Exception:
            logger.exception("sweeper: the scheduled reports pass failed")
        try:
            self._nightly(now)
        except Exception:
            logger.exception("sweeper: the nightly pass failed")
        return {"imports": imports, "reactions": reactions, "page_views": page_views}

    def lease_take(self, now: dt.datetime) -> bool:
        """Take (or renew) the installation's sweeper lease: one UPDATE that only succeeds when
        the lease is this sweeper's or has run out, so however many workers start a sweeper,
        one sweeps; when it stops, another takes over once its lease has run out."""
        if not SweeperState.objects.filter(name=STATE).exists():
            # (two sweepers starting at the same moment both try: one row, no error)
            SweeperState.objects.bulk_create([SweeperState(name=STATE)], ignore_conflicts=True)
        return bool(
            SweeperState.objects.filter(name=STATE)
            .filter(
                Q(lease_owner=self.owner) | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            )
            .update(lease_owner=self.owner, lease_until=now + LEASE)
        )

    def _page_views(self, now: dt.datetime) -> int:
        """Announce the website's page views stored since the persisted cursor (segments and
        scores react to them). The cursor row is locked for the pass (skipped if another holds
        it), and moves in the transaction that writes the announced facts, so a page view is
        announced once, even across a crash or a restart."""
        from volano.events.services import events_announce_recent

        if not SweeperState.objects.filter(name=CURSOR).exists():
            # The migration that creates the table leaves this row (at 0 on a fresh install, at
            # the last event of an upgraded one); should it be gone, the pass reads from the
            # start rather than skip what is stored (50,000 events a pass).
            SweeperState.objects.bulk_create(
                [SweeperState(name=CURSOR, event_cursor=0)], ignore_conflicts=True
            )
        with transaction.atomic():
            # (a sweeper whose lease ran out in the middle of a long pass may still hold it)
            locked = SweeperState.objects.select_for_update(skip_locked=True).filter(name=CURSOR)
            state = locked.first()
            if state is None:
                return 0
            cursor, done = events_announce_recent(after_event_id=state.event_cursor, now=now)
            if cursor != state.event_cursor:
                state.event_cursor = cursor
                state.save(update_fields=["event_cursor"])
        return sum(done.values())

    def _segments(self, now: dt.datetime) -> None:
        """Every hour, enqueue a full refresh of the segments (sliding windows move)."""
        if self._segments_full_at is None or now - self._segments_full_at >= SEGMENTS_FULL_EVERY:
            self._segments_full_at = now
            task = _task("volano.segments.tasks", "segments_refresh_all_task")
            from volano.core.models import Workspace

            for workspace_id in Workspace.objects.values_list("pk", flat=True):
                transaction.on_commit(functools.partial(task.enqueue, workspace_id))

    def _nightly(self, now: dt.datetime) -> None:
        """Once a day from NIGHTLY_FROM_HOUR, on the bulk queue, for each workspace: the
        customer-value refit and churn-risk marks (nothing more for a workspace refitted today),
        the board's report's attributed days kept ahead (days kept and current are not
        computed again), and the attribution page's default ROI (Markov, the last 365 days)
        kept ready for the day's first view. So a sweeper that takes over the same day and enqueues again changes
        nothing."""
        local = timezone.localtime(now)
        if local.hour < NIGHTLY_FROM_HOUR or self._nightly_on == local.date():
            return
        self._nightly_on = local.date()
        tasks = [
            found
            for module, name in (
                ("volano.reports.tasks", "value_model_nightly_task"),
                ("volano.reports.tasks", "stakeholder_warm_nightly_task"),
                ("volano.attribution.tasks", "page_warm_nightly_task"),
            )
            if (found := _task(module, name)) is not None
        ]
        if not tasks:
            return
        from volano.core.models import Workspace

        for workspace_id in Workspace.objects.values_list("pk", flat=True):
            for task in tasks:
                transaction.on_commit(
                    functools.partial(task.using(queue_name="bulk").enqueue, workspace_id)
                )

    def _mailings(self, now: dt.datetime) -> int:
        """Sending mailings whose worker went quiet: dead claims back to the queue, a task again
        (`volano.emails.sending.services.mailings_stalled_sweep`)."""
        sweep = _task("volano.emails.sending.services", "mailings_stalled_sweep")
        count = sweep(now=now) if sweep else 0
        # broadcasts whose scheduled send or A/B winner is due (their own task may be lost)
        due = _task("volano.emails.broadcasts.services", "broadcasts_due_run")
        if due:
            count += due(now=now)
        # the bounce mailbox (VOLANO_BOUNCE_IMAP_URL), read once a minute
        poll = _task("volano.emails.bounces", "bounces_poll")
        due = self._bounces_at is None or now - self._bounces_at >= BOUNCES_EVERY
        if poll and os.environ.get("VOLANO_BOUNCE_IMAP_URL") and due:
            self._bounces_at = now
            poll()
        return count

    def _workflows(self, now: dt.datetime) -> int:
        """Workflow steps: dead claims let go, a run task for each workspace with due steps
        (waits that ran out, enrolments whose task was lost)."""
        sweep = _task("volano.workflows.services", "workflows_due_sweep")
        return sweep(now=now) if sweep else 0

    def _reports(self, now: dt.datetime) -> int:
        """Stakeholder reports whose schedule came are kept and emailed; one kept but not sent
        (mail server down, worker died) is sent again
        (`volano.reports.services.report_schedules_due_run`)."""
        run = _task("volano.reports.services", "report_schedules_due_run")
        return run(now=now) if run else 0

    def _deferred_tasks(self, now: dt.datetime) -> int:
        """With VOLANO_BROKER_URL: the task rows whose `run_after` came (or whose publish failed
        while the broker was away) are handed to the broker
        (`volano.jobs.celery_backend.deferred_publish`); the embedded worker reads due rows
        itself."""
        from django.conf import settings

        if not settings.VOLANO_BROKER_URL:
            return 0
        from volano.jobs.celery_backend import deferred_publish

        return deferred_publish(now=now)

    def _handoff(self, now: dt.datetime) -> int:
        """Leads not accepted within the SLA go to the next rep, or are escalated."""
        from volano.handoff.services import assignments_overdue_sweep

        expired = assignments_overdue_sweep(now=now)
        if expired:
            logger.info("sweeper: %s hand-off assignments past their SLA", expired)
        return expired

    def _unsent_emails(self, now: dt.datetime) -> int:
        """Notifications whose email never left (still pending, or claimed by a worker that
        died): their task is enqueued again on the transactional queue (it claims the row
        before sending, so an email is still sent once)."""
        from volano.notifications.models import EmailStatus, Notification
        from volano.notifications.services import STALE_CLAIM
        from volano.notifications.tasks import notification_email_task

        unsent = Notification.all_workspaces.filter(
            Q(email_status=EmailStatus.PENDING)
            | Q(email_status=EmailStatus.SENDING, email_claimed_at__lt=now - STALE_CLAIM),
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

        for job_id in retry:
            self._enqueued[job_id] = now
            transaction.on_commit(functools.partial(task.enqueue, job_id))
            logger.warning("sweeper: import job %s was stuck, enqueued again", job_id)

        from volano.imports.services import import_jobs_dead_sweep

        requeued = import_jobs_dead_sweep(now=now)  # enqueues them itself
        for job_id in requeued:
            self._enqueued[job_id] = now
        return len(retry) + len(requeued)

    def run_forever(self, *, interval: float, stop: threading.Event) -> None:
        """Sweep every `interval` seconds until `stop` is set; an error is logged, never fatal.
        Each pass holds `pass_lock`, so a pass that outlives the lease never overlaps the next
        sweeper's."""
        while not stop.is_set():
            try:
                with pass_lock() as held:
                    if held:
                        self.sweep()
            except Exception:
                logger.exception("sweeper: a sweep failed")
            finally:
                close_old_connections()
            stop.wait(interval)
        SweeperState.objects.filter(name=STATE, lease_owner=self.owner).update(lease_until=None)
