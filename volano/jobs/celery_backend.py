"""A django.tasks backend that runs tasks on Celery workers (`VOLANO_BROKER_URL` mode).

Why not django-tasks-celery (0.1.1, read against Django 6.1): it registers every task through
Celery's private API (`_task_from_fun`, `_finalize_mutex`); its results need a Celery result
backend with extended results (none fits RabbitMQ plus PostgreSQL without a new dependency),
and even then a lookup never raises `TaskResultDoesNotExist` (an unknown id reads as "queued")
and carries no enqueue or start time, which the training status page shows; it maps priorities
the AMQP way on Redis too, where the order is the reverse; `run_after` becomes an ETA that the
worker holds in memory (RabbitMQ closes a channel that keeps a message unacknowledged for 30
minutes); and it publishes at once, inside the transaction, so a worker can receive a task for
rows that are not committed yet (or never will be).

This backend, over Celery's public API (`volano.jobs.celery`):

- `enqueue` writes the task's row in our database (django-tasks-db's `DBTaskResult`: path,
  arguments, queue, priority, status), in the caller's transaction, exactly as the embedded
  worker's backend does, and publishes a message carrying the row's id once that transaction
  commits (at once outside one). A rolled-back transaction leaves neither row nor message.
- `run_after`: the row waits in the database with its due time; the sweeper (once per cluster)
  publishes the rows that came due (`deferred_publish`), so a wait of a day holds no message.
- a broker that cannot be reached at publish time leaves the row waiting, due now: the sweeper
  publishes it once the broker is back. The enqueue itself does not fail.
- `get_result` reads the row: the same statuses, times, arguments, return value and errors as
  with the embedded worker, and `TaskResultDoesNotExist` for an unknown id.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

from django.db import transaction
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskResult
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.json import normalize_json

logger = logging.getLogger(__name__)

DEFERRED_BATCH = 1_000  # rows published by one pass of the sweeper


class CeleryBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        from django_tasks_db.models import DBTaskResult, get_date_max

        self.validate_task(task)
        deferred = task.run_after is not None and task.run_after > timezone.now()
        row = DBTaskResult.objects.create(
            id=uuid.uuid4(),
            args_kwargs=normalize_json({"args": list(args), "kwargs": dict(kwargs)}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            # published rows carry "no due time"; a due time marks a row still to publish
            run_after=task.run_after if deferred and task.run_after else get_date_max(),
            backend_name=self.alias,
        )
        if not deferred:
            transaction.on_commit(
                functools.partial(
                    _publish_or_defer,
                    str(row.id),
                    queue=task.queue_name,
                    priority=task.priority,
                    task_path=task.module_path,
                )
            )
        result = row.task_result
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        from django.core.exceptions import ValidationError
        from django_tasks_db.models import DBTaskResult

        try:
            return DBTaskResult.objects.get(id=result_id, backend_name=self.alias).task_result
        except (DBTaskResult.DoesNotExist, ValidationError) as error:
            raise TaskResultDoesNotExist(result_id) from error


def _publish_or_defer(result_id: str, *, queue: str, priority: int, task_path: str) -> None:
    """Publish one row's message; if the broker is away, leave the row due now for the sweeper."""
    from django_tasks_db.models import DBTaskResult

    from volano.jobs.celery import broker_shown, publish

    try:
        publish(result_id, queue=queue, priority=priority, task_path=task_path)
    except Exception:
        logger.exception(
            "celery: could not publish task %s to %s; the sweeper publishes it again",
            task_path,
            broker_shown(),
        )
        DBTaskResult.objects.filter(id=result_id, status="READY").update(run_after=timezone.now())


def deferred_publish(*, now=None, limit: int = DEFERRED_BATCH) -> int:
    """The sweeper's pass in Celery mode: publish the task rows whose due time came (a
    `run_after`, or a publish that failed). Each row is taken by one UPDATE that clears its due
    time, so two passes never publish it twice. Returns how many were published."""
    from django.tasks import task_backends
    from django_tasks_db.models import DBTaskResult, get_date_max

    from volano.jobs.celery import publish

    now = now or timezone.now()
    aliases = [
        alias for alias in task_backends.settings if isinstance(task_backends[alias], CeleryBackend)
    ]
    if not aliases:
        return 0
    published = 0
    with transaction.atomic():
        due = list(
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(backend_name__in=aliases, status="READY", run_after__lte=now)
            .exclude(run_after=get_date_max())
            .order_by("run_after")
            .values("id", "queue_name", "priority", "task_path")[:limit]
        )
        DBTaskResult.objects.filter(id__in=[row["id"] for row in due]).update(
            run_after=get_date_max()
        )
    for row in due:
        try:
            publish(
                str(row["id"]),
                queue=row["queue_name"],
                priority=row["priority"],
                task_path=row["task_path"],
            )
            published += 1
        except Exception:
            logger.exception("celery: the broker is away; %s task rows wait", len(due) - published)
            left = [r["id"] for r in due[published:]]
            DBTaskResult.objects.filter(id__in=left, status="READY").update(run_after=now)
            break
    return published
