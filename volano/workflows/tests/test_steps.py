"""The steps that wait for something (a weekday, a date property, an event), the internal steps
(a task for the rep, a signed webhook), the date-property trigger and suppression, each through
the real path: event → reactions outbox → worker → engine → SMTP (aiosmtpd) or a local HTTP
server."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.core.errors import ApplicationError
from volano.events.services import event_append
from volano.notifications.models import Notification
from volano.workflows import services
from volano.workflows.models import (
    Enrolment,
    EnrolmentStatus,
    RepTask,
    StepRun,
    WebhookCall,
    WebhookStatus,
)
from volano.workflows.tests.test_engine import _click, _published, _run_due, _subjects

ROME = ZoneInfo("Europe/Rome")


def _enrol(officina, workflow, *contacts):
    return services.workflow_enrol_ids(
        workspace=officina, actor=None, workflow=workflow,
        contact_ids=[c.pk for c in contacts], source="api",
    )  # fmt: skip


def _outcomes(officina, step: str) -> dict[str, str]:
    return dict(
        StepRun.objects.for_workspace(officina)
        .filter(step=step)
        .values_list("enrolment__contact__email", "outcome")
    )


@pytest.mark.django_db(transaction=True)
def test_wait_until_a_weekday_and_time_sends_on_monday_morning(
    officina, giulia, templates, person, smtp
):
    workflow = _published(
        officina, giulia,
        {"name": "Lunedì", "trigger": {"kind": "manual"},
         "steps": [{"key": "lunedi", "kind": "wait_until", "weekdays": [0], "time": "09:30"},
                   {"key": "grazie", "kind": "send_email", "template": "grazie"}]},
    )  # fmt: skip
    anna = person("anna@example.it", "Anna")
    _enrol(officina, workflow, anna)
    wednesday = dt.datetime(2026, 12, 9, 15, 0, tzinfo=ROME)
    assert timezone.now() < wednesday  # (as-of moments after the enrolment)
    _run_due(wednesday)
    enrolment = Enrolment.objects.for_workspace(officina).get()
    assert enrolment.step == "grazie"
    assert enrolment.due_at.astimezone(ROME) == dt.datetime(2026, 12, 14, 9, 30, tzinfo=ROME)
    assert '"steps": 0' in _run_due(dt.datetime(2026, 12, 14, 9, 29, tzinfo=ROME))
    _run_due(dt.datetime(2026, 12, 14, 9, 30, tzinfo=ROME))
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Grazie"]


@pytest.mark.django_db(transaction=True)
def test_wait_until_a_date_property_minus_days_and_at_once_when_it_is_missing(
    officina, giulia, templates, person, smtp
):
    contact_services.custom_field_create(
        workspace=officina, key="scadenza_contratto", label="Scadenza contratto", type="date"
    )
    workflow = _published(
        officina, giulia,
        {"name": "Scadenza", "trigger": {"kind": "manual"},
         "steps": [{"key": "prima", "kind": "wait_until", "field": "custom.scadenza_contratto",
                    "offset_days": -3, "time": "08:00"},
                   {"key": "grazie", "kind": "send_email", "template": "grazie"}]},
    )  # fmt: skip
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    contact_services.contact_update(
        workspace=officina, actor=None, contact=anna,
        data={"custom": {"scadenza_contratto": "2026-12-20"}},
    )  # fmt: skip
    _enrol(officina, workflow, anna, bruno)
    _run_due(dt.datetime(2026, 12, 9, 10, 0, tzinfo=ROME))
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it") == ["Grazie"]  # no date: goes on at once
    assert _subjects(smtp, "anna@example.it") == []
    due = Enrolment.objects.for_workspace(officina).get(contact=anna).due_at
    assert due.astimezone(ROME) == dt.datetime(2026, 12, 17, 8, 0, tzinfo=ROME)
    _run_due(dt.datetime(2026, 12, 17, 8, 0, tzinfo=ROME))
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Grazie"]


VISITED = {
    "name": "Ha visitato i prezzi",
    "trigger": {"kind": "manual"},
    "steps": [
        {"key": "attesa", "kind": "wait_for",
         "event": {"event": "page_view", "where": {"url": {"contains": "/prezzi"}}},
         "timeout_days": 5,
         "then": [{"key": "newsletter", "kind": "send_email", "template": "newsletter"}],
         "else": [{"key": "social", "kind": "send_email", "template": "social"}]},
    ],
}  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_wait_for_an_event_is_woken_by_the_event_and_times_out_for_the_others(
    officina, giulia, templates, person, smtp
):
    workflow = _published(officina, giulia, VISITED)
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    # a visit before the wait began does not count
    event_append(
        workspace=officina, type="page_view", contact_id=bruno.pk,
        properties={"url": "https://officinarossi.it/prezzi"},
        occurred_at=timezone.now() - dt.timedelta(days=2),
    )  # fmt: skip
    worker_run_once()
    start = timezone.now()
    _enrol(officina, workflow, anna, bruno)
    worker_run_once()
    assert Enrolment.objects.for_workspace(officina).filter(step="attesa").count() == 2
    # Anna visits the page: the reaction wakes her wait, the worker takes "then" at once
    event_append(
        workspace=officina, type="page_view", contact_id=anna.pk,
        properties={"url": "https://officinarossi.it/prezzi?x=1"},
    )  # fmt: skip
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Iscriviti"]
    assert _subjects(smtp, "bruno@example.it") == []
    assert '"steps": 0' in _run_due(start + dt.timedelta(days=4))
    _run_due(start + dt.timedelta(days=5, minutes=1))
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it") == ["Seguici"]  # timed out
    assert _outcomes(officina, "attesa") == {"anna@example.it": "then", "bruno@example.it": "else"}


@pytest.mark.django_db(transaction=True)
def test_wait_for_a_click_on_an_earlier_email_of_the_workflow(
    officina, giulia, templates, person, smtp, client
):
    workflow = _published(
        officina, giulia,
        {"name": "Clic", "trigger": {"kind": "manual"},
         "steps": [{"key": "grazie", "kind": "send_email", "template": "grazie"},
                   {"key": "clic", "kind": "wait_for", "on": {"step": "grazie", "did": "clicked"},
                    "timeout_days": 3,
                    "then": [{"key": "newsletter", "kind": "send_email", "template": "newsletter"}],
                    "else": []}]},
    )  # fmt: skip
    anna = person("anna@example.it", "Anna")
    _enrol(officina, workflow, anna)
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Grazie"]
    _click(client, smtp, "anna@example.it", "Grazie")
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Grazie", "Iscriviti"]
    assert Enrolment.objects.for_workspace(officina).get().status == EnrolmentStatus.COMPLETED


def test_a_wait_for_without_a_timeout_is_refused_naming_the_step(officina, giulia):
    definition = {**VISITED, "steps": [{**VISITED["steps"][0]}]}
    del definition["steps"][0]["timeout_days"]
    with pytest.raises(ApplicationError) as refused:
        services.workflow_create(workspace=officina, actor=giulia, definition=definition)
    assert refused.value.field == "steps[0]"
    assert "timeout" in refused.value.message


@pytest.mark.django_db(transaction=True)
def test_create_task_gives_the_owner_a_task_and_a_notification(
    officina, giulia, marco, templates, person, client
):
    workflow = _published(
        officina, giulia,
        {"name": "Richiamare", "trigger": {"kind": "manual"},
         "steps": [{"key": "chiama", "kind": "create_task", "to": "owner",
                    "title": "Richiamare il cliente", "body": "Ha risposto al questionario",
                    "due_days": 2}]},
    )  # fmt: skip
    anna = person("anna@example.it", "Anna")
    contact_services.contact_update(
        workspace=officina, actor=None, contact=anna, data={"owner_id": marco.pk}
    )
    _enrol(officina, workflow, anna)
    worker_run_once()
    task = RepTask.objects.for_workspace(officina).get()
    assert (task.assignee, task.contact, task.title) == (marco, anna, "Richiamare il cliente")
    notes = Notification.objects.for_workspace(officina).filter(recipient=marco, kind="workflow")
    assert "Anna" in notes.get().body
    client.force_login(marco)
    page = client.get("/workflows/tasks/")
    assert page.status_code == 200 and "Richiamare il cliente" in page.content.decode()
    client.post(f"/workflows/tasks/{task.pk}/done/")
    task.refresh_from_db()
    assert task.status == "done"
    assert "Richiamare il cliente" not in client.get("/workflows/tasks/").content.decode()


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that fails the first `failures` calls (503), then accepts."""

    failures = 2
    calls: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).calls.append({"headers": dict(self.headers), "body": body})
        ok = len(type(self).calls) > type(self).failures
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.calls
    server.shutdown()


