"""Background work on Celery (VOLANO_BROKER_URL): real `volano worker` processes against the real
RabbitMQ (and Redis) of the machine and a PostgreSQL test database.

- a 1,000-message broadcast sent by two workers, each with an SMTP server of its own (so each
  message says which worker sent it): both take part; the worker holding the sweeper lease is
  killed with kill -9 in the middle; the other finishes the send, takes the sweeper over, and
  every consented contact gets exactly one message;
- event reactions (one task per recorded event) on two workers: every outbox row runs once, both
  workers ran some, and the scores a user sees are right;
- the backend itself: a rolled-back transaction publishes nothing, an unknown result id is
  refused, a publish while the broker is away waits in the table until the broker is back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.tasks.exceptions import TaskResultDoesNotExist

from volano.conftest import port_open, require_service
from volano.contacts.models import Consent, Contact
from volano.emails.models import Delivery, Mailing
from volano.emails.sending import transport
from volano.emails.sending.services import mailing_create, mailing_enqueue, mailing_send
from volano.emails.tests.conftest import SmtpServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379/14"
ROOT = Path(__file__).resolve().parents[3]
# 1,000 (950 consented): on the 2-core CI machine two workers send ~45 messages/s each
CONTACTS = 1000
WORKER = [sys.executable, "-m", "volano", "worker"]


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the Celery tests run on PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.fixture
def rabbitmq(settings):
    _postgres_only()
    require_service("RabbitMQ (127.0.0.1:5672)", port_open("127.0.0.1", 5672))
    yield from _celery_mode(settings, AMQP_URL)


@pytest.fixture
def redis_broker(settings):
    _postgres_only()
    require_service("Redis (127.0.0.1:6379)", port_open("127.0.0.1", 6379))
    yield from _celery_mode(settings, REDIS_URL)


def _celery_mode(settings, url: str):
    """This test process enqueues through the Celery backend, on queues of its own (a prefix no
    other run shares), and removes them afterwards."""
    from volano.jobs.celery import celery_app

    settings.VOLANO_BROKER_URL = url
    settings.VOLANO_BROKER_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:10]}-"
    settings.TASKS = {
        "default": {**settings.TASKS["default"], "BACKEND": settings.CELERY_BACKEND},
    }
    yield url
    app = celery_app()
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            with contextlib.suppress(Exception):  # (never declared: nothing to remove)
                queue.bind(conn.default_channel).delete()


class Workers:
    """`volano worker` processes (each in a process group of its own, so kill -9 takes its pool
    too), sharing the test database and the broker."""

    def __init__(self, tmp_path: Path, settings, extra: dict | None = None) -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "VOLANO_BROKER_URL": settings.VOLANO_BROKER_URL,
            "VOLANO_BROKER_QUEUE_PREFIX": settings.VOLANO_BROKER_QUEUE_PREFIX,
            "VOLANO_DATA_DIR": str(tmp_path / "worker"),
            "VOLANO_EMAIL_CLAIM_LEASE": "3",
            "VOLANO_SWEEPER_LEASE": "3",
            **(extra or {}),
        }
        self.procs: list[subprocess.Popen] = []
        self.logs: dict[int, Path] = {}
        self.tmp_path = tmp_path

    def start(self, **env: str) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*WORKER, "--concurrency", "1", "--sweep-interval", "0.5"],
                env={**self.env, **env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def output(self) -> str:
        return "\n".join(
            f"--- worker {pid}:\n{log.read_text(errors='replace')[-12000:]}"
            for pid, log in self.logs.items()
        )

    @staticmethod
    def node(proc: subprocess.Popen) -> str:
        return f"volano-{proc.pid}@{socket.gethostname()}"

    def wait_ready(self, *procs: subprocess.Popen) -> None:
        """Until each worker answers a ping through the broker (it consumes its queues)."""
        from volano.jobs.celery import celery_app

        wanted = {self.node(p) for p in procs}
        deadline = time.monotonic() + 30
        while True:
            for proc in procs:
                if proc.poll() is not None:
                    pytest.fail(f"worker {proc.pid} exited ({proc.returncode}): {self.output()}")
            replies = celery_app().control.ping(destination=sorted(wanted), timeout=0.5)
            if wanted <= {name for reply in replies for name in reply}:
                return
            if time.monotonic() > deadline:
                pytest.fail("the Celery workers did not come up in 30 s")

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait(predicate, seconds: float, what: str, workers: Workers | None = None) -> None:
    """Until `predicate()` holds; a wait ends as soon as it does. `seconds` is what a quiet
    machine needs; the limit is three times that, because `make test` runs this suite beside
    the SQLite one on two cores (at a load of 14 the survivor needed over 60 s to finish)."""
    deadline = time.monotonic() + 3 * seconds
    while not predicate():
        if time.monotonic() > deadline:
            extra = workers.output() if workers else ""
            pytest.fail(f"timed out waiting for {what}\n{_state()}\n{extra}")
        time.sleep(0.05)


def _state() -> str:
    """What the tables say, for a failure's message."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    deliveries = dict(Delivery.all_workspaces.values_list("status").annotate(n=Count("id")))
    counts = list(DBTaskResult.objects.values_list("task_path", "status").annotate(n=Count("id")))
    mailings = list(
        DBTaskResult.objects.filter(task_path__contains="mailing").values_list(
            "status", "worker_ids", "run_after", "enqueued_at", "started_at", "finished_at"
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 150) FROM"
            " pg_stat_activity WHERE datname = current_database()"
        )
        activity = "\n".join(str(r) for r in cursor.fetchall())
    return f"{activity}\ndeliveries: {deliveries}\nsweeper: {_sweeper_owner()}\ntasks: {counts}\n{mailings}"


