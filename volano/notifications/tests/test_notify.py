"""notify(): in-app rows, the email on the transactional queue through the real worker and a
real SMTP server (aiosmtpd), sent once however often its task runs."""

from __future__ import annotations

import time

import pytest
from django_tasks_db.models import DBTaskResult

from volano.conftest import worker_run_once
from volano.handoff.tests.conftest import smtp  # noqa: F401  (the real SMTP server fixture)
from volano.notifications.models import EmailStatus, Notification
from volano.notifications.services import notification_email_send, notify
from volano.notifications.tasks import notification_email_task


def wait_for(handler, n=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(handler.messages) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return handler.messages


@pytest.mark.django_db(transaction=True)
def test_notify_sends_one_email_on_the_transactional_queue(officina, giulia, marco, bruno, smtp):  # noqa: F811
    notes = notify(
        workspace=officina,
        recipients=[marco, bruno],  # Bruno is not a member of Officina: skipped
        kind="test",
        title="Nuovo compito",
        body="Chiama il cliente",
        link="/contacts/",
        actor=giulia,
    )
    assert [n.recipient for n in notes] == [marco]
    row = DBTaskResult.objects.get(task_path="volano.notifications.tasks.notification_email_task")
    assert row.queue_name == "transactional"
    worker_run_once()
    messages = wait_for(smtp)
    assert len(messages) == 1 and messages[0]["To"] == marco.email
    assert messages[0]["Subject"] == "Nuovo compito"
    body = messages[0].get_payload(decode=True).decode()
    assert "Chiama il cliente" in body and "http://127.0.0.1:8000/contacts/" in body
    note = Notification.objects.for_workspace(officina).get()
    assert note.email_status == EmailStatus.SENT and note.emailed_at is not None
    # run again (a retried task, the sweeper): nothing more leaves
    assert notification_email_send(notification_id=note.pk) is False
    notification_email_task.enqueue(note.pk)
    worker_run_once()
    time.sleep(0.2)
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_a_dedup_key_notifies_once(officina, marco):
    for _ in range(2):
        notify(
            workspace=officina,
            recipients=[marco],
            kind="test",
            title="Una volta",
            email=False,
            dedup_key="k1",
        )
    note = Notification.objects.for_workspace(officina).get()
    assert note.email_status == EmailStatus.NONE
    assert notification_email_send(notification_id=note.pk) is False


@pytest.mark.django_db
def test_an_in_app_only_notification_is_not_emailed(officina, marco):
    notify(workspace=officina, recipients=[marco], kind="test", title="Solo app", email=False)
    assert not DBTaskResult.objects.exists()