SECRET = "segreto-di-prova-1234"


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_signed_and_retried_with_backoff_under_one_idempotency_key(
    officina, giulia, templates, person, receiver
):
    url, calls = receiver
    workflow = _published(
        officina, giulia,
        {"name": "Al CRM", "trigger": {"kind": "manual"},
         "steps": [{"key": "crm", "kind": "webhook", "url": url, "secret": SECRET,
                    "payload": {"evento": "nuovo"}}]},
    )  # fmt: skip
    anna = person("anna@example.it", "Anna")
    _enrol(officina, workflow, anna)
    start = timezone.now()
    _run_due(start)
    call = WebhookCall.objects.for_workspace(officina).get()
    assert (call.attempts, call.status, call.last_status) == (1, WebhookStatus.PENDING, 503)
    assert '"steps": 0' in _run_due(start + dt.timedelta(seconds=10))  # not due again yet
    assert len(calls) == 1
    _run_due(start + dt.timedelta(seconds=31))  # 30 s after the first
    assert len(calls) == 2
    _run_due(start + dt.timedelta(seconds=31 + 59))  # the next after 60 s: not yet
    assert len(calls) == 2
    _run_due(start + dt.timedelta(seconds=31 + 61))
    call.refresh_from_db()
    assert (call.attempts, call.status, call.last_status) == (3, WebhookStatus.SENT, 200)
    assert len(calls) == 3
    keys = {c["headers"]["Idempotency-Key"] for c in calls}
    assert len(keys) == 1
    for c in calls:
        expected = hmac.new(SECRET.encode(), c["body"].encode(), hashlib.sha256).hexdigest()
        assert c["headers"]["X-Volano-Signature"] == f"sha256={expected}"
    body = json.loads(calls[0]["body"])
    assert body["contact"]["email"] == "anna@example.it" and body["evento"] == "nuovo"


