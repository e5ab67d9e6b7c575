"""The ROI credits kept per conversion day (`volano.attribution.daily`): under every additive
model the sum of the days is the computation over the period, and after a change (through the
real services, reactions and worker) the kept days give what a fresh computation gives, having
recomputed only the days the change could move."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from volano.attribution import cache, daily, selectors
from volano.attribution.models import CreditCache, CreditDay, CreditDayMark
from volano.attribution.tests.test_journeys import GOOGLE_ADS, contact, sql_at, touch
from volano.attribution.tests.test_kept_results import (  # noqa: F401
    YEAR,
    _newsletter_touch_in_march,
    at,
    year_of_journeys,
)
from volano.conftest import worker_run_once
from volano.contacts.merge import contact_merge
from volano.deals.services import deal_create
from volano.events.models import Event
from volano.events.services import events_ingest
from volano.lifecycle.services import stage_set

pytestmark = pytest.mark.django_db


def _rounded(rows):
    return [{k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def _roi(workspace, model, group, granularity="period", *, by_day, **period):
    query = selectors.query_parse({**YEAR, **period})
    report = selectors.roi(
        workspace, model, query, group=group, granularity=granularity, by_day=by_day
    )
    return _rounded(report["rows"])


def _fresh(workspace, model="position", group="campaign", **period):
    """The credits computed over the period now, nothing kept read."""
    CreditCache.objects.for_workspace(workspace).delete()
    return _roi(workspace, model, group, by_day=False, **period)


@pytest.mark.parametrize("model", daily.ADDITIVE_MODELS)
@pytest.mark.parametrize("people", ["few", "many"])
def test_the_days_add_up_to_the_period(officina, year_of_journeys, model, people, monkeypatch):  # noqa: F811
    if people == "many":  # every touch of the period read, not only the converting people's
        monkeypatch.setattr(daily, "MAX_PEOPLE", 0)
    for group in ("campaign", "channel"):
        for granularity in ("period", "month"):
            whole = _roi(officina, model, group, granularity, by_day=False)
            assert whole  # the journeys are credited
            assert _roi(officina, model, group, granularity, by_day=True) == whole, (
                group,
                granularity,
            )
            # the second read sums the kept days
            assert _roi(officina, model, group, granularity, by_day=True) == whole
    # a day a year: 365 kept per dimension
    assert CreditDay.objects.for_workspace(officina).count() == 2 * 365


def test_markov_is_not_kept_by_day(officina, year_of_journeys):  # noqa: F811
    assert _roi(officina, "markov", "channel", by_day=True) == _roi(
        officina, "markov", "channel", by_day=False
    )
    assert not CreditDay.objects.for_workspace(officina).exists()


def _computed(workspace):
    return dict(CreditDay.objects.for_workspace(workspace).values_list("day", "computed_at"))


def _recomputed(workspace, before):
    return sorted(day for day, moment in _computed(workspace).items() if moment != before.get(day))


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_kept_days_follow_what_happens_and_only_their_days_are_recomputed(officina):
    person = contact(officina, "lead@example.it", at(3, 1))
    other = contact(officina, "altro@example.it", at(2, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    touch(officina, other, at(2, 3), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    sql_at(officina, other, at(2, 10))
    # history received long ago (a touch received within `daily.RECENT` counts as new)
    Event.objects.for_workspace(officina).update(received_at=at(1, 1))
    first = _roi(officina, "position", "campaign", by_day=True)
    assert first == _fresh(officina)
    kept = _computed(officina)
    assert len(kept) == 365

    # a touch of today, by a contact whose conversions are all before it: no day moves
    marks = CreditDayMark.objects.for_workspace(officina).count()
    live = events_ingest(
        workspace=officina,
        items=[
            {
                "type": "page_view",
                "contact_id": other.pk,
                "occurred_at": timezone.now().isoformat(),
                "utm": {"source": "google"},
            }
        ],
    )
    assert not live.rejected, live
    worker_run_once()
    assert CreditDayMark.objects.for_workspace(officina).count() == marks
    assert _roi(officina, "position", "campaign", by_day=True) == first
    assert _recomputed(officina, kept) == []

    # a touch dated in March, before the Google ad: only the days of the SQL after it move
    _newsletter_touch_in_march(officina, person)
    after_touch = _roi(officina, "position", "campaign", by_day=True)
    assert after_touch != first
    assert after_touch == _fresh(officina)
    assert {r["key"]: r["sqls"] for r in after_touch if r["sqls"]} == {
        "fiera-emo": 1.5,
        "nl-marzo": 0.5,
    }
    assert _recomputed(officina, kept) == [dt.date(2026, 3, 20)]

    # a stage change today, through the lifecycle service
    kept = _computed(officina)
    assert stage_set(workspace=officina, actor=None, contact=person, stage="customer")
    worker_run_once()
    assert _roi(officina, "position", "campaign", by_day=True) == _fresh(officina)
    assert dt.date(2026, 2, 10) not in _recomputed(officina, kept)

    # a won deal through the deals service (marked in its own transaction)
    year_back = {"lookback_days": "365"}
    before_deal = _roi(officina, "position", "campaign", by_day=True, **year_back)
    deal_create(
        workspace=officina,
        actor=None,
        data={"name": "Tornio", "contact_id": other.pk, "amount": "7000", "stage": "won"},
    )
    with_deal = _roi(officina, "position", "campaign", by_day=True, **year_back)
    assert with_deal != before_deal
    assert with_deal == _fresh(officina, **year_back)
    assert sum(r["revenue"] for r in with_deal) == 7000.0

    # a merge: the duplicate's touches and conversions are the survivor's; every day moves
    contact_merge(workspace=officina, actor=None, survivor=person, duplicate=other)
    worker_run_once()
    assert _roi(officina, "position", "campaign", by_day=True) == _fresh(officina)
    assert _roi(officina, "position", "campaign", by_day=True, **year_back) == _fresh(
        officina, **year_back
    )


def test_a_day_computed_while_a_change_commits_is_stale(officina):
    """A day is stamped with the generation read before its inputs: a mark written for a
    change that raced the computation (its generation above the day's) makes it stale."""
    person = contact(officina, "lead@example.it", at(3, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    _roi(officina, "position", "campaign", by_day=True)
    CreditDay.objects.for_workspace(officina).filter(day=dt.date(2026, 3, 20)).update(
        payload={}
    )  # as if raced
    assert _roi(officina, "position", "campaign", by_day=True) != _fresh(officina)
    daily.mark(officina.pk, [(dt.date(2026, 3, 20), dt.date(2026, 3, 20))])
    cache.generation_raise(officina.pk)  # what the reactions do after marking
    assert _roi(officina, "position", "campaign", by_day=True) == _fresh(officina)
    # old marks are applied and dropped
    CreditDayMark.objects.for_workspace(officina).update(created_at=at(1, 1))
    assert daily.marks_prune(officina) == 1
    assert not CreditDayMark.objects.for_workspace(officina).exists()
    assert _roi(officina, "position", "campaign", by_day=True) == _fresh(officina)


def test_the_touches_of_a_few_contacts_are_theirs_among_all(officina):
    """`touches_load(contact_ids=…)` (one statement through the contact index) reads what the
    whole read holds for those contacts, a touch at the very moment of a creation included."""
    from volano.attribution import journeys

    person = contact(officina, "lead@example.it", at(3, 1))
    other = contact(officina, "altro@example.it", at(3, 2))
    touch(officina, person, at(3, 1), **GOOGLE_ADS)  # the form that created it
    touch(officina, person, at(3, 4), utm_source="newsletter", utm_medium="email")
    touch(officina, other, at(3, 3), **GOOGLE_ADS)
    touch(officina, "anon-1", at(3, 3), **GOOGLE_ADS)
    start, end = at(2, 1), at(4, 1)
    every = journeys.touches_load(officina, start, end)
    mine = journeys.touches_load(officina, start, end, contact_ids=[person.pk])
    keep = every.person == person.pk
    assert list(mine.at) == list(every.at[keep])
    assert [mine.combos[i] for i in mine.combo] == [every.combos[i] for i in every.combo[keep]]
    for dimension in ("channel", "campaign"):
        keys, index = mine.keys_of(dimension)
        all_keys, all_index = every.keys_of(dimension)
        assert [keys[i] for i in index[mine.combo]] == [
            all_keys[i] for i in all_index[every.combo[keep]]
        ]


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_days_computed_from_touches_read_before_a_change_are_stale(officina, monkeypatch):
    """A caller's `SharedTouches` read before a change: the days computed from them after it
    are stamped with the generation read before the touches, so the change's mark makes them
    stale and the next read recomputes them."""
    monkeypatch.setattr(daily, "MAX_PEOPLE", 0)  # the caller's touches, not a fresh few
    person = contact(officina, "lead@example.it", at(3, 1))
    touch(officina, person, at(3, 10), **GOOGLE_ADS)
    sql_at(officina, person, at(3, 20))
    Event.objects.for_workspace(officina).update(received_at=at(1, 1))
    query = selectors.query_parse(YEAR)
    shared = daily.SharedTouches(
        officina, query.start_at - dt.timedelta(days=query.lookback_days), query.end_at
    )
    shared()  # read now
    _newsletter_touch_in_march(officina, person)
    # computed from the touches read before the change: without the new touch
    old = selectors.roi(officina, "position", query, group="campaign", touches=shared, by_day=True)
    assert "nl-marzo" not in {r["key"] for r in old["rows"]}
    # but not kept as current: the next read recomputes the day and sees it
    assert _roi(officina, "position", "campaign", by_day=True) == _fresh(officina)
    assert "nl-marzo" in {r["key"] for r in _fresh(officina)}
