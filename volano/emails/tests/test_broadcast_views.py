"""The broadcast pages through HTTP: the form, the whole-list warning needing a confirm, the
send through the worker to a real SMTP server, and the figures on the page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.emails.broadcasts import services
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


def test_reading_a_broadcast_changes_nothing_and_the_list_is_one_query(
    signed_in, officina, giulia, people, milano, newsletter, smtp
):
    first = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, name="Uno"
    )
    services.broadcast_send(workspace=officina, actor=giulia, broadcast=first)
    worker_run_once()
    first.refresh_from_db()
    assert first.status == "sent"  # the worker that finished its mailing said so
    # as if that worker had died between its mailing's end and the broadcast's: only the
    # sweeper's pass makes it "sent", never a page that reads it
    Broadcast.objects.for_workspace(officina).filter(pk=first.pk).update(status="sending")
    for url in ("/email/broadcasts/", f"/email/broadcasts/{first.pk}/",
                f"/email/broadcasts/{first.pk}/progress/", f"/api/v1/broadcasts/{first.pk}"):  # fmt: skip
        signed_in.get(url)
    first.refresh_from_db()
    assert first.status == "sending"
    services.broadcasts_due_run()
    first.refresh_from_db()
    assert first.status == "sent"

    with CaptureQueriesContext(connection) as one:
        page = signed_in.get("/email/broadcasts/").content.decode()
    assert 'href="/emails/mailings/"' in page  # "Sent emails" in the menu
    for name in ("Due", "Tre"):
        b = services.broadcast_create(
            workspace=officina, actor=giulia, template=newsletter, segment=milano, name=name
        )
        services.broadcast_send(workspace=officina, actor=giulia, broadcast=b)
    worker_run_once()
    with CaptureQueriesContext(connection) as three:
        page = signed_in.get("/email/broadcasts/").content.decode()
    assert len(three) == len(one)  # the figures of every broadcast in one grouped query
    assert page.count("<td>36</td><td>0</td><td>0</td>") == 3  # delivered, opened, clicked
    assert Broadcast.objects.for_workspace(officina).filter(status="sent").count() == 3


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_ab_due_time_never_ends_in_two_dots(
    signed_in, officina, giulia, people, milano, newsletter, language
):
    """The English short date-time ends "3 p.m.": the line around it adds no full stop."""
    import datetime as dt
    import re
    from zoneinfo import ZoneInfo

    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, name="Prova A/B",
        ab={"which": "subject", "subject_b": "Solo per te", "split": 50, "metric": "opens",
            "hours": 4},
    )  # fmt: skip
    afternoon = dt.datetime(2026, 12, 4, 15, 0, tzinfo=ZoneInfo(officina.time_zone))
    Broadcast.objects.for_workspace(officina).filter(pk=broadcast.pk).update(
        status="sending", due_at=afternoon
    )
    html = signed_in.get(
        f"/email/broadcasts/{broadcast.pk}/progress/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    line = re.search(r'<p data-testid="ab-due">([^<]*)</p>', html).group(1)
    assert "2026" in line and not line.rstrip().endswith("..")
    if language == "en":
        assert line == "Winner chosen at: 12/04/2026 3 p.m."