@pytest.mark.django_db(transaction=True)
def test_a_date_property_trigger_enrols_thirty_days_before_the_expiry_once(
    officina, giulia, templates, person, smtp
):
    contact_services.custom_field_create(
        workspace=officina, key="scadenza_contratto", label="Scadenza contratto", type="date"
    )
    _published(
        officina, giulia,
        {"name": "Rinnovo", "trigger": {"kind": "date_property",
                                         "field": "custom.scadenza_contratto", "offset_days": -30},
         "steps": [{"key": "grazie", "kind": "send_email", "template": "grazie"}]},
    )  # fmt: skip
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    for contact, day in ((anna, "2027-01-20"), (bruno, "2027-01-30")):
        contact_services.contact_update(
            workspace=officina, actor=None, contact=contact,
            data={"custom": {"scadenza_contratto": day}},
        )  # fmt: skip
    _run_due(dt.datetime(2026, 12, 21, 7, 0, tzinfo=ROME))  # 30 days before Anna's
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Grazie"]
    assert _subjects(smtp, "bruno@example.it") == []
    _run_due(dt.datetime(2026, 12, 21, 18, 0, tzinfo=ROME))  # the same day again: nothing
    # a day missed (downtime): the next check catches up every day since the last
    _run_due(dt.datetime(2027, 1, 2, 7, 0, tzinfo=ROME))
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it") == ["Grazie"]
    assert Enrolment.objects.for_workspace(officina).count() == 2


@pytest.mark.django_db(transaction=True)
def test_suppression_while_in_a_workflow_of_a_chosen_category(officina, giulia, templates, person):
    sales = _published(
        officina, giulia,
        {"name": "Trattativa", "category": "vendita", "trigger": {"kind": "manual"},
         "steps": [{"key": "attesa", "kind": "wait", "days": 10}]},
    )  # fmt: skip
    nurture = _published(
        officina, giulia,
        {"name": "Nurturing", "suppress_while_in": ["vendita"], "trigger": {"kind": "manual"},
         "steps": [{"key": "attesa", "kind": "wait", "days": 1}]},
    )  # fmt: skip
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    _enrol(officina, sales, anna)
    assert _enrol(officina, nurture, anna, bruno) == 1  # Anna is in a sales workflow
    assert set(
        Enrolment.objects.for_workspace(officina)
        .filter(workflow=nurture)
        .values_list("contact__email", flat=True)
    ) == {"bruno@example.it"}
