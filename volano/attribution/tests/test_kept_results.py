"""The ROI report's credits are kept ready (computed once per set of parameters) and stay
current: a touch appended, a stage change or a deal makes the next report differ, through the
real reactions and worker. Per bucket (month, week…) each bucket equals the report of its own
days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.attribution import selectors
from volano.attribution.models import CreditCache
from volano.attribution.tests.test_journeys import (
    GOOGLE_ADS,
    NEWSLETTER,
    ORGANIC,
    contact,
    sql_at,
    touch,
)
from volano.conftest import worker_run_once
from volano.deals.models import Deal
from volano.deals.services import deal_create
from volano.events.services import events_ingest

pytestmark = pytest.mark.django_db

YEAR = {"from": "2026-01-01", "to": "2026-12-31"}
MODELS = ("first", "last", "linear", "time_decay", "position", "markov", "shapley")


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, tzinfo=dt.UTC)


def _newsletter_touch_in_march(workspace, person) -> None:
    """A newsletter touch dated 5 March, through the ingest service, its reactions run by the
    real worker."""
    result = events_ingest(
        workspace=workspace,
        items=[
            {
                "type": "page_view",
                "contact_id": person.pk,
                "occurred_at": at(3, 5).isoformat(),
                "utm": {"source": "newsletter", "medium": "email", "campaign": "nl-marzo"},
            }
        ],
    )
    assert not result.rejected, result
    worker_run_once()


@pytest.fixture
def year_of_journeys(officina):
    """SQLs and deals spread over the year, touches by several channels, some journeys that
    never convert and an anonymous visitor."""
    for i in range(12):
        person = contact(officina, f"p{i}@example.it", at(1 + i % 12, 1))
        month = 1 + i % 12
        touch(officina, person, at(month, 2), **(GOOGLE_ADS if i % 2 else ORGANIC))
        touch(officina, person, at(month, 5), **NEWSLETTER)
        if i % 3:
            touch(officina, person, at(month, 9), **GOOGLE_ADS)
        if i % 4 != 3:
            sql_at(officina, person, at(month, 12 + i % 10))
        if i % 3 == 0:
            Deal.objects.create(
                workspace=officina,
                name=f"Deal {i}",
                contact=person,
                stage="won",
                amount=Decimal(1000 * (i + 1)),
                closed_at=at(month, 20),
            )
    touch(officina, "anon-7", at(6, 3), **GOOGLE_ADS)


def _sqls(rows):
    return {r["key"]: r["sqls"] for r in rows if r["sqls"]}


def _rounded(rows):
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def _rows(officina, model, group="campaign", granularity="period", by_day=True, **period):
    query = selectors.query_parse(period or YEAR)
    report = selectors.roi(
        officina, model, query, group=group, granularity=granularity, by_day=by_day
    )
    return report["rows"]


def _kept(officina, model, group="campaign", granularity="period", **period):
    """The whole result kept in `cache.kept` (Markov's path; the others by day by default)."""
    return _rows(officina, model, group, granularity, by_day=False, **period)


@pytest.mark.parametrize("granularity", ["month", "quarter", "week"])
def test_each_bucket_equals_the_report_of_its_own_days(officina, year_of_journeys, granularity):
    for model in ("first", "markov", "time_decay"):
        bucketed = _rows(officina, model, "channel", granularity)
        assert "" not in {r["period"] for r in bucketed}  # rows per bucket
        for label, first_day, last_day in selectors.buckets(
            dt.date(2026, 1, 1), dt.date(2026, 12, 31), granularity
        ):
            own = _rows(officina, model, "channel", **{"from": str(first_day), "to": str(last_day)})
            mine = [dict(r, period="") for r in bucketed if r["period"] == label]
            assert _rounded(mine) == _rounded(own), (model, label)


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_kept_results_equal_the_computation_and_follow_what_happens(officina):
    person = contact(officina, "lead@example.it", at(3, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    before = {model: _kept(officina, model) for model in MODELS}
    assert CreditCache.objects.for_workspace(officina).count() == len(MODELS)
    assert _sqls(before["first"]) == {"fiera-emo": 1.0}
    # a kept result is what a fresh computation gives
    CreditCache.objects.for_workspace(officina).delete()
    assert {model: _kept(officina, model) for model in MODELS} == before
    # a touch appended before the Google ad, through the ingest service: its fact makes the
    # next report differ once the worker has run the reactions
    _newsletter_touch_in_march(officina, person)
    assert _sqls(_kept(officina, "first")) == {"nl-marzo": 1.0}
    linear = _sqls(_kept(officina, "linear"))
    assert linear == {"nl-marzo": 0.5, "fiera-emo": 0.5}
    # a won deal through the deals service: revenue appears at once (raised in its transaction)
    year_back = {**YEAR, "lookback_days": "365"}  # the deal is won today
    assert all(r["revenue"] == 0 for r in _kept(officina, "first", **year_back))
    deal = deal_create(
        workspace=officina,
        actor=None,
        data={"name": "Tornio", "contact_id": person.pk, "amount": "7000", "stage": "won"},
    )
    assert deal.stage == "won"
    revenue = {
        r["key"]: r["revenue"] for r in _kept(officina, "first", **year_back) if r["revenue"]
    }
    assert revenue == {"nl-marzo": 7000.0}


def _age_kept(workspace) -> None:
    """As if the kept results had been computed three minutes ago."""
    from django.db.models import F

    CreditCache.objects.for_workspace(workspace).update(
        computed_at=F("computed_at") - dt.timedelta(minutes=3)
    )


def _refreshes_queued() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path="volano.attribution.tasks.kept_report_refresh_task", status="READY"
    ).count()


@pytest.mark.django_db(transaction=True)  # the refresh is enqueued after commit; the worker runs it
def test_markov_roi_never_makes_the_page_or_the_api_wait(officina, client, giulia, api):
    """Markov is computed over the whole period at once (tens of seconds at 1M contacts): the
    page answers at once and fills in when the background computation lands; after a change,
    the page and the API give the kept figures with when they are from, one recomputation
    runs, and then the figures follow the change."""
    person = contact(officina, "lead@example.it", at(3, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    client.force_login(giulia)
    section = {"HX-Request": "true", "HX-Target": "roi"}
    page = {**YEAR, "model": "markov"}
    html = client.get("/attribution/", page, headers=section).content.decode()
    assert 'data-testid="roi-refreshing"' in html and 'hx-trigger="every 3s"' in html
    assert "Computing this model" in html and 'data-testid="roi-table"' not in html
    client.get("/attribution/", page, headers=section)  # a second reader, a poll
    assert _refreshes_queued() == 1
    worker_run_once()
    html = client.get("/attribution/", page, headers=section).content.decode()
    assert 'data-testid="roi-refreshing"' not in html and "fiera-emo" in html
    query = {**YEAR, "model": "markov"}
    reply = api.get("/attribution/roi", **query).json()
    assert reply["stale"] is False and reply["as_of"]
    assert _sqls(reply["rows"]) == {"fiera-emo": 1.0}
    # a newsletter touch before the ad: the kept figures come back at once, marked stale
    _newsletter_touch_in_march(officina, person)  # the reactions raise the generation
    stale = api.get("/attribution/roi", **query).json()
    assert stale["stale"] is True and stale["as_of"] == reply["as_of"]
    assert _sqls(stale["rows"]) == {"fiera-emo": 1.0}
    # computed under two minutes ago: given as it is, no recomputation yet (while touches
    # keep arriving, a report looked at is computed at most every two minutes)
    assert stale["refreshing"] is False and _refreshes_queued() == 0
    html = client.get("/attribution/", page, headers=section).content.decode()
    assert "at most every two minutes" in html and 'hx-trigger="every 30s"' in html
    _age_kept(officina)
    stale = api.get("/attribution/roi", **query).json()
    assert stale["stale"] is True and stale["refreshing"] is True
    html = client.get("/attribution/", page, headers=section).content.decode()
    assert "the update is running" in html and "fiera-emo" in html
    assert 'hx-trigger="every 3s"' in html
    assert _refreshes_queued() == 1  # one recomputation for the API and the page
    worker_run_once()
    fresh = api.get("/attribution/roi", **query).json()
    assert fresh["stale"] is False and fresh["as_of"] > reply["as_of"]
    both = _sqls(fresh["rows"])
    assert set(both) == {"fiera-emo", "nl-marzo"} and sum(both.values()) == pytest.approx(1.0)
    assert fresh["rows"] == selectors.roi(officina, "markov", selectors.query_parse(YEAR))["rows"]


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_the_nightly_task_keeps_the_pages_default_roi_ready(officina, client, giulia):
    """The sweeper's nightly task, through the worker: the page's first view of the day (its
    defaults: the last 365 days, the ROI under Markov) is not computing."""
    from django.utils import timezone

    from volano.attribution.tasks import page_warm_nightly_task

    month_ago = timezone.now() - dt.timedelta(days=30)
    person = contact(officina, "lead@example.it", month_ago - dt.timedelta(days=5))
    touch(officina, person, month_ago, **GOOGLE_ADS)
    sql_at(officina, person, month_ago + dt.timedelta(days=2))
    worker_run_once()
    page_warm_nightly_task.enqueue(officina.pk)
    worker_run_once()
    # the models side by side, and the ROI per campaign and per channel at four granularities
    assert CreditCache.objects.for_workspace(officina).count() == 1 + 2 * 4
    client.force_login(giulia)
    html = client.get("/attribution/").content.decode()
    assert 'data-testid="models-refreshing"' not in html and 'data-testid="models-table"' in html
    section = {"HX-Request": "true", "HX-Target": "roi"}
    html = client.get("/attribution/", headers=section).content.decode()
    assert 'data-testid="roi-refreshing"' not in html and "fiera-emo" in html
    html = client.get("/attribution/", {"group": "channel"}, headers=section).content.decode()
    assert 'data-testid="roi-refreshing"' not in html and "Paid Search" in html
    html = client.get("/attribution/", {"granularity": "week"}, headers=section).content.decode()
    assert 'data-testid="roi-refreshing"' not in html and 'data-testid="roi-bucket"' in html
    assert _refreshes_queued() == 0


@pytest.mark.django_db(transaction=True)  # the refresh is enqueued after commit; the worker runs it
def test_the_seven_models_never_make_the_page_wait(officina, client, giulia):
    """The models side by side are kept too: the page's first view says they are being
    computed and polls; the worker computes them once; a change shows the kept figures with
    their time until the recomputation lands. The export waits for current figures."""
    person = contact(officina, "lead@example.it", at(3, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    client.force_login(giulia)
    section = {"HX-Request": "true", "HX-Target": "models"}
    html = client.get("/attribution/", YEAR).content.decode()
    assert 'data-testid="models-refreshing"' in html and 'hx-target="#models"' in html
    assert 'data-testid="models-table"' not in html and "<html" in html
    worker_run_once()
    html = client.get("/attribution/", YEAR, headers=section).content.decode()
    assert html.lstrip().startswith('<section class="card" id="models"') and "<html" not in html
    assert 'data-testid="models-refreshing"' not in html and 'data-testid="models-table"' in html
    assert "Paid Search" in html
    _newsletter_touch_in_march(officina, person)  # the reactions raise the generation
    _age_kept(officina)
    html = client.get("/attribution/", YEAR, headers=section).content.decode()
    assert "the update is running" in html and "Email" not in html.split("models-table")[1]
    # the export does not take the stale figures: it computes them (and keeps them)
    csv_text = client.get("/attribution/", {**YEAR, "export": "models"}).content.decode()
    assert "Email" in csv_text
    html = client.get("/attribution/", YEAR, headers=section).content.decode()
    assert 'data-testid="models-refreshing"' not in html and "Email" in html
