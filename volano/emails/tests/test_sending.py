"""Sending through a real SMTP server: consent and suppression checked at claim time, headers,
MIME parts and tracked links as they arrive, retries on 4xx, bounces on 5xx."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.contacts.models import Consent, Contact
from volano.emails.models import Delivery, Suppression
from volano.emails.sending.services import mailing_counts, mailing_create, mailing_send
from volano.emails.suppression import suppression_add
from volano.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _send(officina, queryset, capture, *, kind="broadcast", campaign="novita-marzo"):
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind=kind,
        renderer="test-plain",
        params={},
        audience_queryset=queryset,
        name="Novità di marzo",
        campaign=campaign,
    )
    with capture(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    return mailing


def _links(message) -> list[str]:
    html = message.get_body(preferencelist=("html",)).get_content()
    return re.findall(r'href="([^"]+)"', html)


def test_a_broadcast_reaches_the_consented_and_counts_the_rest(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    mailing = _send(
        officina, Contact.objects.for_workspace(officina), django_capture_on_commit_callbacks
    )

    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "anna@example.it",
        "bruno@example.it",
    ]
    message = smtp.inbox.to("anna@example.it")[0]
    assert str(message["Subject"]) == "Novità per Anna"
    unsubscribe = str(message["List-Unsubscribe"])
    assert re.fullmatch(r"<https://volano\.example\.it/e/u/[^>]+/>", unsubscribe)
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert str(message["X-Volano-Workspace"]) == str(officina.pk)
    assert message.get_body(preferencelist=("plain",)).get_content().startswith("Ciao Anna")
    links = _links(message)
    assert all(link.startswith("https://volano.example.it/e/c/") for link in links)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "https://volano.example.it/e/o/" in html  # the open pixel
    counts = mailing_counts(mailing=mailing)
    assert counts["sent"] == 2
    assert counts["skipped_by"]["no_consent"] == 1
    assert counts["skipped_by"]["no_email"] == 1
    assert counts["skipped_by"]["bad_address"] == 1
    mailing.refresh_from_db()
    assert mailing.status == "sent"
    assert Event.objects.for_workspace(officina).filter(type="email_sent").count() == 2


def test_the_same_audience_twice_writes_each_person_once(officina, audience, smtp):
    everyone = Contact.objects.for_workspace(officina)
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="test-plain",
        audience_queryset=everyone.union(everyone) if False else everyone,
    )  # fmt: skip
    assert Delivery.all_workspaces.filter(mailing=mailing).count() == 5


def test_a_revoked_consent_or_a_suppressed_address_stops_the_send(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="test-plain",
        audience_queryset=Contact.objects.for_workspace(officina),
    )  # fmt: skip
    # after the outbox was written, a moment before the worker claims it
    contact_services.consent_set(
        workspace=officina, actor=None, contact=audience["anna"], purpose="email_marketing",
        status="revoked", source="test",
    )  # fmt: skip
    suppression_add(workspace=officina, address="BRUNO@example.it", reason="manual")
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    assert smtp.inbox.messages == []
    counts = mailing_counts(mailing=mailing)
    assert counts["skipped_by"]["no_consent"] == 2
    assert counts["skipped_by"]["suppressed"] == 1


def test_transactional_mail_needs_no_marketing_consent_and_has_no_list_headers(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["carla"].pk),
        django_capture_on_commit_callbacks,
        kind="transactional",
    )
    [message] = smtp.inbox.messages
    assert str(message["To"]) == "carla@example.it"
    assert message["List-Unsubscribe"] is None


def test_another_workspaces_contacts_are_left_out(officina, ferramenta, audience, smtp):
    Contact.objects.create(workspace=ferramenta, email="altro@example.it")
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="test-plain",
        audience_queryset=Contact.all_workspaces.all(),
    )  # fmt: skip
    assert Delivery.all_workspaces.filter(mailing=mailing).count() == 5


def test_a_5xx_at_send_time_is_a_hard_bounce_and_suppresses(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    smtp.inbox.refuse["anna@example.it"] = "550 5.1.1 No such user"
    mailing = _send(
        officina, Contact.objects.for_workspace(officina), django_capture_on_commit_callbacks
    )
    print(
        list(
            Delivery.all_workspaces.filter(mailing=mailing).values(
                "contact__email", "status", "error"
            )
        )
    )
    assert [str(m["To"]) for m in smtp.inbox.messages] == ["bruno@example.it"]
    anna = Delivery.all_workspaces.get(mailing=mailing, contact=audience["anna"])
    assert (anna.status, anna.bounce_kind) == ("bounced", "hard")
    assert (
        Suppression.objects.for_workspace(officina)
        .filter(address="anna@example.it", reason="hard_bounce")
        .exists()
    )
    assert (
        Event.objects.for_workspace(officina)
        .filter(type="email_bounced", contact=audience["anna"])
        .exists()
    )


@pytest.mark.parametrize("reply", ["550 5.6.0 Message refused", "452 4.3.1 Mailbox full"])
def test_a_refusal_at_the_end_of_a_messages_data_is_its_own(
    officina, audience, smtp, django_capture_on_commit_callbacks, monkeypatch, reply
):
    """The server's answer to a message's data is read after the next message was built
    (Transport.begin/finish): a refusal there belongs to that message, the next is sent once."""
    monkeypatch.setenv("VOLANO_EMAIL_BACKOFF_BASE", "600")
    smtp.inbox.data_refuse["anna@example.it"] = reply
    mailing = _send(
        officina, Contact.objects.for_workspace(officina), django_capture_on_commit_callbacks
    )
    assert [str(m["To"]) for m in smtp.inbox.messages] == ["bruno@example.it"]
    anna = Delivery.all_workspaces.get(mailing=mailing, contact=audience["anna"])
    bruno = Delivery.all_workspaces.get(mailing=mailing, contact=audience["bruno"])
    assert bruno.status == "sent"
    if reply.startswith("5"):
        assert (anna.status, anna.bounce_kind) == ("bounced", "hard")
        assert Suppression.objects.for_workspace(officina).filter(address="anna@example.it")
    else:  # later, with its backoff; nothing else waits for it
        assert (anna.status, anna.attempts) == ("queued", 1)
        assert "452" in anna.error


@pytest.mark.parametrize(
    "trouble", ["down", "421 4.3.2 Service not available", "451 4.7.1 Try again later"]
)
def test_smtp_down_or_4xx_pauses_and_resumes_without_loss_or_double(
    officina, audience, smtp, django_capture_on_commit_callbacks, monkeypatch, trouble
):
    monkeypatch.setenv("VOLANO_EMAIL_BACKOFF_BASE", "2")
    if trouble == "down":
        smtp.stop()
    elif trouble.startswith("421"):
        smtp.inbox.data_reply = trouble
    else:
        smtp.inbox.refuse["anna@example.it"] = trouble
        smtp.inbox.refuse["bruno@example.it"] = trouble
    mailing = _send(
        officina, Contact.objects.for_workspace(officina), django_capture_on_commit_callbacks
    )
    waiting = Delivery.all_workspaces.filter(mailing=mailing, status="queued")
    assert waiting.count() == 2
    assert all(d.attempts == 1 and d.error for d in waiting)
    assert smtp.inbox.messages == []
    # the server comes back; the retry is due after the backoff (2 s for a first attempt)
    if trouble == "down":
        smtp.start()
    smtp.inbox.data_reply = None
    smtp.inbox.refuse.clear()
    time.sleep(2.1)
    worker_run_once()  # the retry the task enqueued for itself
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "anna@example.it",
        "bruno@example.it",
    ]
    assert Delivery.all_workspaces.filter(mailing=mailing, status="sent").count() == 2
    mailing.refresh_from_db()
    assert mailing.status == "sent"


def test_links_carry_utm_and_a_click_lands_on_the_timeline(
    officina, audience, smtp, client, django_capture_on_commit_callbacks
):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    [message] = smtp.inbox.messages
    first, second = _links(message)
    response = client.get(
        urlsplit(first).path, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) Firefox/140"
    )
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.netloc == "www.officinarossi.it"
    assert parse_qs(target.query) == {
        "x": ["1"], "utm_source": ["volano"], "utm_medium": ["email"], "utm_campaign": ["novita-marzo"]
    }  # fmt: skip
    # a link's own utm_source is kept
    assert parse_qs(urlsplit(client.get(urlsplit(second).path)["Location"]).query)[
        "utm_source"
    ] == ["site"]
    click = Event.objects.for_workspace(officina).filter(type="email_clicked").first()
    assert click.contact_id == audience["anna"].pk
    assert click.properties["delivery"] == Delivery.all_workspaces.get(contact=audience["anna"]).pk
    # sent a moment ago: a click within seconds of delivery is a scanner's
    assert click.properties["label"] == "scanner"


def test_a_tampered_click_or_open_token_is_a_404(
    officina, audience, smtp, client, django_capture_on_commit_callbacks
):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    path = urlsplit(_links(smtp.inbox.messages[0])[0]).path
    token = path.split("/")[3]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/e/c/{tampered}/").status_code == 404
    assert client.get("/e/c/https%3A%2F%2Fevil.example/").status_code == 404
    assert client.get(f"/e/o/{tampered}/").status_code == 404


def test_opens_are_labelled(officina, audience, smtp, client, django_capture_on_commit_callbacks):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    html = smtp.inbox.messages[0].get_body(preferencelist=("html",)).get_content()
    pixel = urlsplit(re.search(r'src="([^"]+/e/o/[^"]+)"', html).group(1)).path
    Delivery.all_workspaces.update(sent_at="2026-01-01T10:00:00Z")  # read a while after it arrived
    agents = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120 Safari/537.36 (via ggpht.com GoogleImageProxy)": "privacy_proxy",
        "Mozilla/5.0": "privacy_proxy",
        "Barracuda Sentinel (EE)": "scanner",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Thunderbird/128.0": "human",
    }
    for agent, label in agents.items():
        response = client.get(pixel, HTTP_USER_AGENT=agent)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        assert (
            Event.objects.for_workspace(officina)
            .filter(type="email_opened")
            .latest("id")
            .properties["label"]
            == label
        ), agent
    assert client.get(pixel, REMOTE_ADDR="17.58.1.2", HTTP_USER_AGENT="Mail").status_code == 200
    assert (
        Event.all_workspaces.filter(type="email_opened").latest("id").properties["label"]
        == "privacy_proxy"
    )
    assert Delivery.all_workspaces.get(contact=audience["anna"]).opened_at is not None


def test_one_click_post_unsubscribes_and_get_never_does(
    officina, audience, smtp, client, django_capture_on_commit_callbacks
):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    url = str(smtp.inbox.messages[0]["List-Unsubscribe"]).strip("<>")
    path = urlsplit(url).path
    consent = Consent.all_workspaces.get(contact=audience["anna"], purpose="email_marketing")

    page = client.get(path)  # what a link scanner does
    assert page.status_code == 200
    assert b"Unsubscribe from marketing email" in page.content
    consent.refresh_from_db()
    assert consent.status == "granted"

    # what a mail client does (RFC 8058): a POST with the body, no cookie, no CSRF token
    from django.test import Client

    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        path, data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded", REMOTE_ADDR="203.0.113.9",
    )  # fmt: skip
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.status == "revoked"
    assert consent.ip == "203.0.113.9"
    assert "one-click" in consent.proof and "<volano." in consent.proof
    assert (
        Event.all_workspaces.filter(type="email_unsubscribed", contact=audience["anna"]).count()
        == 1
    )

    # and the next broadcast skips her
    smtp.inbox.messages.clear()
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    assert smtp.inbox.messages == []


def test_the_preference_centre_changes_consent_per_purpose(
    officina, audience, smtp, client, django_capture_on_commit_callbacks
):
    _send(
        officina,
        Contact.objects.for_workspace(officina).filter(pk=audience["anna"].pk),
        django_capture_on_commit_callbacks,
    )
    path = urlsplit(str(smtp.inbox.messages[0]["List-Unsubscribe"]).strip("<>")).path
    client.get(path)
    response = client.post(
        f"{path}preferences/", {"purpose_email_marketing": "on", "purpose_profiling": "on"}
    )
    assert response.status_code == 200
    statuses = dict(
        Consent.all_workspaces.filter(contact=audience["anna"]).values_list("purpose", "status")
    )
    assert statuses == {"email_marketing": "granted", "profiling": "granted"}


def test_through_the_smtp_process_each_consented_contact_gets_one_message_marked_sent(
    officina, audience, smtp, django_capture_on_commit_callbacks, monkeypatch
):
    """VOLANO_EMAIL_SMTP_PROCESS=1: the SMTP conversation in smtp_child.py, which writes "sent"
    itself; a refused recipient is still that row's own hard bounce."""
    monkeypatch.setenv("VOLANO_EMAIL_SMTP_PROCESS", "1")
    smtp.inbox.refuse["bruno@example.it"] = "550 5.1.1 No such user"
    mailing = _send(
        officina, Contact.objects.for_workspace(officina), django_capture_on_commit_callbacks
    )
    assert [str(m["To"]) for m in smtp.inbox.messages] == ["anna@example.it"]
    anna = Delivery.all_workspaces.get(mailing=mailing, contact=audience["anna"])
    bruno = Delivery.all_workspaces.get(mailing=mailing, contact=audience["bruno"])
    assert (anna.status, anna.message_id) == ("sent", str(smtp.inbox.messages[0]["Message-ID"]))
    assert anna.sent_at is not None
    assert (bruno.status, bruno.bounce_kind) == ("bounced", "hard")
    assert Event.objects.for_workspace(officina).filter(type="email_sent").count() == 1
