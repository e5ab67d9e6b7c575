"""Notification emails go through a real SMTP server (aiosmtpd) and land once."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.events.services import event_append
from volano.handoff import services
from volano.handoff.models import Assignment
from volano.lifecycle.services import stage_set
from volano.notifications.services import notification_email_send
from volano.notifications.tasks import notification_email_task
from volano.notifications.tests.helpers import notes
from volano.scoring.services import score_model_save, scores_compute

from .conftest import sql_contact


def wait_for(handler, n=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(handler.messages) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return handler.messages


@pytest.mark.django_db
def test_the_rep_gets_one_email_with_the_context_even_when_the_task_runs_twice(
    officina, lombardia_rule, anna, marco, smtp
):
    marco.language = "en"
    marco.save()
    event_append(
        workspace=officina,
        type="page_view",
        contact_id=anna.pk,
        channel="web",
        occurred_at=timezone.now() - dt.timedelta(days=1),
        properties={"url": "https://officinarossi.it/prezzi"},
    )
    event_append(
        workspace=officina,
        type="form_submitted",
        contact_id=anna.pk,
        channel="web",
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        properties={"form": "Richiesta preventivo"},
    )
    assignment = services.lead_assign(
        workspace=officina,
        contact_id=anna.pk,
        product_line="ricambi",
        why="Score 72 ≥ 60: requested a quote",
    )
    note = notes(officina).get(recipient=marco)
    notification_email_task.call(note.pk)
    notification_email_task.call(note.pk)
    messages = wait_for(smtp)
    time.sleep(0.2)
    assert len(smtp.messages) == 1
    message = messages[0]
    assert message["To"] == "marco@officinarossi.it"
    assert message["Subject"] == "New qualified lead: Anna Bianchi (Ricambi)"
    body = message.get_payload(decode=True).decode()
    assert "Score 72 ≥ 60: requested a quote" in body
    assert "Form submitted · Richiesta preventivo" in body
    assert "Page view · https://officinarossi.it/prezzi" in body
    assert body.index("Richiesta preventivo") < body.index("/prezzi")  # newest first
    assert "Lead assigned" not in body  # Volano's own events are not interactions
    assert f"http://127.0.0.1:8000/contacts/{anna.pk}/" in body
    note.refresh_from_db()
    assignment.refresh_from_db()
    assert note.emailed_at is not None and note.email_status == "sent"
    assert assignment.notified_at is not None


@pytest.mark.django_db
def test_the_email_speaks_the_workspace_language_when_the_rep_has_none(
    officina, lombardia_rule, anna, marco, smtp
):
    officina.language = "it"
    officina.save(update_fields=["language"])
    event_append(workspace=officina, type="page_view", contact_id=anna.pk, channel="web")
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    note = notes(officina).get()
    notification_email_send(notification_id=note.pk)
    body = wait_for(smtp)[0].get_payload(decode=True).decode()
    assert "Visita pagina" in body  # Italian, like Officina Rossi


@pytest.mark.django_db
def test_the_score_explanation_is_in_the_email(officina, lombardia_rule, anna, smtp):
    """The rep reads why the lead scored what it did: the real model, computed from Anna's data
    and her three visits to the price page."""
    model = score_model_save(
        workspace=officina,
        actor=None,
        data={
            "slug": "ricambi",
            "name": "Interesse ricambi",
            "rules": [
                {
                    "kind": "fit",
                    "when": {"field": "region", "op": "eq", "value": "Lombardia"},
                    "points": 42,
                },
                {
                    "kind": "engagement",
                    "when": {"event": "page_view", "where": {"url": {"contains": "/prezzi"}}},
                    "points": 10,
                    "max_times": 3,
                },
            ],
        },
    )
    for hours in (1, 2, 3):
        event_append(
            workspace=officina,
            type="page_view",
            contact_id=anna.pk,
            channel="web",
            occurred_at=timezone.now() - dt.timedelta(hours=hours),
            properties={"url": "https://officinarossi.it/prezzi"},
        )
    scores_compute(workspace=officina, model=model)
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    note = notes(officina).get()
    assert notification_email_send(notification_id=note.pk) is True
    body = wait_for(smtp)[0].get_payload(decode=True).decode()
    assert "- Interesse ricambi: 72 points" in body
    assert ": 30" in body and ": 42" in body, body


@pytest.mark.django_db
def test_a_failed_send_is_given_back_for_a_retry(officina, lombardia_rule, anna, smtp, settings):
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    note = notes(officina).get()
    settings.MAILERS["default"]["OPTIONS"]["port"] = 1  # nobody listens there
    with pytest.raises(OSError):
        notification_email_send(notification_id=note.pk)
    note.refresh_from_db()
    assert note.emailed_at is None and note.email_status == "pending"
    assert note.email_attempts == 1 and note.email_error
    settings.MAILERS = settings.MAILERS | {}
    from volano.settings import mailers_from_env

    settings.MAILERS = mailers_from_env()
    assert notification_email_send(notification_id=note.pk) is True
    assert len(wait_for(smtp)) == 1


@pytest.mark.django_db(transaction=True)
def test_end_to_end_an_sql_in_lombardy_reaches_marco_through_the_worker(
    officina, giulia, lombardia_rule, marco, smtp
):
    """stage_set to SQL → (commit) assign task → (commit) email task → SMTP, with the worker."""
    contact = sql_contact(
        officina,
        email="anna.bianchi@cliente.it",
        first_name="Anna",
        last_name="Bianchi",
        province="MI",
    )
    Contact.objects.for_workspace(officina).filter(pk=contact.pk).update(lifecycle_stage="mql")
    assert stage_set(
        workspace=officina,
        actor=giulia,
        contact=contact,
        stage="sql",
        reason="Asked for a quote",
        product_line="ricambi",
    )
    worker_run_once()
    messages = wait_for(smtp)
    assert len(messages) == 1
    assert messages[0]["To"] == "marco@officinarossi.it"
    assert messages[0]["Subject"] == "New qualified lead: Anna Bianchi (Ricambi)"
    assert "Asked for a quote" in messages[0].get_payload(decode=True).decode()
    # how fast is bench/handoff.py's business, not a unit test's
    assignment = Assignment.objects.for_workspace(officina).get()
    assert assignment.rep == marco and assignment.notified_at is not None


@pytest.mark.django_db
def test_a_hand_off_email_is_in_its_workspace_outbox_only(
    client, officina, lombardia_rule, anna, marco, giulia, bruno
):
    """With no SMTP server the email lands in the outbox: Officina's marketer reads it there,
    the administrator of another workspace on the same install never does."""
    services.lead_assign(workspace=officina, contact_id=anna.pk, product_line="ricambi")
    note = notes(officina).get(recipient=marco)
    assert notification_email_send(notification_id=note.pk)
    client.force_login(bruno)
    html = client.get(reverse("outbox")).content.decode()
    assert "Anna Bianchi" not in html and "marco@officinarossi.it" not in html
    client.force_login(giulia)
    html = client.get(reverse("outbox")).content.decode()
    assert "New qualified lead: Anna Bianchi" in html
    assert "marco@officinarossi.it" in html