def _sweeper_owner() -> str:
    from volano.jobs.models import SweeperState

    row = SweeperState.objects.filter(name="sweeper").values("lease_owner", "lease_until").first()
    return (row or {}).get("lease_owner") or ""


def _broadcast(workspace) -> tuple[Mailing, set[str]]:
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"c{i:05d}@example.it", first_name=f"N{i}")
        for i in range(CONTACTS)
    )
    consented = {c.email for i, c in enumerate(contacts) if i % 20 != 0}  # 95%
    Consent.objects.bulk_create(
        Consent(workspace=workspace, contact=c, purpose="email_marketing", status="granted")
        for c in contacts
        if c.email in consented
    )
    mailing = mailing_create(
        workspace=workspace,
        actor=None,
        kind="broadcast",
        renderer="plain",
        params={"subject": "Novità per {first_name}", "html": "<p>Ciao</p>", "text": "Ciao"},
        audience_queryset=Contact.objects.for_workspace(workspace),
        campaign="celery",
    )
    return mailing, consented


def test_two_celery_workers_send_a_broadcast_once_and_survive_kill_9(
    officina, rabbitmq, tmp_path, settings
):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    mailing, consented = _broadcast(officina)
    first_smtp, second_smtp = SmtpServer(), SmtpServer()
    first_smtp.start()
    second_smtp.start()
    workers = Workers(tmp_path, settings)
    try:
        first = workers.start(VOLANO_SMTP_URL=first_smtp.url)
        workers.wait_ready(first)
        # the first worker takes the installation's sweeper lease…
        _wait(lambda: f":{first.pid}:" in _sweeper_owner(), 20, "the first sweeper's lease")
        second = workers.start(VOLANO_SMTP_URL=second_smtp.url)
        workers.wait_ready(second)
        assert f":{first.pid}:" in _sweeper_owner()  # …and keeps it: one sweeper sweeps

        mailing_send(workspace=officina, actor=None, mailing=mailing)
        mailing_enqueue(mailing)  # a second task on the same mailing: the workers share it
        task_rows = DBTaskResult.objects.filter(
            task_path="volano.emails.tasks.mailing_deliver_task"
        )
        assert task_rows.count() == 2  # rows in our table, as with the embedded worker

        def both_sending() -> bool:
            a, b = len(first_smtp.inbox.messages), len(second_smtp.inbox.messages)
            return a > 0 and b > 0 and a + b >= len(consented) // 3

        _wait(both_sending, 40, "both workers sending")
        workers.kill(first)  # kill -9 of the sweeping worker, pool and all, mid-send
        at_kill = len(first_smtp.inbox.messages) + len(second_smtp.inbox.messages)
        assert at_kill < len(consented)

        _wait(
            lambda: Mailing.all_workspaces.get(pk=mailing.pk).status == "sent",
            60,
            "the second worker to finish the send",
            workers,
        )
        # the survivor took the sweeper over once the dead one's lease ran out
        _wait(lambda: f":{second.pid}:" in _sweeper_owner(), 10, "the sweeper to move")
    finally:
        workers.stop_all()
        first_smtp.stop()
        second_smtp.stop()

    received: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, int] = defaultdict(int)
    for message in first_smtp.inbox.messages + second_smtp.inbox.messages:
        received[str(message["To"])].add(str(message["Message-ID"]))
        raw[str(message["To"])] += 1
    assert set(received) == consented
    assert all(len(ids) == 1 for ids in received.values())
    # docs/emails.md: the kill takes the worker's SMTP process too, so at most the message in
    # flight on each of its SMTP connections (two by default) is sent twice, same Message-ID
    assert sum(raw.values()) - len(consented) <= transport.CONNECTIONS
    assert first_smtp.inbox.messages and second_smtp.inbox.messages  # both took part
    assert Delivery.all_workspaces.filter(mailing=mailing, status="sent").count() == len(consented)
    # the killed worker's task message came back to the survivor, which ran it to the end
    # (RabbitMQ gave it back when the dead worker's connection dropped: acks_late)
    nodes = [[i.split(":")[0] for i in row.worker_ids] for row in task_rows]
    assert [Workers.node(first), Workers.node(second)] in nodes
    assert not task_rows.filter(status=TaskResultStatus.FAILED).exists()


