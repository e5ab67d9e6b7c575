"""kill -9 of a real worker in the middle of a 2,000-message broadcast on PostgreSQL, then a
restart: every consented contact gets exactly one message (one Message-ID), everyone else none.

After the restart the server hangs once for longer than the claim lease (a slow server): the
worker is alive and waiting, so its claims must stay its own (kept alive while it holds them),
never go back to the queue to be claimed and sent a second time. Run with the SMTP process
(smtp_child.py: two SMTP connections, up to 200 messages in flight across batches) and with the
worker's own loop."""

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

CONTACTS = 2000


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


LEASE = 3  # seconds: VOLANO_EMAIL_CLAIM_LEASE of the test's workers
STALL = 8  # seconds the server hangs after the restart: longer than the lease and a sweep


@pytest.mark.parametrize("smtp_process", ["1", "0"], ids=["smtp-process", "in-process"])
def test_a_worker_killed_mid_send_and_restarted_sends_each_message_once(
    officina, smtp, tmp_path, smtp_process
):
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
        "VOLANO_EMAIL_CLAIM_LEASE": str(LEASE),
        "VOLANO_EMAIL_SMTP_PROCESS": smtp_process,
    }
    first = _worker(env, "email")
    try:
        _wait(lambda: len(smtp.inbox.messages) >= len(consented) // 3, 180, "a third sent")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = len(smtp.inbox.messages)
    assert at_kill < len(consented)  # killed in the middle

    # the server hangs once, a few hundred messages after the restart
    smtp.inbox.stall_seconds = STALL
    smtp.inbox.stall_at = at_kill + 300
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

    assert smtp.inbox.stall_at is None  # the server did hang
    received: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, int] = defaultdict(int)
    for message in smtp.inbox.messages:
        received[str(message["To"])].add(str(message["Message-ID"]))
        raw[str(message["To"])] += 1
    assert set(received) == consented
    assert all(len(ids) == 1 for ids in received.values())
    # the guarantee (docs/emails.md): at most the one message in flight at the kill is sent
    # twice, with the same Message-ID
    twice = sorted(address for address, count in raw.items() if count > 1)
    assert sum(raw.values()) - len(consented) <= 1, f"sent twice: {twice}"
