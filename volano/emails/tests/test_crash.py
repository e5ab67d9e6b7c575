"""kill -9 of a real worker in the middle of a 5,000-message broadcast on PostgreSQL, then a
restart: every consented contact gets exactly one message (one Message-ID), everyone else none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connection

from volano.contacts.models import Consent, Contact
from volano.emails.models import Mailing
from volano.emails.sending.services import mailing_create, mailing_send

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 5000


def _worker(env: dict, queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "volano", "worker", "--queue", queue, "--sweep-interval", "1"],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_worker_killed_mid_send_and_restarted_sends_each_message_once(officina, smtp, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the crash test runs on PostgreSQL (DATABASE_URL=postgres://…)")
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"c{i:05d}@example.it", first_name=f"N{i}")
        for i in range(CONTACTS)
    )
    consented = {c.email for i, c in enumerate(contacts) if i % 10 != 0}  # 90%
    Consent.objects.bulk_create(
        Consent(workspace=officina, contact=c, purpose="email_marketing", status="granted")
        for c in contacts
        if c.email in consented
    )
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind="broadcast",
        renderer="plain",
        params={
            "subject": "Novità per {first_name}",
            "html": '<p>Ciao {first_name}, <a href="https://www.officinarossi.it/">ricambi</a></p>',
            "text": "Ciao {first_name}",
        },
        audience_queryset=Contact.objects.for_workspace(officina),
        campaign="crash",
    )
    mailing_send(workspace=officina, actor=None, mailing=mailing)

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VOLANO_SMTP_URL": smtp.url,
        "VOLANO_DATA_DIR": str(tmp_path / "worker"),
        "VOLANO_EMAIL_CLAIM_LEASE": "3",
    }
    first = _worker(env, "email")
    try:
        _wait(lambda: len(smtp.inbox.messages) >= len(consented) // 3, 180, "a third sent")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = len(smtp.inbox.messages)
    assert at_kill < len(consented)  # killed in the middle

    second = _worker(env, "*")  # with the sweeper, which finds the send gone quiet
    try:
        _wait(
            lambda: Mailing.all_workspaces.get(pk=mailing.pk).status == "sent",
            300,
            "the send to finish after the restart",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()

    received: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, int] = defaultdict(int)
    for message in smtp.inbox.messages:
        received[str(message["To"])].add(str(message["Message-ID"]))
        raw[str(message["To"])] += 1
    assert set(received) == consented
    assert all(len(ids) == 1 for ids in received.values())
    # the guarantee (docs/emails.md): at most the one message in flight at the kill is sent
    # twice, with the same Message-ID
    assert sum(raw.values()) - len(consented) <= 1
