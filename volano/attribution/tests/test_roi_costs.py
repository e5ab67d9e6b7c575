"""Costs meet their revenue per channel group: the demo's costs carry platform channels
(`google_ads`, `meta_ads`, `fiere`…, and Meta exports of campaigns with no channel group of
their own), the ROI report groups revenue by the workspace's channel groups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from volano.attribution import journeys, selectors
from volano.attribution.tests.test_journeys import contact, sql_at, touch
from volano.budgets.demo import DEMO_CHANNELS
from volano.campaigns.costs.demo import demo_costs_create
from volano.campaigns.costs.selectors import cost_channel_group
from volano.campaigns.models import ChannelGroup, CostEntry, CostKind, CostPlatform
from volano.campaigns.services import campaign_create
from volano.deals.models import Deal

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)


def test_a_cost_goes_to_its_campaigns_group_else_to_its_platforms():
    group = cost_channel_group
    assert group(campaign_group="offline", channel="google_ads", platform="", kind="") == "offline"
    assert group(campaign_group="", channel="Paid Social", platform="", kind="") == "paid_social"
    assert group(campaign_group="", channel="meta_ads", platform="generic", kind="") == (
        "paid_social"
    )
    assert group(campaign_group="", channel="", platform="meta", kind="media") == "paid_social"
    assert group(campaign_group="", channel="", platform="google_ads", kind="") == "paid_search"
    assert group(campaign_group="", channel="fiere", platform="generic", kind="") == "offline"
    assert group(campaign_group="", channel="", platform="manual", kind="fair") == "offline"
    assert group(campaign_group="", channel="", platform="manual", kind="agency") == "unassigned"


def test_the_demos_costs_meet_the_revenue_of_their_channel_group(officina, giulia):
    start = NOW.date() - dt.timedelta(days=364)
    google = campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Google Ads - Ricambi originali", "utm_campaign": "ricambi-originali",
              "channel_group": "paid_search", "budget": "24000", "starts_on": start},
    )  # fmt: skip
    # a Meta campaign whose channel group nobody set: its Meta export's cost is Paid Social
    campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Meta - Agricoltura 4.0", "utm_campaign": "agricoltura-4-0",
              "budget": "12000", "starts_on": start},
    )  # fmt: skip
    campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Fiera EIMA", "utm_campaign": "fiera-eima", "channel_group": "offline",
              "starts_on": NOW.date() - dt.timedelta(days=60)},
    )  # fmt: skip
    demo_costs_create(workspace=officina, now=NOW)
    # the budgets demo's weekly spend per channel, as `simulation_store` keeps it
    for key, weekly, *_rest in DEMO_CHANNELS:
        CostEntry.objects.create(
            workspace=officina,
            campaign_key=f"channel:{key}",
            channel=key,
            platform=CostPlatform.GENERIC,
            kind=CostKind.MEDIA,
            day=dt.date(2026, 6, 3),
            amount=Decimal(str(weekly)),
        )
    # revenue from a Meta ad and from a Google ad
    for i, utm in enumerate(
        (
            {
                "utm_source": "facebook",
                "utm_medium": "paid_social",
                "utm_campaign": "agricoltura-4-0",
            },
            {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "ricambi-originali"},
        )
    ):
        person = contact(officina, f"buyer{i}@example.it", dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
        touch(officina, person, dt.datetime(2026, 5, 2, tzinfo=dt.UTC), **utm)
        sql_at(officina, person, dt.datetime(2026, 5, 3, tzinfo=dt.UTC))
        Deal.objects.create(
            workspace=officina,
            name=f"Deal {i}",
            contact=person,
            stage="won",
            amount=Decimal("20000"),
            closed_at=dt.datetime(2026, 5, 20, tzinfo=dt.UTC),
        )
    query = selectors.query_parse({"from": start.isoformat(), "to": NOW.date().isoformat()})
    rows = {r["key"]: r for r in selectors.roi(officina, "first", query, group="channel")["rows"]}
    # no row is a platform: every cost sits on a channel group the revenue can meet
    assert set(rows) - {journeys.NO_TOUCH} <= set(ChannelGroup.values)
    costs = CostEntry.objects.for_workspace(officina)
    google_spend = costs.filter(campaign=google).aggregate(s=Sum("amount"))["s"]
    weekly = dict((key, Decimal(str(spend))) for key, spend, *_r in DEMO_CHANNELS)
    assert rows["paid_search"]["cost"] == pytest.approx(float(google_spend + weekly["google_ads"]))
    meta_spend = costs.filter(platform="meta").aggregate(s=Sum("amount"))["s"]
    assert rows["paid_social"]["cost"] == pytest.approx(
        float(meta_spend + weekly["meta_ads"] + weekly["linkedin_ads"])
    )
    # revenue and cost on the same row: ROAS per channel is right
    assert rows["paid_social"]["revenue"] == 20000 and rows["paid_search"]["revenue"] == 20000
    assert rows["paid_social"]["roas"] == pytest.approx(20000 / rows["paid_social"]["cost"])
    assert rows["paid_search"]["cost_per_sql"] == pytest.approx(rows["paid_search"]["cost"])
    # the fair stand and its print, plus the weekly fairs and press: Offline/Events
    fairs = costs.filter(kind__in=("fair", "print")).aggregate(s=Sum("amount"))["s"]
    assert rows["offline"]["cost"] == pytest.approx(
        float(fairs + weekly["fiere"] + weekly["stampa"])
    )
    assert rows["display"]["cost"] == pytest.approx(weekly["display"])
    # the total spend is kept: nothing lost in the mapping
    total = costs.filter(day__gte=start, day__lte=NOW.date()).aggregate(s=Sum("amount"))["s"]
    assert sum(r["cost"] for r in rows.values()) == pytest.approx(float(total))
