"""An anymail provider: every message carries its delivery id as metadata, and the provider's
tracking webhooks (here Postmark's real payloads, POSTed with the basic-auth secret to
/anymail/postmark/tracking/) feed deliveries, bounces, complaints and opens."""

from __future__ import annotations

import base64
import json

import pytest
from django.core import mail
from django.urls import reverse

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.emails.models import Delivery, SoftBounce, Suppression
from volano.emails.sending.services import mailing_create, mailing_send
from volano.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "volano:s3cret-webhook"
URL = "/anymail/postmark/tracking/"


@pytest.fixture
def provider(settings):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.test.EmailBackend"}}
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.VOLANO_BASE_URL = "https://volano.example.it"
    mail.outbox = []
    yield
    mail.outbox = []


@pytest.fixture
def sent(officina, audience, provider):
    """A broadcast handed to the provider: anna and bruno (the consented ones)."""
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
    return {
        d.contact.email: d
        for d in Delivery.objects.for_workspace(officina)
        .filter(status="sent")
        .select_related("contact")
    }


def auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(client, payload: dict, secret: str = SECRET):
    return client.post(URL, json.dumps(payload), content_type="application/json", **auth(secret))


def metadata_of(address: str) -> dict:
    [message] = [m for m in mail.outbox if m.to == [address]]
    return message.anymail_test_params["metadata"]


def delivery_payload(delivery: Delivery, metadata: dict) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": delivery.address,
        "Tag": "broadcast",
        "DeliveredAt": "2026-12-02T16:33:54.9070259Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": metadata,
    }


def bounce_payload(delivery: Delivery, metadata: dict, kind: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "broadcast",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": metadata,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": delivery.address,
        "From": "newsletter@officinarossi.it",
        "BouncedAt": "2026-12-02T16:34:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "Novità",
    }


def events(officina, type: str, delivery: Delivery):
    return Event.objects.for_workspace(officina).filter(
        type=type, contact_id=delivery.contact_id, properties__delivery=delivery.pk
    )


def test_every_message_tells_the_provider_its_delivery(sent):
    anna = sent["anna@example.it"]
    assert metadata_of("anna@example.it") == {"volano_delivery": str(anna.pk)}
    [message] = [m for m in mail.outbox if m.to == ["anna@example.it"]]
    assert message.anymail_test_params["tags"] == ["broadcast"]
    assert anna.provider_message_id != ""  # the provider's id, kept for its webhooks


def test_delivered_then_a_hard_bounce_and_a_complaint(client, officina, sent):
    anna, bruno = sent["anna@example.it"], sent["bruno@example.it"]
    SoftBounce.objects.create(workspace=officina, address=anna.address, count=2)

    response = post(client, delivery_payload(anna, metadata_of(anna.address)))
    assert response.status_code == 200
    anna.refresh_from_db()
    assert anna.delivered_at is not None
    assert events(officina, "email_delivered", anna).count() == 1
    assert SoftBounce.objects.for_workspace(officina).get(address=anna.address).count == 0
    post(client, delivery_payload(anna, metadata_of(anna.address)))  # the provider retries
    assert events(officina, "email_delivered", anna).count() == 1

    assert post(client, bounce_payload(bruno, metadata_of(bruno.address))).status_code == 200
    bruno.refresh_from_db()
    assert (bruno.status, bruno.bounce_kind) == ("bounced", "hard")
    assert Suppression.objects.for_workspace(officina).get(address=bruno.address).reason == (
        "hard_bounce"
    )
    assert events(officina, "email_bounced", bruno).count() == 1

    complaint = {
        **bounce_payload(anna, metadata_of(anna.address), "SpamComplaint"),
        "RecordType": "SpamComplaint",
        "Name": "Spam complaint",
    }
    assert post(client, complaint).status_code == 200
    assert Suppression.objects.for_workspace(officina).get(address=anna.address).reason == (
        "complaint"
    )
    assert events(officina, "email_complained", anna).count() == 1


def test_a_transient_bounce_counts_and_the_provider_id_alone_finds_the_delivery(
    client, officina, sent
):
    bruno = sent["bruno@example.it"]
    payload = bounce_payload(bruno, {}, "Transient")
    payload["MessageID"] = bruno.provider_message_id  # no metadata: the provider's id
    for _ in range(3):
        assert post(client, payload).status_code == 200
    assert SoftBounce.objects.for_workspace(officina).get(address=bruno.address).count == 3
    # three in a row suppress the address
    assert Suppression.objects.for_workspace(officina).filter(address=bruno.address).exists()


def test_a_provider_open_counts_only_when_volanos_pixel_saw_none(client, officina, sent):
    anna, bruno = sent["anna@example.it"], sent["bruno@example.it"]
    Delivery.all_workspaces.filter(pk__in=[anna.pk, bruno.pk]).update(
        sent_at="2026-12-01T08:00:00Z"
    )
    html = next(m for m in mail.outbox if m.to == [bruno.address]).alternatives[0][0]
    pixel = html.split('src="https://volano.example.it')[-1].split('"')[0]
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/133.0"
    assert client.get(pixel, HTTP_USER_AGENT=agent).status_code == 200  # Volano's own pixel

    def opened(delivery):
        return {
            "RecordType": "Open",
            "MessageStream": "outbound",
            "Metadata": metadata_of(delivery.address),
            "FirstOpen": True,
            "Recipient": delivery.address,
            "MessageID": "0a1b2c3d-6105-42a2-a16a-77a8eac79483",
            "ReceivedAt": "2026-12-02T17:00:00Z",
            "Platform": "WebMail",
            "ReadSeconds": 5,
            "Tag": "broadcast",
            "UserAgent": agent,
        }

    assert post(client, opened(bruno)).status_code == 200
    assert post(client, opened(anna)).status_code == 200
    assert events(officina, "email_opened", bruno).count() == 1  # Volano's, not the provider's
    [provider_open] = events(officina, "email_opened", anna)
    assert provider_open.source == "anymail:postmark"
    assert provider_open.properties["label"] == "human"
    anna.refresh_from_db()
    assert anna.opened_at is not None


def test_an_unknown_message_is_ignored_and_a_wrong_secret_refused(client, officina, sent):
    anna = sent["anna@example.it"]
    unknown = delivery_payload(anna, {})
    unknown["MessageID"] = "00000000-0000-0000-0000-000000000000"
    assert post(client, unknown).status_code == 200
    assert post(client, {**unknown, "Metadata": {"volano_delivery": "x"}}).status_code == 200
    assert not Event.objects.for_workspace(officina).filter(type="email_delivered").exists()

    bounce = bounce_payload(anna, metadata_of(anna.address))
    for secret in ("volano:wrong", "nobody:s3cret-webhook"):
        assert 400 <= post(client, bounce, secret=secret).status_code < 500
    no_auth = client.post(URL, json.dumps(bounce), content_type="application/json")
    assert 400 <= no_auth.status_code < 500
    assert not Suppression.objects.for_workspace(officina).exists()
    anna.refresh_from_db()
    assert anna.status == "sent"


def test_without_a_webhook_secret_the_webhooks_are_not_there(client, officina, sent, settings):
    settings.ANYMAIL = {}
    anna = sent["anna@example.it"]
    response = post(client, bounce_payload(anna, metadata_of(anna.address)))
    assert response.status_code == 404
    assert not Suppression.objects.for_workspace(officina).exists()
    assert reverse("emails:anymail_postmark_tracking_webhook") == URL
