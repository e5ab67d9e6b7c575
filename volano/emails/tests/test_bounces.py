"""Bounces and complaints read from a real IMAP mailbox (dovecot): a DSN (RFC 3464) suppresses
a hard-bounced address, soft bounces suppress after three in a row, an ARF report is a complaint."""

from __future__ import annotations

import imaplib
from urllib.parse import urlsplit

import pytest

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.emails.bounces import bounces_poll
from volano.emails.models import Delivery, SoftBounce, Suppression
from volano.emails.sending.services import mailing_create, mailing_send
from volano.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

DSN = """\
From: MAILER-DAEMON@mx.example.it
To: bounces@officinarossi.it
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.it

Final-Recipient: rfc822; {address}
Original-Recipient: rfc822; {address}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {code} {text}

--B
Content-Type: text/rfc822-headers

Message-ID: {message_id}
To: {address}
Subject: Novita

--B--
"""

ARF = """\
From: feedback@isp.example
To: bounces@officinarossi.it
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeISP/1.0
Version: 1
Original-Rcpt-To: {address}

--F
Content-Type: message/rfc822

Message-ID: {message_id}
To: {address}
Subject: Novita

hello
--F--
"""


def _put(url: str, text: str) -> None:
    parts = urlsplit(url)
    client = imaplib.IMAP4(parts.hostname, parts.port)
    client.login(parts.username, parts.password)
    client.append("INBOX", None, None, text.replace("\n", "\r\n").encode())
    client.logout()


def _sent(officina, audience, smtp):
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="test-plain",
        audience_queryset=Contact.objects.for_workspace(officina),
    )  # fmt: skip
    mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    return {d.contact_id: d for d in Delivery.all_workspaces.filter(mailing=mailing)}


def test_a_dsn_and_an_arf_report_from_the_mailbox(officina, audience, smtp, imap_mailbox):
    deliveries = _sent(officina, audience, smtp)
    anna = deliveries[audience["anna"].pk]
    bruno = deliveries[audience["bruno"].pk]
    _put(imap_mailbox, DSN.format(
        address="anna@example.it", action="failed", status="5.1.1", code=550,
        text="5.1.1 user unknown", message_id=anna.message_id,
    ))  # fmt: skip
    _put(imap_mailbox, ARF.format(address="bruno@example.it", message_id=bruno.message_id))

    result = bounces_poll(imap_mailbox)
    assert (result.hard, result.complaints) == (1, 1)
    suppressed = dict(Suppression.objects.for_workspace(officina).values_list("address", "reason"))
    assert suppressed == {"anna@example.it": "hard_bounce", "bruno@example.it": "complaint"}
    anna.refresh_from_db()
    assert (anna.status, anna.bounce_kind) == ("bounced", "hard")
    assert Event.all_workspaces.filter(type="email_bounced", contact=audience["anna"]).exists()
    assert Event.all_workspaces.filter(type="email_complained", contact=audience["bruno"]).exists()
    # read once: a second poll finds nothing new
    assert bounces_poll(imap_mailbox).hard == 0


def test_soft_bounces_suppress_after_three_in_a_row(officina, audience, smtp, imap_mailbox):
    for round_ in range(3):
        deliveries = _sent(officina, audience, smtp)
        anna = deliveries[audience["anna"].pk]
        assert anna.status == "sent", round_
        _put(imap_mailbox, DSN.format(
            address="anna@example.it", action="delayed", status="4.2.2", code=452,
            text="4.2.2 mailbox full", message_id=anna.message_id,
        ))  # fmt: skip
        result = bounces_poll(imap_mailbox)
        assert result.soft == 1, round_
    assert SoftBounce.objects.for_workspace(officina).get(address="anna@example.it").count == 3
    assert Suppression.objects.for_workspace(officina).filter(address="anna@example.it").exists()
