"""The demo's response model finds the truth it was built on: the web shop's weekly revenue is
the simulated structure (base, trend, season, six adstocked and saturated channels, noise), even
beside B2B orders and won deals that ignore the spend, and the fit recovers each channel's
contribution within tolerance with believable ROAS."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import numpy as np
import pytest

from volano.budgets.demo import ORDER_CHANNEL, WEEKS, demo_budgets_create
from volano.budgets.models import ResponseModel
from volano.budgets.selectors import response_model_summary
from volano.contacts.models import Contact
from volano.deals.models import Deal
from volano.orders.models import Order

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def generator_like(officina):
    """What the demo generator leaves before the budgets: a year of lumpy B2B orders (up to
    €90k each) and won deals, and shop orders of a few thousand euro a week."""
    rng = random.Random(5)
    buyer = Contact.objects.create(workspace=officina, email="cliente@esempio.it")
    start = NOW - dt.timedelta(days=365)
    orders = []
    for i in range(400):
        at = start + dt.timedelta(hours=rng.randrange(365 * 24))
        b2b = rng.random() < 0.6
        total = Decimal(rng.randrange(2_000, 90_000) if b2b else rng.randrange(30, 2_500))
        orders.append(
            Order(workspace=officina, number=f"G-{i}", ordered_at=at, total=total,
                  channel="sales" if b2b else ORDER_CHANNEL, contact=buyer)
        )  # fmt: skip
    Order.objects.bulk_create(orders)
    Deal.objects.bulk_create(
        Deal(workspace=officina, name=f"D{i}", stage="won", amount=Decimal(150_000),
             closed_at=start + dt.timedelta(days=30 * i), contact=buyer)
        for i in range(6)
    )  # fmt: skip


def test_the_demo_fit_recovers_each_channels_contribution(officina, generator_like):
    made = demo_budgets_create(workspace=officina, now=NOW, bootstrap=20)
    model = ResponseModel.objects.for_workspace(officina).get(pk=made["model"])
    assert model.fit["order_channel"] == ORDER_CHANNEL and model.weeks == WEEKS
    # the shop's weekly revenue is the simulation: the generator's shop orders plus one a week
    assert model.fit["series"]["outcome"] == pytest.approx(made["revenue"], abs=0.01)
    summary = {c["key"]: c for c in response_model_summary(model)["channels"]}
    truth = made["truth"]
    got = np.array([summary[k]["contribution"] for k in truth])
    want = np.array(list(truth.values()))
    assert got.sum() / want.sum() == pytest.approx(1.0, abs=0.10), got / want
    for key, true in truth.items():
        ratio = summary[key]["contribution"] / true
        big = true > 0.1 * want.sum()
        assert (0.7 < ratio < 1.3) if big else (0.4 < ratio < 2.0), (key, ratio)
        true_roas = true / made["spend"][key]
        assert 0.5 < true_roas < 8, (key, true_roas)
        assert 0.3 < summary[key]["roas"] < 8, (key, summary[key]["roas"])
    assert model.r2 > 0.9
