"""Journeys read from real events, stage changes, deals and orders: ordered touches inside the
lookback window, anonymous visitors who became contacts, journeys that never converted, the
conversions with no touch, and every dimension's key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.attribution import journeys
from volano.attribution.engine import attribute
from volano.contacts.models import Contact
from volano.deals.models import Deal
from volano.events.identity import visitor_identify
from volano.events.models import Event
from volano.lifecycle.models import StageChange
from volano.orders.models import Order

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def touch(workspace, who, when, **utm):
    fields = {"type": "page_view", "channel": "web", "occurred_at": when}
    if isinstance(who, str):
        fields["anonymous_id"] = who
    else:
        fields["contact"] = who
    fields.update(utm)
    return Event.objects.create(workspace=workspace, **fields)


GOOGLE_ADS = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "Fiera-EMO"}
NEWSLETTER = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "nl-giugno"}
ORGANIC = {"utm_source": "google", "utm_medium": "organic"}


def contact(workspace, email, created):
    return Contact.objects.create(workspace=workspace, email=email, created_at=created)


def sql_at(workspace, person, when):
    StageChange.objects.create(
        workspace=workspace,
        contact=person,
        from_stage="mql",
        to_stage="sql",
        changed_at=when,
        source="rule",
    )


def as_dict(paths):
    result = {}
    for i in range(len(paths.lengths)):
        keys = tuple(paths.keys[t] for t in paths.touches[paths.offsets[i] : paths.offsets[i + 1]])
        converted, nulls = result.get(keys, (0, 0))
        result[keys] = (converted + paths.converted[i], nulls + paths.nulls[i])
    return result


@pytest.fixture
def story(officina, ferramenta):
    anna = contact(officina, "anna@example.it", day(-30))
    # an anonymous visit by Google Ads, then identified: it becomes Anna's first touch
    touch(officina, "anon-anna", day(-20), **GOOGLE_ADS)
    visitor_identify(workspace=officina, anonymous_id="anon-anna", contact=anna)
    touch(officina, anna, day(-10), **NEWSLETTER)
    touch(officina, anna, day(-3), **NEWSLETTER)
    touch(officina, anna, day(2), **ORGANIC)  # after her conversion: not part of it
    sql_at(officina, anna, day(0))
    # a touch outside the 90-day lookback does not count
    bruno = contact(officina, "bruno@example.it", day(-200))
    touch(officina, bruno, day(-120), **GOOGLE_ADS)
    touch(officina, bruno, day(-1), **ORGANIC)
    sql_at(officina, bruno, day(0))
    # converted with no touch at all
    carla = contact(officina, "carla@example.it", day(-5))
    sql_at(officina, carla, day(1))
    # never converted: a contact and an anonymous visitor never identified
    dario = contact(officina, "dario@example.it", day(-50))
    touch(officina, dario, day(-40), **GOOGLE_ADS)
    touch(officina, dario, day(-39), **ORGANIC)
    touch(officina, "anon-x", day(-15), **GOOGLE_ADS)
    # another workspace's journey is never read
    other = contact(ferramenta, "zeno@example.it", day(-10))
    touch(ferramenta, other, day(-5), **GOOGLE_ADS)
    sql_at(ferramenta, other, day(0))
    return {"anna": anna, "bruno": bruno}


def test_paths_by_channel(officina, story):
    paths = journeys.paths(
        officina, dimension="channel", conversion="sql", start=START, end=END, lookback_days=90
    )
    assert as_dict(paths) == {
        ("paid_search", "email", "email"): (1, 0),
        ("organic_search",): (1, 0),
        ("(no touch)",): (1, 0),
        ("paid_search", "organic_search"): (0, 1),
        ("paid_search",): (0, 1),
    }
    assert paths.total == 3
    # ages in days before the conversion, in touch order
    anna = next(
        i for i in range(len(paths.lengths)) if paths.lengths[i] == 3 and paths.converted[i]
    )
    assert list(paths.ages[paths.offsets[anna] : paths.offsets[anna + 1]]) == [20, 10, 3]


def test_a_shorter_lookback_drops_older_touches(officina, story):
    paths = journeys.paths(
        officina, dimension="channel", conversion="sql", start=START, end=END, lookback_days=7
    )
    assert as_dict(paths)[("email",)] == (1, 0)


def test_every_dimension_has_its_keys(officina, story):
    def keys(dimension):
        paths = journeys.paths(
            officina, dimension=dimension, conversion="sql", start=START, end=END
        )
        return set(paths.keys)

    assert keys("source_medium") == {
        "google / cpc",
        "newsletter / email",
        "google / organic",
        "(no touch)",
    }
    assert keys("campaign") == {"fiera-emo", "nl-giugno", "(not set)", "(no touch)"}
    assert keys("content") == {"(not set)", "(no touch)"}


def test_models_on_real_paths_sum_to_the_conversions(officina, story):
    paths = journeys.paths(officina, dimension="channel", conversion="sql", start=START, end=END)
    for model in ("first", "last", "linear", "time_decay", "position", "markov", "shapley"):
        assert attribute(paths, model).sum() == pytest.approx(3)
    first = dict(zip(paths.keys, attribute(paths, "first"), strict=True))
    assert first["paid_search"] == 1 and first["organic_search"] == 1


def test_revenue_counts_won_deals_and_orders_by_value(officina, story):
    anna, bruno = story["anna"], story["bruno"]
    Deal.objects.create(
        workspace=officina,
        name="Tornio",
        contact=anna,
        stage="won",
        amount=Decimal("12000"),
        closed_at=day(1),
    )
    Deal.objects.create(
        workspace=officina, name="Perso", contact=bruno, stage="lost", amount=Decimal("999")
    )
    Order.objects.create(
        workspace=officina, number="A-1", contact=bruno, ordered_at=day(3), total=Decimal("800")
    )
    paths = journeys.paths(
        officina, dimension="channel", conversion="revenue", start=START, end=END
    )
    assert paths.total == pytest.approx(12800)
    last = dict(zip(paths.keys, attribute(paths, "last"), strict=True))
    # Anna's last touch before the deal (day 1) is the newsletter; Bruno's before his order
    # is organic search; the lost deal is worth nothing
    assert last["email"] == pytest.approx(12000)
    assert last["organic_search"] == pytest.approx(800)


def test_lead_conversions_are_contacts_created(officina, story):
    paths = journeys.paths(officina, dimension="channel", conversion="lead", start=START, end=END)
    # Anna, Carla and Dario were created in 2026 (Bruno in 2025), each before any touch of
    # theirs; Bruno's 2026 touches and the unknown visitor's are journeys that never converted
    assert as_dict(paths) == {
        ("(no touch)",): (3, 0),
        ("paid_search", "organic_search"): (0, 1),
        ("paid_search",): (0, 1),
    }


def test_channel_groups_follow_the_workspace_rules(officina, story):
    from volano.campaigns.models import ChannelRule

    ChannelRule.objects.create(
        workspace=officina,
        position=0,
        channel_group="referral",
        source_op="equals",
        source_value="Newsletter",
    )
    paths = journeys.paths(officina, dimension="channel", conversion="sql", start=START, end=END)
    # with rules of its own, the workspace's are the only ones: what they miss is Unassigned
    assert as_dict(paths)[("unassigned", "referral", "referral")] == (1, 0)
    assert set(paths.keys) == {"referral", "unassigned", "(no touch)"}
