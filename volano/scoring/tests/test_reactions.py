"""Scores follow what happens, through the real worker: a tracked page view, an order through the
API and a deal moved on the board each change a score once committed (each used to be lost)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts.services import contact_create
from volano.deals import services as deal_services
from volano.events.identity import visitor_identify
from volano.events.services import SETTLE
from volano.events.tracking import Hit, hit_record
from volano.jobs.sweeper import Sweeper
from volano.scoring.models import Score
from volano.scoring.services import score_model_save

pytestmark = pytest.mark.django_db(transaction=True)

ENGAGEMENT = {
    "slug": "interesse",
    "name": "Interesse",
    "rules": [
        {
            "kind": "engagement",
            "when": {"event": "page_view", "where": {"url": {"contains": "/prezzi"}}},
            "points": 10,
        },
        {"kind": "engagement", "when": {"event": "order"}, "points": 40},
        {"kind": "engagement", "when": {"event": "deal_changed"}, "points": 5},
    ],
}


@pytest.fixture
def model(officina, giulia):
    return score_model_save(workspace=officina, actor=giulia, data=ENGAGEMENT)


@pytest.fixture
def mario(officina, giulia):
    return contact_create(
        workspace=officina, actor=giulia, data={"email": "mario.rossi@example.it"}
    )


def points(model, contact) -> float:
    rows = Score.objects.for_workspace(model.workspace_id).filter(model=model, contact=contact)
    return rows.values_list("points", flat=True).first() or 0.0


def test_a_tracked_page_view_is_rescored(officina, model, mario):
    visitor_identify(workspace=officina, anonymous_id="v-mario-0001", contact=mario)
    sweeper = Sweeper()
    sweeper.sweep()  # the first pass finds where the event store ends
    worker_run_once()
    assert points(model, mario) == 0
    hit = Hit(
        key=officina.tracking_key,
        type="page_view",
        anonymous_id="v-mario-0001",
        url="https://officinarossi.it/prezzi",
    )
    hit_record(workspace_id=officina.pk, hit=hit)
    sweeper.sweep(timezone.now() + SETTLE)  # announces the page views stored since the last pass
    worker_run_once()
    assert points(model, mario) == pytest.approx(10, abs=0.01)


def test_an_order_through_the_api_is_rescored(officina, model, mario, api):
    worker_run_once()
    response = api.post(
        "/orders",
        {
            "number": "WEB-1001",
            "ordered_at": "2026-03-02T11:30:00+01:00",
            "contact_id": mario.pk,
            "total": "120.00",
        },
    )
    assert response.status_code == 201, response.content
    worker_run_once()
    mario.refresh_from_db()
    assert mario.lifecycle_stage == "customer"  # in the order's own transaction
    assert points(model, mario) == pytest.approx(40, abs=0.01)


def test_a_deal_moved_on_the_board_is_rescored(officina, giulia, model, mario):
    deal = deal_services.deal_create(
        workspace=officina, actor=giulia, data={"name": "Tornio T200", "contact_id": mario.pk}
    )
    worker_run_once()
    assert points(model, mario) == pytest.approx(5, abs=0.01)
    deal_services.deal_move(workspace=officina, actor=giulia, deal=deal, stage="won")
    worker_run_once()
    mario.refresh_from_db()
    assert mario.lifecycle_stage == "customer"
    assert points(model, mario) == pytest.approx(10, abs=0.01)
