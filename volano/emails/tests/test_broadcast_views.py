"""The broadcast pages through HTTP: the form, the whole-list warning needing a confirm, the
send through the worker to a real SMTP server, and the figures on the page."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.emails.models import Broadcast
from volano.emails.templating.services import template_save
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


def test_new_broadcast_form_send_and_report(signed_in, officina, people, milano, newsletter, smtp):
    page = signed_in.get("/email/broadcasts/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="segment:milano"' in html and 'value="novita"' in html
    reply = signed_in.post(
        "/email/broadcasts/new/",
        {"name": "Marzo", "template": "novita", "audience": "segment:milano", "when": "now",
         "ab_which": "", "ab_split": "20", "ab_metric": "opens", "ab_hours": "4"},
    )  # fmt: skip
    broadcast = Broadcast.objects.for_workspace(officina).get()
    assert reply.status_code == 302 and reply["Location"] == f"/email/broadcasts/{broadcast.pk}/"
    detail = signed_in.get(reply["Location"]).content.decode()
    assert "Send now" in detail and "whole-list-warning" not in detail
    signed_in.post(f"/email/broadcasts/{broadcast.pk}/send/")
    worker_run_once()
    assert len(smtp.inbox.messages) == 36
    detail = signed_in.get(f"/email/broadcasts/{broadcast.pk}/").content.decode()
    assert 'data-testid="stat-sent">36<' in detail
    listing = signed_in.get("/email/broadcasts/").content.decode()
    assert "Marzo" in listing and "Sent" in listing


def test_bad_form_input_is_named_next_to_the_field(signed_in, officina, milano, newsletter):
    reply = signed_in.post(
        "/email/broadcasts/new/",
        {"template": "novita", "audience": "segment:milano", "when": "later", "send_at": "",
         "ab_which": "subject", "ab_subject_b": "", "ab_split": "20", "ab_metric": "opens",
         "ab_hours": "4"},
    )  # fmt: skip
    assert reply.status_code == 422
    assert "Give the date and time of the send." in reply.content.decode()
    assert not Broadcast.objects.for_workspace(officina).exists()


def test_the_whole_list_warning_needs_a_confirm(signed_in, officina, people, smtp):
    template_save(
        workspace=officina, actor=None, slug="uguale", name="Uguale", subject="Novità",
        html="<p>La gamma 2026.</p>",
    )  # fmt: skip
    everyone = segment_services.list_create(
        workspace=officina, actor=None, slug="tutti", name="Tutti"
    )
    segment_services.list_add_contacts(
        workspace=officina, contact_list=everyone, contacts=Contact.objects.for_workspace(officina)
    )
    signed_in.post(
        "/email/broadcasts/new/",
        {"template": "uguale", "audience": "list:tutti", "when": "now", "ab_split": "20",
         "ab_metric": "opens", "ab_hours": "4"},
    )  # fmt: skip
    broadcast = Broadcast.objects.for_workspace(officina).get()
    detail = signed_in.get(f"/email/broadcasts/{broadcast.pk}/").content.decode()
    assert 'data-testid="whole-list-warning"' in detail and 'name="confirm"' in detail
    signed_in.post(f"/email/broadcasts/{broadcast.pk}/send/")  # without the tick
    worker_run_once()
    broadcast.refresh_from_db()
    assert broadcast.status == "draft" and not smtp.inbox.messages
    signed_in.post(f"/email/broadcasts/{broadcast.pk}/send/", {"confirm": "yes"})
    worker_run_once()
    assert len(smtp.inbox.messages) == 42
