"""Double opt-in through the real path: a public form post leaves the consent pending, the
worker sends the confirmation to a real SMTP server (aiosmtpd), the link in the message shows a
page with one button, and its POST grants the consent with proof."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from volano.conftest import worker_run_once
from volano.contacts.models import Consent, ConsentStatus, Contact, Purpose
from volano.contacts.services import consent_set
from volano.emails.models import Delivery, OptInConfirmation
from volano.emails.optin import CONFIRM_SALT
from volano.emails.sending.services import mailing_counts, mailing_create, mailing_send
from volano.events.models import Event
from volano.events.webforms import form_create

pytestmark = pytest.mark.django_db(transaction=True)

CONSENT_TEXT = "Acconsento a ricevere la newsletter di Officina Rossi."
ADDRESS = "lucia@cliente.it"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def newsletter(officina):
    return form_create(
        workspace=officina,
        actor=None,
        data={
            "slug": "newsletter",
            "name": "Newsletter",
            "fields": ["first_name"],
            "asks_email_consent": True,
            "consent_text": CONSENT_TEXT,
        },
    )


def sign_up(client, workspace, slug="newsletter", ip="203.0.113.7", **data):
    response = client.post(
        reverse("tracking_form", args=[workspace.tracking_key, slug]),
        {"email": ADDRESS, "first_name": "Lucia", "consent_email_marketing": "1", **data},
        REMOTE_ADDR=ip,
    )
    assert response.status_code == 200, response.content
    worker_run_once()  # the reaction sends the confirmation, the transactional worker sends it


def consent(workspace) -> Consent:
    contact = Contact.objects.for_workspace(workspace).get(email=ADDRESS)
    return Consent.objects.for_workspace(workspace).get(
        contact=contact, purpose=Purpose.EMAIL_MARKETING
    )


def confirm_link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"https://volano\.example\.it/e/confirm/[^\s]+/", text)
    return link.removeprefix("https://volano.example.it")


def test_a_sign_up_is_confirmed_by_email_and_only_then_emailable(
    client, officina, newsletter, smtp
):
    assert newsletter.double_opt_in  # the default for a new form
    sign_up(client, officina)

    assert consent(officina).status == ConsentStatus.PENDING
    assert not Contact.objects.for_workspace(officina).emailable().exists()
    [message] = smtp.inbox.messages
    assert str(message["To"]) == ADDRESS
    assert "Officina Rossi" in str(message["Subject"])
    assert message["List-Unsubscribe"] is None  # transactional: no list headers
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Lucia" in text
    link = confirm_link(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert link in html  # the button's link is not rewritten by click tracking

    page = client.get(link, HTTP_USER_AGENT="Mimecast link scanner")
    assert page.status_code == 200
    assert b"<button" in page.content and b'method="post"' in page.content
    assert consent(officina).status == ConsentStatus.PENDING  # a GET never confirms

    done = client.post(link, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Mozilla/5.0 (Phone)")
    assert done.status_code == 200
    assert "Subscription confirmed" in done.content.decode() or "confermata" in (
        done.content.decode()
    )
    granted = consent(officina)
    assert granted.status == ConsentStatus.GRANTED
    assert granted.confirmed_at is not None
    assert granted.ip == "198.51.100.4"
    assert granted.form == "newsletter"
    assert granted.source == "email:double_opt_in"
    assert CONSENT_TEXT in granted.proof  # what the visitor read on the form
    assert "Mozilla/5.0 (Phone)" in granted.proof
    assert str(message["Message-ID"]) in granted.proof
    contact = Contact.objects.for_workspace(officina).get(email=ADDRESS)
    assert list(Contact.objects.for_workspace(officina).emailable()) == [contact]
    changes = Event.objects.for_workspace(officina).filter(contact=contact, type="consent_changed")
    assert [(e.properties["from"], e.properties["to"]) for e in changes.order_by("id")] == [
        (None, "pending"),
        ("pending", "granted"),
    ]
    row = OptInConfirmation.objects.for_workspace(officina).get()
    assert row.confirmed_ip == "198.51.100.4" and row.confirmed_at is not None

    again = client.post(link, REMOTE_ADDR="198.51.100.4")  # a second click is harmless
    assert again.status_code == 200
    assert changes.count() == 2
    assert consent(officina).status == ConsentStatus.GRANTED


def test_a_marketing_mailing_skips_the_pending_contact(client, officina, newsletter, smtp):
    sign_up(client, officina)
    smtp.inbox.messages.clear()
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind="broadcast",
        renderer="test-plain",
        audience_queryset=Contact.objects.for_workspace(officina),
        name="Novità",
    )
    mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    assert smtp.inbox.messages == []
    assert mailing_counts(mailing=mailing)["skipped_by"]["no_consent"] == 1


def test_signing_up_again_while_pending_resends_at_most_once_per_window(
    client, officina, newsletter, smtp, settings
):
    sign_up(client, officina)
    sign_up(client, officina)
    sign_up(client, officina, ip="203.0.113.8")
    assert len(smtp.inbox.messages) == 1
    settings.VOLANO_OPTIN_RESEND_MINUTES = 0  # the window has passed
    sign_up(client, officina)
    assert len(smtp.inbox.messages) == 2
    assert OptInConfirmation.objects.for_workspace(officina).count() == 2
    # either link confirms
    client.post(confirm_link(smtp.inbox.messages[0]))
    assert consent(officina).status == ConsentStatus.GRANTED


def test_a_granted_or_revoked_consent_gets_no_confirmation_email(
    client, officina, newsletter, smtp
):
    contact = Contact.objects.create(workspace=officina, email=ADDRESS)
    consent_set(
        workspace=officina, actor=None, contact=contact, purpose="email_marketing",
        status="revoked", source="test",
    )  # fmt: skip
    sign_up(client, officina)
    assert smtp.inbox.messages == []
    assert consent(officina).status == ConsentStatus.REVOKED


def test_an_old_link_never_regrants_a_consent_revoked_since(client, officina, newsletter, smtp):
    sign_up(client, officina)
    link = confirm_link(smtp.inbox.messages[0])
    contact = Contact.objects.for_workspace(officina).get(email=ADDRESS)
    consent_set(
        workspace=officina, actor=None, contact=contact, purpose="email_marketing",
        status="revoked", source="test",
    )  # fmt: skip
    response = client.post(link)
    assert response.status_code == 200
    assert consent(officina).status == ConsentStatus.REVOKED


def test_a_tampered_or_expired_link_is_a_clear_page(client, officina, newsletter, smtp, settings):
    sign_up(client, officina)
    link = confirm_link(smtp.inbox.messages[0])
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    for method in (client.get, client.post):
        response = method(tampered)
        assert response.status_code == 404
        assert "not valid" in response.content.decode() or "non è valido" in (
            response.content.decode()
        )
    made_up = reverse("emails:optin_confirm", args=[signing.dumps([999999], salt=CONFIRM_SALT)])
    assert client.get(made_up).status_code == 404
    settings.VOLANO_OPTIN_LINK_DAYS = -1  # the link's week is over
    for method in (client.get, client.post):
        response = method(link)
        assert response.status_code == 410
    assert consent(officina).status == ConsentStatus.PENDING


def test_a_form_with_single_opt_in_grants_at_once_and_sends_nothing(client, officina, smtp):
    form_create(
        workspace=officina,
        actor=None,
        data={
            "slug": "fiera",
            "name": "Fiera",
            "fields": [],
            "asks_email_consent": True,
            "consent_text": CONSENT_TEXT,
            "double_opt_in": False,
        },
    )
    sign_up(client, officina, slug="fiera")
    assert consent(officina).status == ConsentStatus.GRANTED
    assert smtp.inbox.messages == []
    assert not Delivery.objects.for_workspace(officina).exists()
