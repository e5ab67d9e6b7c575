"""/api/v1/broadcasts: the pinned JSON, through a real SMTP server and the worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.emails.templating.services import template_save
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_KEYS = {
    "sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained", "skipped",
}  # fmt: skip


def test_create_send_and_read_the_report(api, people, milano, newsletter, smtp):
    created = api.post("/broadcasts", {"template": "novita", "segment": "milano", "name": "Marzo"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["name"] == "Marzo" and body["warnings"] == []
    assert (body["template"], body["segment"], body["list"]) == ("novita", "milano", None)
    assert set(body["report"]) >= REPORT_KEYS
    broadcast_id = body["id"]

    sent = api.post(f"/broadcasts/{broadcast_id}/send", {})
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "sending"
    worker_run_once()
    assert len(smtp.inbox.messages) == 36

    read = api.get(f"/broadcasts/{broadcast_id}").json()
    assert read["status"] == "sent"
    report = read["report"]
    assert (report["sent"], report["delivered"], report["bounced"]) == (36, 36, 0)
    assert report["skipped"] == {"no_consent": 12, "suppressed": 0, "capped": 0}
    assert read["recipients"] == 48
    listed = api.get("/broadcasts").json()
    assert [b["id"] for b in listed["items"]] == [broadcast_id]
    again = api.post(f"/broadcasts/{broadcast_id}/send", {})
    assert again.status_code == 422 and again.json()["error"]["field"] == "status"


def test_scheduled_ab_and_cancel(api, people, milano, newsletter, smtp):
    send_at = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    body = {
        "template": "novita",
        "segment": "milano",
        "send_at": send_at,
        "ab": {"which": "subject", "subject_b": "Oggetto B", "split": 30, "metric": "clicks",
               "hours": 2},
    }  # fmt: skip
    created = api.post("/broadcasts", body).json()
    assert created["ab"]["split"] == 30 and created["ab"]["winner"] is None
    scheduled = api.post(f"/broadcasts/{created['id']}/send", {}).json()
    assert scheduled["status"] == "scheduled"
    worker_run_once()
    assert not smtp.inbox.messages
    cancelled = api.post(f"/broadcasts/{created['id']}/cancel", {}).json()
    assert cancelled["status"] == "cancelled"


def test_bad_input_is_a_422_naming_the_field(api, officina, milano, newsletter):
    segment_services.list_create(workspace=officina, actor=None, slug="fiera", name="Fiera")
    template_save(
        workspace=officina, actor=None, slug="rotto", name="Rotto",
        html="<p>{{ contact.nope }}</p>", keep_broken=True,
    )  # fmt: skip
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    cases = [
        ({"template": "nessuno", "segment": "milano"}, "template"),
        ({"template": "novita", "segment": "nessuno"}, "segment"),
        ({"template": "novita", "list": "nessuna"}, "list"),
        ({"template": "novita", "segment": "milano", "list": "fiera"}, "list"),
        ({"template": "novita"}, "segment"),
        ({"template": "novita", "segment": "milano", "send_at": past}, "send_at"),
        ({"template": "rotto", "segment": "milano"}, "template"),
        ({"template": "novita", "segment": "milano", "ab": {"which": "x"}}, "ab.which"),
        ({"template": "novita", "segment": "milano", "ab": {"which": "content",
          "template_b": "nessuno"}}, "ab.template_b"),
        ({"template": "novita", "segment": "milano", "ab": {"which": "subject",
          "subject_b": "B", "split": 500}}, "ab.split"),
    ]  # fmt: skip
    for payload, field in cases:
        reply = api.post("/broadcasts", payload)
        assert reply.status_code == 422, (payload, reply.json())
        assert reply.json()["error"]["field"] == field, (payload, reply.json())
    assert api.get("/broadcasts/999999").status_code == 404


def test_the_whole_list_warning_in_the_reply(api, officina, people, newsletter):
    from volano.contacts.models import Contact

    template_save(
        workspace=officina, actor=None, slug="uguale", name="Uguale",
        subject="Le novità", html="<p>La gamma 2026.</p>",
    )  # fmt: skip
    everyone = segment_services.list_create(
        workspace=officina, actor=None, slug="tutti", name="Tutti"
    )
    segment_services.list_add_contacts(
        workspace=officina, contact_list=everyone, contacts=Contact.objects.for_workspace(officina)
    )
    reply = api.post("/broadcasts", {"template": "uguale", "list": "tutti"}).json()
    assert [w["code"] for w in reply["warnings"]] == ["generic_to_whole_list"]
    assert "segment" in reply["warnings"][0]["message"]
