"""A claim is its holder's only while it holds it: a live worker keeps its claims past the lease,
and a row that went back to the queue (and maybe to another claim) is never sent by the run that
claimed it first — by the SMTP process or by the worker's own loop. Real SMTP server (aiosmtpd),
real SMTP process (smtp_child.py), a database file the process opens."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from volano.contacts.models import Contact
from volano.emails.models import Delivery
from volano.emails.sending.services import (
    ChildSend,
    Claims,
    claim_batch,
    claim_lease,
    deliveries_reclaim,
    mailing_create,
    mailing_send,
    send_claimed,
)
from volano.emails.sending.transport import Transport

pytestmark = pytest.mark.django_db(transaction=True)


def _claimed(officina, worker="w1"):
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind="broadcast",
        renderer="test-plain",
        params={},
        audience_queryset=Contact.objects.for_workspace(officina),
        name="Novità di marzo",
    )
    mailing_send(workspace=officina, actor=None, mailing=mailing)  # its task is not run
    claimed = claim_batch(mailing=mailing, worker=worker)
    return mailing, {row["address"]: row for row in claimed}


def _sent_to(smtp) -> list[str]:
    return sorted(str(m["To"]) for m in smtp.inbox.messages)


def test_each_claim_has_its_own_token(officina, audience):
    _mailing, rows = _claimed(officina, worker="w1")
    claims = {row["claim"] for row in rows.values()}
    assert len(claims) == 1 and next(iter(claims)).startswith("w1#")
    stored = set(Delivery.all_workspaces.filter(status="claimed").values_list("claimed_by"))
    assert stored == {(next(iter(claims)),)}


def test_a_live_workers_claims_are_kept_past_the_lease(officina, audience):
    mailing, rows = _claimed(officina)
    claims = Claims(mailing)
    claims.hold(list(rows.values()))
    old = timezone.now() - claim_lease() - dt.timedelta(seconds=1)
    Delivery.all_workspaces.filter(status="claimed").update(claimed_at=old)
    claims.keep(force=True)  # what the worker does every quarter of the lease
    assert deliveries_reclaim(mailing_id=mailing.pk) == 0
    assert all(claims.holds(row) for row in rows.values())


def test_a_row_queued_again_and_claimed_again_is_not_sent_by_the_smtp_process(
    officina, audience, smtp, monkeypatch
):
    monkeypatch.setenv("VOLANO_EMAIL_SMTP_PROCESS", "1")
    mailing, rows = _claimed(officina)
    anna = rows["anna@example.it"]
    # the lease ran out, the sweeper queued the row and another worker claimed it
    Delivery.all_workspaces.filter(id=anna["id"]).update(claimed_by="w2#000000000000")
    transport = Transport(mailing.mailer, sent_last_hour=lambda mailer: 0)
    claims = Claims(mailing)
    claims.hold(list(rows.values()))
    session = ChildSend(mailing, transport, claims)
    try:
        result = send_claimed(
            mailing=mailing,
            claimed=list(rows.values()),
            transport=transport,
            session=session,
            claims=claims,
        )
        session.finish()
        assert session.ready() and session.child.process.poll() is None  # through the process
    finally:
        transport.close()
    assert result == "ok"
    assert _sent_to(smtp) == ["bruno@example.it"]
    row = Delivery.all_workspaces.get(id=anna["id"])
    assert (row.status, row.claimed_by) == ("claimed", "w2#000000000000")  # the other's still
    assert Delivery.all_workspaces.get(id=rows["bruno@example.it"]["id"]).status == "sent"


def test_a_row_whose_lease_ran_out_is_let_go_by_the_workers_own_loop(
    officina, audience, smtp, monkeypatch
):
    monkeypatch.setenv("VOLANO_EMAIL_SMTP_PROCESS", "0")
    mailing, rows = _claimed(officina)
    anna = rows["anna@example.it"]
    old = timezone.now() - claim_lease() - dt.timedelta(seconds=1)
    Delivery.all_workspaces.filter(id=anna["id"]).update(claimed_at=old)
    assert deliveries_reclaim(mailing_id=mailing.pk) == 1  # the sweeper: back in the queue
    transport = Transport(mailing.mailer, sent_last_hour=lambda mailer: 0)
    claims = Claims(mailing)
    claims.hold(list(rows.values()))
    claims.kept = time.monotonic() - claims.every  # a renewal is due before the next send
    try:
        send_claimed(
            mailing=mailing,
            claimed=sorted(rows.values(), key=lambda r: r["address"]),
            transport=transport,
            claims=claims,
        )
    finally:
        transport.close()
    assert _sent_to(smtp) == ["bruno@example.it"]
    assert Delivery.all_workspaces.get(id=anna["id"]).status == "queued"  # sent by a next claim
