"""Broadcasts through the real path: service → outbox → worker → a real SMTP server.

A segment's consented members get the email and nobody else; an A/B test sends A and B to the
hashed halves of the split, then the rest gets the winner and nobody gets two; a scheduled
broadcast waits for its time and is sent by the sweeper even when its task is lost."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.emails.broadcasts import selectors, services
from volano.emails.broadcasts.services import ab_bucket_python, ab_ranges
from volano.emails.models import Broadcast, Delivery
from volano.emails.templating.services import template_save
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403
from volano.jobs.sweeper import Sweeper
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db(transaction=True)

HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Thunderbird/128.0"


def _addresses(smtp) -> Counter:
    return Counter(str(m["To"]) for m in smtp.inbox.messages)


def test_a_broadcast_to_a_segment_reaches_exactly_its_consented_members(
    officina, giulia, people, milano, newsletter, smtp
):
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, name="Marzo"
    )
    assert broadcast.status == "draft" and not smtp.inbox.messages
    broadcast = services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    assert broadcast.status == "sending"
    worker_run_once()

    received = _addresses(smtp)
    assert received == Counter(c.email for c in people["mi_yes"])
    message = smtp.inbox.to(people["mi_yes"][0].email)[0]
    assert str(message["Subject"]) == f"Novità per {people['mi_yes'][0].first_name}"
    html = message.get_body(preferencelist=("html",)).get_content()
    click = re.search(r'href="(https://volano\.example\.it/e/c/[^"]+)"', html)
    assert click is not None  # tracked by the sending core, with the broadcast as campaign
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"

    broadcast.refresh_from_db()
    assert broadcast.status == "sent"  # by the worker that finished its mailing
    report = selectors.broadcast_report(workspace=officina, broadcast=broadcast)
    assert report["sent"] == 36 and report["delivered"] == 36
    assert report["skipped"]["no_consent"] == 12
    assert broadcast.mailing_a.campaign == broadcast.slug == "marzo"


def test_an_ab_subject_test_then_the_winner_to_the_rest_and_nobody_twice(
    officina, giulia, people, milano, newsletter, smtp, client
):
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, name="Prova A/B",
        ab={"which": "subject", "subject_b": "Solo per te, {{ contact.first_name }}",
            "split": 50, "metric": "opens", "hours": 4},
    )  # fmt: skip
    services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    worker_run_once()
    broadcast.refresh_from_db()

    a_range, b_range = ab_ranges(50)
    consented = {c.pk: c for c in people["mi_yes"]}
    expect_a = {
        c.email for pk, c in consented.items() if ab_bucket_python(pk, broadcast.pk) in a_range
    }
    expect_b = {
        c.email for pk, c in consented.items() if ab_bucket_python(pk, broadcast.pk) in b_range
    }
    assert expect_a and expect_b  # the hash spreads 36 people over both halves
    got_a = {str(m["To"]) for m in smtp.inbox.messages if str(m["Subject"]).startswith("Novità")}
    got_b = {str(m["To"]) for m in smtp.inbox.messages if str(m["Subject"]).startswith("Solo")}
    assert (got_a, got_b) == (expect_a, expect_b)
    assert broadcast.status == "sending" and broadcast.winner == ""
    assert services.broadcasts_due_run(now=timezone.now()) == 0  # the hours are not up

    # one person of B opens it, a while after it arrived: B wins on human opens
    opener = sorted(expect_b)[0]
    html = smtp.inbox.to(opener)[0].get_body(preferencelist=("html",)).get_content()
    pixel = urlsplit(re.search(r'src="([^"]+/e/o/[^"]+)"', html).group(1)).path
    Delivery.objects.for_workspace(officina).update(sent_at=timezone.now() - dt.timedelta(hours=1))
    assert client.get(pixel, HTTP_USER_AGENT=HUMAN).status_code == 200
    assert services.ab_scores(broadcast=broadcast) == {"a": 0, "b": 1}

    later = timezone.now() + dt.timedelta(hours=4, minutes=1)
    assert services.broadcasts_due_run(now=later) == 1
    assert services.broadcasts_due_run(now=later) == 0  # the winner is chosen once
    worker_run_once()
    broadcast.refresh_from_db()
    assert broadcast.winner == "b"

    received = _addresses(smtp)
    assert received == Counter(c.email for c in people["mi_yes"])  # everyone once, nobody twice
    rest = set(received) - expect_a - expect_b
    assert rest
    for address in rest:
        assert str(smtp.inbox.to(address)[0]["Subject"]).startswith("Solo per te")
    contacts_per_mailing = Delivery.objects.for_workspace(officina).values_list("contact_id")
    assert len(contacts_per_mailing) == len(set(contacts_per_mailing)) == 48
    services.broadcasts_progress_sync()
    broadcast.refresh_from_db()
    assert broadcast.status == "sent"


def test_a_tie_goes_to_a(officina, giulia, people, milano, newsletter, smtp):
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano,
        ab={"which": "subject", "subject_b": "Oggetto B", "split": 20, "metric": "clicks",
            "hours": 1},
    )  # fmt: skip
    services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    worker_run_once()
    services.broadcasts_due_run(now=timezone.now() + dt.timedelta(hours=2))
    worker_run_once()
    broadcast.refresh_from_db()
    assert broadcast.winner == "a"
    assert _addresses(smtp) == Counter(c.email for c in people["mi_yes"])
    assert sum(str(m["Subject"]) == "Oggetto B" for m in smtp.inbox.messages) < 36 / 2


def test_a_scheduled_broadcast_waits_for_its_time_and_survives_a_lost_task(
    officina, giulia, people, milano, newsletter, smtp
):
    from django_tasks_db.models import DBTaskResult

    send_at = timezone.now() + dt.timedelta(hours=1)
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, send_at=send_at
    )
    broadcast = services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    assert broadcast.status == "scheduled" and broadcast.due_at == send_at
    worker_run_once()
    Sweeper().sweep(now=timezone.now())
    worker_run_once()
    assert not smtp.inbox.messages  # not before its time

    DBTaskResult.objects.all().delete()  # the task at its time was lost
    Sweeper().sweep(now=send_at + dt.timedelta(seconds=10))
    worker_run_once()
    assert _addresses(smtp) == Counter(c.email for c in people["mi_yes"])
    broadcast.refresh_from_db()
    assert broadcast.status in ("sending", "sent") and broadcast.due_at is None


def test_a_cancelled_schedule_never_sends(officina, giulia, people, milano, newsletter, smtp):
    send_at = timezone.now() + dt.timedelta(minutes=30)
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, send_at=send_at
    )
    services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    services.broadcast_cancel(workspace=officina, actor=giulia, broadcast=broadcast)
    assert services.broadcasts_due_run(now=send_at + dt.timedelta(minutes=1)) == 0
    worker_run_once()
    assert not smtp.inbox.messages
    broadcast.refresh_from_db()
    assert broadcast.status == "cancelled"
    with pytest.raises(ApplicationError) as error:
        services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    assert error.value.field == "status"


def test_bad_input_names_the_field(officina, giulia, milano, newsletter):
    from volano.segments.models import ContactList

    contact_list = ContactList.objects.create(workspace=officina, slug="fiera", name="Fiera")
    cases = [
        ({"segment": milano, "contact_list": contact_list}, "list"),
        ({}, "segment"),
        ({"segment": milano, "send_at": timezone.now() - dt.timedelta(minutes=1)}, "send_at"),
        ({"segment": milano, "ab": {"which": "colour"}}, "ab.which"),
        ({"segment": milano, "ab": {"which": "subject"}}, "ab.subject_b"),
        ({"segment": milano, "ab": {"which": "subject", "subject_b": "B", "split": 0}}, "ab.split"),
        ({"segment": milano, "ab": {"which": "content", "template_b": newsletter}},
         "ab.template_b"),
        ({"segment": milano, "ab": {"which": "subject", "subject_b": "B", "hours": 0}},
         "ab.hours"),
    ]  # fmt: skip
    for kwargs, field in cases:
        with pytest.raises(ApplicationError) as error:
            services.broadcast_create(
                workspace=officina, actor=giulia, template=newsletter, **kwargs
            )
        assert error.value.field == field, kwargs
    broken = template_save(
        workspace=officina, actor=None, slug="rotto", name="Rotto",
        html="<p>{{ contact.nope }}</p>", keep_broken=True,
    )  # fmt: skip
    with pytest.raises(ApplicationError) as error:
        services.broadcast_create(workspace=officina, actor=giulia, template=broken, segment=milano)
    assert error.value.field == "template"
    assert not Broadcast.objects.for_workspace(officina).exists()


def test_the_whole_list_warning(officina, giulia, people, milano, newsletter):
    from volano.segments.models import ContactList

    generic = template_save(
        workspace=officina, actor=None, slug="uguale", name="Uguale per tutti",
        subject="Le novità", html="<p>La gamma 2026.</p>",
    )  # fmt: skip
    everyone = ContactList.objects.create(workspace=officina, slug="tutti", name="Tutti")
    segment_services.list_add_contacts(
        workspace=officina, contact_list=everyone, contacts=Contact.objects.for_workspace(officina)
    )
    torino = segment_services.segment_save(
        workspace=officina, actor=None, slug="torino", name="Torino",
        definition={"field": "province", "op": "eq", "value": "TO"},
    )  # fmt: skip

    def warnings(template, **audience):
        broadcast = services.broadcast_create(
            workspace=officina, actor=giulia, template=template, **audience
        )
        return [
            w["code"] for w in selectors.broadcast_warnings(workspace=officina, broadcast=broadcast)
        ]

    assert warnings(generic, contact_list=everyone) == ["generic_to_whole_list"]
    # Milano holds 36 of the 42 emailable contacts (86%): as good as the whole list
    assert warnings(generic, segment=milano) == ["generic_to_whole_list"]
    assert warnings(generic, segment=torino) == []  # a segment: targeted
    assert warnings(newsletter, contact_list=everyone) == []  # personalised


def test_a_template_in_use_is_not_deleted_and_a_deleted_segment_stops_the_schedule(
    officina, giulia, people, milano, newsletter, smtp
):
    from volano.emails.templating.services import template_delete

    send_at = timezone.now() + dt.timedelta(hours=1)
    broadcast = services.broadcast_create(
        workspace=officina, actor=giulia, template=newsletter, segment=milano, send_at=send_at
    )
    services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
    with pytest.raises(ApplicationError) as error:
        template_delete(workspace=officina, actor=giulia, template=newsletter)
    assert error.value.status_code == 400 and "cannot be deleted" in error.value.message

    segment_services.segment_delete(workspace=officina, actor=giulia, segment=milano)
    assert services.broadcasts_due_run(now=send_at + dt.timedelta(minutes=1)) == 0
    broadcast.refresh_from_db()
    assert broadcast.status == "draft" and "deleted" in broadcast.error
    worker_run_once()
    assert not smtp.inbox.messages