ENGAGEMENT = {
    "slug": "acquisti",
    "name": "Acquisti",
    "rules": [{"kind": "engagement", "when": {"event": "order"}, "points": 40}],
}


def _events_and_scores(workspace, count: int):
    from volano.events.services import event_append
    from volano.scoring.services import score_model_save

    model = score_model_save(workspace=workspace, actor=None, data=ENGAGEMENT)
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"e{i:04d}@example.it") for i in range(count)
    )
    for contact in contacts:  # one transaction, hence one reactions task, per event
        with transaction.atomic():
            event_append(workspace=workspace, type="order", contact_id=contact.pk)
    return model, contacts


def _points(model, contacts) -> dict[int, float]:
    from volano.scoring.models import Score

    return dict(
        Score.objects.for_workspace(model.workspace_id)
        .filter(model=model, contact__in=contacts)
        .values_list("contact_id", "points")
    )


def test_event_reactions_run_once_each_on_two_celery_workers(
    officina, rabbitmq, tmp_path, settings
):
    from django_tasks_db.models import DBTaskResult

    from volano.core.models import ReactionOutbox

    workers = Workers(tmp_path, settings)
    try:
        first, second = workers.start(), workers.start()
        workers.wait_ready(first, second)
        model, contacts = _events_and_scores(officina, 100)
        outbox = ReactionOutbox.objects.filter(fact_type="EventsAppended")
        _wait(
            lambda: not outbox.exclude(status="done").exists() and outbox.count() == 100,
            40,
            "every reaction to run",
        )
    finally:
        workers.stop_all()
    assert set(outbox.values_list("attempts", flat=True)) == {1}  # each row claimed once
    assert _points(model, contacts) == {c.pk: 40.0 for c in contacts}
    ran_on = set()
    for ids in DBTaskResult.objects.filter(
        task_path="volano.core.tasks.reactions_run_task"
    ).values_list("worker_ids", flat=True):
        ran_on.update(i.split(":")[0] for i in ids)
    assert ran_on == {Workers.node(first), Workers.node(second)}  # both workers took part


def test_reactions_and_a_deferred_task_on_redis(officina, redis_broker, tmp_path, settings):
    import datetime as dt

    from django.utils import timezone

    from volano.core.tasks import reactions_run_task

    workers = Workers(tmp_path, settings)
    try:
        workers.wait_ready(workers.start())
        model, contacts = _events_and_scores(officina, 20)
        later = reactions_run_task.using(run_after=timezone.now() + dt.timedelta(seconds=1))
        deferred = later.enqueue([])
        _wait(lambda: len(_points(model, contacts)) == 20, 30, "the scores")
        _wait(lambda: deferred.task.get_result(deferred.id).is_finished, 30, "the deferred task")
    finally:
        workers.stop_all()
    assert _points(model, contacts) == {c.pk: 40.0 for c in contacts}
    assert deferred.task.get_result(deferred.id).status == "SUCCESSFUL"


def test_the_backend_publishes_on_commit_and_keeps_work_while_the_broker_is_away(
    officina, rabbitmq, settings
):
    from django_tasks_db.models import DBTaskResult, get_date_max

    from volano.core.tasks import reactions_run_task
    from volano.jobs.celery_backend import deferred_publish

    # a rolled-back transaction leaves neither a row nor a message
    with pytest.raises(RuntimeError), transaction.atomic():
        gone = reactions_run_task.enqueue([1])
        raise RuntimeError
    with pytest.raises(TaskResultDoesNotExist):
        reactions_run_task.get_result(gone.id)
    with pytest.raises(TaskResultDoesNotExist):
        reactions_run_task.get_result(str(uuid.uuid4()))

    # the broker is away: the enqueue does not fail, the row waits, due now
    good = settings.VOLANO_BROKER_URL
    settings.VOLANO_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    waiting = reactions_run_task.enqueue([2])
    row = DBTaskResult.objects.get(id=waiting.id)
    assert row.status == "READY" and row.run_after != get_date_max()
    assert reactions_run_task.get_result(waiting.id).args == [[2]]

    # back: the sweeper's pass publishes it once (the row's due time is cleared)
    settings.VOLANO_BROKER_URL = good
    assert deferred_publish() == 1
    assert deferred_publish() == 0
    assert DBTaskResult.objects.get(id=waiting.id).run_after == get_date_max()
