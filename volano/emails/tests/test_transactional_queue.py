"""Transactional mail is never held behind a bulk send: with the workers `volano serve` starts
(one process per queue), a hand-off alert sent while a 3,000-contact broadcast is being worked
by the `email` worker reaches the SMTP server before the broadcast has finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from volano.contacts.models import Consent, Contact
from volano.core.management.commands.serve import WORKER_QUEUES
from volano.emails.models import Delivery, Mailing
from volano.emails.sending.services import mailing_create, mailing_send
from volano.notifications.services import notify

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 3000
RATE = 100  # messages per second for the bulk worker: the broadcast lasts about 30 s


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_handoff_alert_goes_out_while_a_broadcast_is_still_sending(
    officina, giulia, smtp, tmp_path
):
    assert set(WORKER_QUEUES) == set(settings.TASKS["default"]["QUEUES"])  # a worker for each
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"c{i:05d}@example.it", first_name=f"N{i}")
        for i in range(CONTACTS)
    )
    Consent.objects.bulk_create(
        Consent(workspace=officina, contact=c, purpose="email_marketing", status="granted")
        for c in contacts
    )
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind="broadcast",
        renderer="plain",
        params={"subject": "Novità per {first_name}", "html": "<p>Ciao {first_name}</p>",
                "text": "Ciao {first_name}"},
        audience_queryset=Contact.objects.for_workspace(officina),
        campaign="bulk",
    )  # fmt: skip
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "VOLANO_SMTP_URL": f"{smtp.url}?rate={RATE}",
        "VOLANO_DATA_DIR": str(tmp_path / "worker"),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "volano", "worker", "--queue", queue, "--interval", "0.1"],
            env=env,
            cwd=Path(__file__).resolve().parents[3],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a process group each: the worker and its SMTP process
        )
        for queue in WORKER_QUEUES  # as `volano serve` starts them
    ]
    try:
        mailing_send(workspace=officina, actor=None, mailing=mailing)
        _wait(lambda: len(smtp.inbox.messages) >= 200, 120, "the broadcast to be under way")

        notify(
            workspace=officina,
            recipients=[giulia],
            kind="lead_assigned",
            title="Nuovo lead: Anna Bianchi",
            body="Officina Rossi ti ha assegnato Anna Bianchi.",
            link="/contacts/",
        )
        _wait(lambda: smtp.inbox.to(giulia.email), 60, "the hand-off alert")

        bulk_sent = len(smtp.inbox.messages) - 1
        assert bulk_sent < CONTACTS  # the broadcast had not finished
        assert Mailing.all_workspaces.get(pk=mailing.pk).status == "sending"
        assert Delivery.all_workspaces.filter(mailing=mailing, status="queued").exists()
        [alert] = smtp.inbox.to(giulia.email)
        assert str(alert["Subject"]) == "Nuovo lead: Anna Bianchi"
    finally:
        # killed, not stopped: a stopped worker finishes the broadcast first (about 30 s of
        # sending that this test does not look at)
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)
        for worker in workers:
            worker.wait()
