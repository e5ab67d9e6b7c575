"""The demo's costs come through the real importer from files shaped like the platforms'
exports: a year of Google Ads days and Meta months, each campaign's cost its budget, plus the
costs entered by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from volano.campaigns.costs.demo import demo_costs_create
from volano.campaigns.models import CostEntry
from volano.campaigns.services import campaign_create

pytestmark = pytest.mark.django_db


def test_the_demo_imports_a_year_of_costs_and_some_manual_ones(officina):
    today = timezone.now().date()
    google = campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Google Ads - Ricambi originali", "utm_campaign": "ricambi-originali",
              "channel_group": "paid_search", "budget": "24000",
              "starts_on": today - dt.timedelta(days=364)},
    )  # fmt: skip
    meta = campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Meta - Agricoltura 4.0", "utm_campaign": "agricoltura-4-0",
              "channel_group": "paid_social", "budget": "12000",
              "starts_on": today - dt.timedelta(days=364)},
    )  # fmt: skip
    campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Fiera EIMA", "utm_campaign": "fiera-eima", "channel_group": "offline",
              "starts_on": today - dt.timedelta(days=60)},
    )  # fmt: skip
    demo_costs_create(workspace=officina, now=timezone.now())
    costs = CostEntry.objects.for_workspace(officina)
    google_costs = costs.filter(campaign=google)
    assert google_costs.count() == 365 and set(google_costs.values_list("platform", flat=True)) == {
        "google_ads"
    }
    spent = google_costs.aggregate(s=Sum("amount"))["s"]
    assert Decimal("20000") < spent < Decimal("28000")
    meta_costs = costs.filter(campaign=meta)
    assert meta_costs.count() == 365
    assert meta_costs.aggregate(s=Sum("amount"))["s"] == Decimal("12000.00") or abs(
        meta_costs.aggregate(s=Sum("amount"))["s"] - Decimal("12000")
    ) < Decimal("0.2")
    manual = costs.filter(platform="manual")
    assert manual.count() == 5
    assert manual.filter(campaign__utm_campaign="fiera-eima", kind="fair").exists()
