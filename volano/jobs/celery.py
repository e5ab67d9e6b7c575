"""The Celery app of `VOLANO_BROKER_URL` mode, configured from Django's settings.

One Celery task, `volano.jobs.run`, runs any `django.tasks` task: its message carries only the
id of the task's row (django-tasks-db's `DBTaskResult`, written by
`volano.jobs.celery_backend.CeleryBackend` when the task is enqueued); the row holds the task's
path, arguments, status and result, as with the embedded database worker. So every existing
`@task` runs on Celery unchanged, `get_result` reads the same rows, and a message delivered twice
(a worker killed after the task finished but before it acknowledged) finds its row finished and
does nothing.

Delivery: `acks_late` with a prefetch of one, so a message is acknowledged only after its task
ran, and a worker that dies (kill -9, a lost machine, a killed pool process) hands its unfinished
message back to the broker, which gives it to another worker. JSON only: no pickle.

The queues are settings.TASKS' (default, transactional, email, bulk); a message goes to the
queue named by its task (`@task(queue_name=…)`, `.using(queue_name=…)`), and `volano worker
--queues` picks which ones a worker consumes.
"""

from __future__ import annotations

import logging
import os
import socket
from inspect import iscoroutinefunction
from typing import Any

from celery import Celery
from django.conf import settings
from kombu import Queue
from kombu.utils.url import maybe_sanitize_url

logger = logging.getLogger(__name__)

RUN_TASK = "volano.jobs.run"  # pinned: messages already queued name it
MAX_PRIORITY = 9  # AMQP queues are declared with x-max-priority 9 (0…9; Redis has 0…9 too)
# Redis has no acknowledgements of its own: a message taken by a worker that died is given to
# another one after this long (kombu's visibility timeout); RabbitMQ hands it back at once.
REDIS_VISIBILITY_TIMEOUT = int(os.environ.get("VOLANO_BROKER_VISIBILITY_TIMEOUT", "3600"))


def queues() -> list[str]:
    """The queue names of settings.TASKS (default, transactional, email, bulk)."""
    return list(settings.TASKS["default"].get("QUEUES", ["default"]))


def broker_queue(name: str) -> str:
    """A queue's name on the broker: VOLANO_BROKER_QUEUE_PREFIX + name, so installations (or
    test runs) that share a broker never take each other's messages."""
    return f"{settings.VOLANO_BROKER_QUEUE_PREFIX}{name}"


def is_redis(url: str) -> bool:
    return url.split(":", 1)[0] in {"redis", "rediss", "redis+socket"}


def broker_shown(url: str | None = None) -> str:
    """The broker's URL with its password hidden, for logs and the worker's first line."""
    return str(maybe_sanitize_url(url if url is not None else settings.VOLANO_BROKER_URL))


def celery_priority(priority: int, url: str | None = None) -> int:
    """Django's priority (-100…100, higher first) as the broker's 0…9: higher first on
    RabbitMQ, lower first on Redis (kombu's Redis transport sorts its priority lists that way)."""
    step = round((priority + 100) * MAX_PRIORITY / 200)
    return MAX_PRIORITY - step if is_redis(url or settings.VOLANO_BROKER_URL) else step


def config(url: str) -> dict[str, Any]:
    """Celery's settings for a broker URL."""
    conf: dict[str, Any] = {
        "broker_url": url,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": broker_queue("default"),
        "task_queues": [
            Queue(broker_queue(name), routing_key=broker_queue(name), max_priority=MAX_PRIORITY)
            for name in queues()
        ],
        "task_create_missing_queues": False,
        # acknowledged once the task ran: a killed worker's message is delivered again
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # results live in our table (DBTaskResult): no Celery result backend
        "task_ignore_result": True,
        "result_backend": None,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "timezone": settings.TIME_ZONE,
        "enable_utc": True,
    }
    if is_redis(url):
        conf["broker_transport_options"] = {
            "visibility_timeout": REDIS_VISIBILITY_TIMEOUT,
            "queue_order_strategy": "priority",
            "priority_steps": list(range(MAX_PRIORITY + 1)),
        }
    return conf


_apps: dict[tuple, Celery] = {}


def celery_app() -> Celery:
    """The Celery app of the current settings (the broker URL and queue prefix), made once."""
    key = (settings.VOLANO_BROKER_URL, settings.VOLANO_BROKER_QUEUE_PREFIX, tuple(queues()))
    app = _apps.get(key)
    if app is None:
        app = Celery("volano", set_as_current=True)
        app.conf.update(config(settings.VOLANO_BROKER_URL or "memory://"))
        app.task(name=RUN_TASK, ignore_result=True)(run)
        _apps[key] = app
    return app


def worker_id() -> str:
    """Who ran a task: the Celery node (`volano-<pid of volano worker>@host`) and the pool
    process."""
    from celery import current_task

    node = getattr(getattr(current_task, "request", None), "hostname", None)
    return f"{node or socket.gethostname()}:{os.getpid()}"


def run(result_id: str) -> None:
    """Run the django.tasks task of one row: claim it (unless it already finished: a message
    delivered again), call the function, record its return value or its error."""
    from django.db import transaction
    from django.tasks import TaskContext
    from django.tasks.signals import task_finished, task_started
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        row = DBTaskResult.objects.select_for_update().filter(id=result_id).first()
        if row is None:
            logger.warning("celery: task row %s is gone; message dropped", result_id)
            return
        if row.status in ("SUCCESSFUL", "FAILED"):
            logger.info("celery: task row %s already ran; message dropped", result_id)
            return
        row.claim(worker_id())
    try:
        task = row.task
        task_result = row.task_result
        sender = type(task.get_backend())
        task_started.send(sender=sender, task_result=task_result)
        args = list(task_result.args)
        if task.takes_context:
            args.insert(0, TaskContext(task_result=task_result))
        if iscoroutinefunction(task.func):
            from asgiref.sync import async_to_sync

            value = async_to_sync(task.func)(*args, **task_result.kwargs)
        else:
            value = task.func(*args, **task_result.kwargs)
        row.set_successful(value)
        task_finished.send(sender=sender, task_result=row.task_result)
    except Exception as error:
        logger.exception("celery: task %s (%s) failed", row.task_path, result_id)
        row.set_failed(error)
        try:
            task_finished.send(sender=type(row.task.get_backend()), task_result=row.task_result)
        except Exception:
            logger.exception("celery: task row %s failed unexpectedly", result_id)


def publish(result_id: str, *, queue: str, priority: int, task_path: str) -> None:
    """Hand one row's message to the broker (raises when the broker cannot be reached)."""
    celery_app().send_task(
        RUN_TASK,
        args=[str(result_id)],
        queue=broker_queue(queue),
        routing_key=broker_queue(queue),
        priority=celery_priority(priority),
        shadow=task_path,  # the worker's log names the real task
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )
