"""The SMTP process of a marketing send (smtp_child.py) over a real SMTP server (aiosmtpd):
two SMTP connections at once by default, each consented contact reached once, "sent" and one
email_sent event per message; one connection when the mailer says so; and what the messages
are made of (tokens, headers) reads back as it was written."""

from __future__ import annotations

import email
import email.policy
import re
import time

import pytest
from django.core import signing

from volano.conftest import worker_run_once
from volano.contacts.models import Consent, Contact
from volano.emails import tracking
from volano.emails.models import Delivery
from volano.emails.sending.services import mailing_create, mailing_send
from volano.emails.sending.transport import smtp_bytes
from volano.events.models import Event

CONTACTS = 60


def _broadcast(officina, capture):
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"c{i:03d}@example.it", first_name=f"N{i}")
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
        renderer="test-plain",
        params={},
        audience_queryset=Contact.objects.for_workspace(officina),
        name="Novità di marzo",
        campaign="novita-marzo",
    )
    with capture(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    return mailing, contacts


@pytest.mark.django_db(transaction=True)
def test_a_send_over_two_connections_reaches_each_contact_once(
    officina, smtp, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setenv("VOLANO_EMAIL_SMTP_PROCESS", "1")
    mailing, contacts = _broadcast(officina, django_capture_on_commit_callbacks)
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == sorted(c.email for c in contacts)
    assert len(set(smtp.inbox.peers)) == 2  # two connections, both used
    deliveries = Delivery.all_workspaces.filter(mailing=mailing)
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert sorted(str(m["Message-ID"]) for m in smtp.inbox.messages) == sorted(
        deliveries.values_list("message_id", flat=True)
    )
    events = Event.objects.for_workspace(officina).filter(type="email_sent")
    assert sorted(events.values_list("contact_id", flat=True)) == sorted(c.pk for c in contacts)
    assert {(e.channel, e.campaign, e.properties["mailing"]) for e in events} == {
        ("email", "novita-marzo", mailing.pk)
    }
    assert sorted(e.properties["delivery"] for e in events) == sorted(
        deliveries.values_list("id", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_one_connection_when_the_mailer_says_so(
    officina, smtp, settings, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setenv("VOLANO_EMAIL_SMTP_PROCESS", "1")
    settings.MAILERS = {"default": {**settings.MAILERS["default"], "CONNECTIONS": 1}}
    _mailing, contacts = _broadcast(officina, django_capture_on_commit_callbacks)
    assert len(smtp.inbox.messages) == len(contacts)
    assert len(set(smtp.inbox.peers)) == 1


def test_the_smtp_url_says_how_many_connections(monkeypatch):
    from volano.settings import mailers_from_env

    monkeypatch.setenv("VOLANO_SMTP_URL", "smtp://mail.example.it:25?rate=20&connections=3")
    assert mailers_from_env()["default"]["CONNECTIONS"] == 3


def test_tracking_tokens_are_djangos_own_signatures(settings):
    url = "https://www.officinarossi.it/ricambi?x=1&utm_source=volano&utm_campaign=marzo"
    for salt, values in [
        (tracking.OPEN_SALT, [12345]),
        (tracking.CLICK_SALT, [12345, url]),
        (tracking.CLICK_SALT, [7, url * 20]),  # long enough to be compressed
    ]:
        for _ in range(3):  # the same second on both sides (the timestamp is signed too)
            began = int(time.time())
            token = tracking.token_for(salt, *values)
            django = signing.TimestampSigner(key=settings.SECRET_KEY, salt=salt).sign_object(
                values, compress=True
            )
            if int(time.time()) == began:
                break
        assert token == django
        assert tracking.token_read(salt, token) == values
        assert tracking.token_read(tracking.UNSUBSCRIBE_SALT, token) is None  # another salt
        assert tracking.token_read(salt, token[:-2] + ("A" if token[-2] != "A" else "B")) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Novità per Anna",
        "Novità di marzo per Anna: " + "le macchine, i ricambi e l'assistenza " * 6,
        "€" * 40 + "😀" * 30 + "日本語" * 20,
        "a" * 44 + "é" + "b" * 44 + "€",  # a character across a 45-byte cut
    ],
)
def test_a_subject_in_any_script_reads_back_whole(subject):
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        subject=subject, body="Ciao", from_email="Officina <news@officinarossi.it>",
        to=["anna@example.it"],
    )  # fmt: skip
    message.attach_alternative("<p>Ciao</p>", "text/html")
    raw = smtp_bytes(message)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(line) <= 998 for line in head.split("\r\n"))
    words = re.findall(r"=\?utf-8\?b\?[^?]*\?=", head)
    assert all(len(word) <= 75 for word in words)  # RFC 2047's limit
    assert subject.isascii() or words
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject
