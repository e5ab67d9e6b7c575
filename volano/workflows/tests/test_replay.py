"""Replay: a draft run over the last days of the real timeline, reading only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from volano.emails.models import Delivery, Mailing
from volano.events.services import event_append
from volano.workflows import services
from volano.workflows.models import Enrolment, StepRun, WorkflowMailing
from volano.workflows.replay import workflow_replay
from volano.workflows.tests.test_engine import NEW_CONTACT

FORM_TRIGGER = {"kind": "form_submitted", "form": "report"}


@pytest.fixture
def timeline(officina, giulia, templates, person):
    """Anna submitted the report form 20 days ago and once clicked a "grazie" broadcast;
    Bruno submitted it 10 days ago; Carla 100 days ago (outside 90 days); Dario another form."""
    now = timezone.now()
    people = {
        name: person(f"{name}@example.it", name.title())
        for name in ("anna", "bruno", "carla", "dario")
    }
    for name, days, form in (
        ("anna", 20, "report"),
        ("bruno", 10, "report"),
        ("carla", 100, "report"),
        ("dario", 5, "altro"),
    ):
        event_append(
            workspace=officina,
            type="form_submitted",
            contact_id=people[name].pk,
            occurred_at=now - dt.timedelta(days=days),
            properties={"form": form},
        )
    broadcast = Mailing.objects.create(
        workspace=officina,
        kind="broadcast",
        renderer="template",
        params={"template_id": templates["grazie"].pk},
    )
    Delivery.objects.create(
        workspace=officina,
        mailing=broadcast,
        contact=people["anna"],
        status="sent",
        sent_at=now - dt.timedelta(days=60),
        clicked_at=now - dt.timedelta(days=59),
    )
    workflow = services.workflow_create(
        workspace=officina, actor=giulia, definition={**NEW_CONTACT, "trigger": FORM_TRIGGER}
    )
    return workflow, people, now


def _count(result, key):
    return next(row for row in result["steps"] if row["key"] == key)["count"]


@pytest.mark.django_db
def test_replay_counts_who_would_have_entered_and_where_they_went(officina, timeline):
    workflow, _people, now = timeline
    result = workflow_replay(workspace=officina, workflow=workflow, days=90, now=now)
    assert result["entered"] == 2  # Anna and Bruno: Carla is too old, Dario another form
    assert _count(result, "grazie") == 2
    assert _count(result, "secondo") == 2  # 7 days after entering: both
    # 14 days after entering only Anna has arrived at the branch; she clicked a comparable
    # "grazie" email, so she takes "yes" and would receive the newsletter
    branch = next(row for row in result["steps"] if row["key"] == "ha-cliccato")
    assert branch["count"] == 1 and branch["outcomes"] == {"then": 1, "else": 0}
    assert branch["with_comparable_emails"] == 1
    assert _count(result, "newsletter") == 1 and _count(result, "social") == 0
    assert any("same template" in note for note in result["notes"])
    emails = {row["contact_id"]: row["emails"] for row in result["sample"]}
    assert emails[_people["anna"].pk] == ["grazie", "secondo", "newsletter"]
    assert emails[_people["bruno"].pk] == ["grazie", "secondo"]
    # seven days back, no one had submitted the form in the window
    assert workflow_replay(workspace=officina, workflow=workflow, days=7, now=now)["entered"] == 0


@pytest.mark.django_db
def test_replay_reads_only(officina, timeline, smtp):
    workflow, _people, now = timeline
    before = (Enrolment.objects.for_workspace(officina).count(), StepRun.objects.for_workspace(officina).count(), Mailing.objects.for_workspace(officina).count(),
              Delivery.objects.for_workspace(officina).count(), WorkflowMailing.objects.for_workspace(officina).count())  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        result = workflow_replay(workspace=officina, workflow=workflow, days=90, now=now)
    assert result["entered"] == 2
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "CREATE")
    ]
    assert writes == []
    after = (Enrolment.objects.for_workspace(officina).count(), StepRun.objects.for_workspace(officina).count(), Mailing.objects.for_workspace(officina).count(),
             Delivery.objects.for_workspace(officina).count(), WorkflowMailing.objects.for_workspace(officina).count())  # fmt: skip
    assert after == before
    assert smtp.inbox.messages == []


@pytest.mark.django_db
def test_replay_splits_by_the_engines_hash_and_counts_the_goal(officina, giulia, timeline):
    workflow, people, now = timeline
    definition = {
        "name": "A/B",
        "trigger": {"kind": "form_submitted"},
        "steps": [
            {
                "key": "ab",
                "kind": "split",
                "paths": [
                    [{"key": "a", "kind": "send_email", "template": "grazie"}],
                    [{"key": "b", "kind": "send_email", "template": "secondo"}],
                ],
            }
        ],
        "goal": {"field": "first_name", "op": "eq", "value": "Dario"},
    }
    result = workflow_replay(
        workspace=officina, workflow=workflow, days=90, now=now, definition=definition
    )
    assert result["entered"] == 3  # any form: Anna, Bruno, Dario
    expected = {"path-1": 0, "path-2": 0}
    for name in ("anna", "bruno", "dario"):
        path = services.split_path(people[name].pk, workflow.pk, [1, 1])
        expected[f"path-{path + 1}"] += 1
    split = next(row for row in result["steps"] if row["key"] == "ab")
    assert split["outcomes"] == expected
    assert _count(result, "a") == expected["path-1"]
    assert result["goal_reached"] == 1


@pytest.mark.django_db
def test_replay_passes_through_unknown_kinds_and_refuses_bad_days(officina, timeline):
    from volano.core.errors import ApplicationError
    from volano.workflows import replay

    workflow, _people, now = timeline
    saved = replay.SIMULATIONS.pop("notify")
    try:
        definition = {
            "name": "Avviso",
            "trigger": FORM_TRIGGER,
            "steps": [
                {"key": "avvisa", "kind": "notify", "title": "Nuovo lead"},
                {"key": "grazie", "kind": "send_email", "template": "grazie"},
            ],
        }
        result = workflow_replay(
            workspace=officina, workflow=workflow, now=now, definition=definition
        )
    finally:
        replay.SIMULATIONS["notify"] = saved
    assert _count(result, "grazie") == 2
    assert next(r for r in result["steps"] if r["key"] == "avvisa")["simulated"] is False
    assert any("notify" in note for note in result["notes"])
    with pytest.raises(ApplicationError) as error:
        workflow_replay(workspace=officina, workflow=workflow, days=0)
    assert error.value.field == "days"


@pytest.mark.django_db
def test_the_replay_route(client, officina, timeline, giulia_token):
    workflow, _people, _now = timeline
    headers = {"Authorization": f"Bearer {giulia_token}"}
    response = client.post(
        f"/api/v1/workflows/{workflow.pk}/replay",
        data={"days": 90},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["entered"] == 2 and body["goal_reached"] == 0
    assert {"key": "grazie", "count": 2}.items() <= body["steps"][0].items()
    refused = client.post(
        f"/api/v1/workflows/{workflow.pk}/replay",
        data={"days": 4000},
        content_type="application/json",
        headers=headers,
    )
    assert refused.status_code == 422
