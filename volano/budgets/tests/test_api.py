"""The budgets API as a marketer's integration uses it: fit the response model on the
workspace's own weekly spend and revenue, read it back, ask for a better split of the same
budget and for what-if scenarios; data that cannot support a model is refused, saying why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.budgets.simulation import DEFAULT_CHANNELS, simulate, simulation_store
from volano.campaigns.models import CostEntry, CostPlatform
from volano.core.models import Activity

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2024, 1, 1)
CHANNELS = DEFAULT_CHANNELS[:3]
RANGE = {"from": "2024-01-01", "to": "2025-12-28"}  # 104 whole weeks


@pytest.fixture
def two_years(officina):
    simulated = simulate(first_monday=MONDAY, weeks=104, channels=CHANNELS, noise=0.005)
    simulation_store(workspace=officina, simulated=simulated)
    return simulated


def _error(reply) -> dict:
    return reply.json()["error"]


def test_the_model_finds_the_channels_and_a_better_split_of_the_same_budget(
    api, officina, two_years
):
    fitted = api.post("/budgets/model", {"outcome": "revenue", **RANGE})
    assert fitted.status_code == 200, fitted.content
    body = fitted.json()
    assert body["weeks"] == 104 and body["from"] == "2024-01-01" and body["to"] == "2025-12-28"
    assert body["r2"] > 0.9
    channels = {c["key"]: c for c in body["channels"]}
    assert set(channels) == set(two_years.keys)
    for index, key in enumerate(two_years.keys):
        channel = channels[key]
        lo, hi = channel["contribution_interval"]
        assert lo <= channel["contribution"] <= hi and lo < hi
        truth = two_years.contributions[index]
        assert abs(channel["contribution"] - truth) <= 0.25 * truth, (key, channel, truth)
        assert channel["roas"] == pytest.approx(channel["contribution"] / channel["spend"])
        assert 0 < channel["mroas"] < channel["roas"]  # diminishing returns
    assert Activity.objects.for_workspace(officina).filter(verb="budgets.model_fitted").count() == 1
    assert [m["id"] for m in api.get("/budgets/models").json()["items"]] == [body["id"]]

    today = api.post("/budgets/optimise", {}).json()
    budget = sum(today["current_allocation"].values())
    assert sum(today["allocation"].values()) == pytest.approx(budget)
    assert today["expected"] >= today["current_expected"]
    lo, hi = today["expected_interval"]
    assert lo <= today["expected"] <= hi
    assert today["gain"] == pytest.approx(today["expected"] - today["current_expected"])

    bounded = api.post(
        "/budgets/optimise",
        {"budget": 3000, "bounds": {"google_ads": [500, 1000], "meta_ads": [0, 400]}},
    )
    assert bounded.status_code == 200, bounded.content
    split = bounded.json()["allocation"]
    assert sum(split.values()) == pytest.approx(3000)
    assert 500 - 1e-6 <= split["google_ads"] <= 1000 + 1e-6
    assert split["meta_ads"] <= 400 + 1e-6

    what_if = api.post("/budgets/whatif", {"changes": {"google_ads": 20, "linkedin_ads": -30}})
    assert what_if.status_code == 200, what_if.content
    scenario = what_if.json()
    now = scenario["current_allocation"]
    assert scenario["allocation"]["google_ads"] == pytest.approx(now["google_ads"] * 1.2)
    assert scenario["allocation"]["linkedin_ads"] == pytest.approx(now["linkedin_ads"] * 0.7)
    assert scenario["allocation"]["meta_ads"] == pytest.approx(now["meta_ads"])
    lo, hi = scenario["expected_interval"]
    assert lo <= scenario["expected"] <= hi

    below = api.post("/budgets/optimise", {"budget": 100, "bounds": {"google_ads": [500, 900]}})
    assert below.status_code == 400
    assert _error(below)["field"] == "budget" and "500.00" in _error(below)["message"]
    unknown = api.post("/budgets/optimise", {"bounds": {"radio": [0, 10]}})
    assert unknown.status_code == 400
    assert _error(unknown)["field"] == "bounds.radio" and "google_ads" in _error(unknown)["message"]
    upside_down = api.post("/budgets/optimise", {"bounds": {"meta_ads": [500, 100]}})
    assert _error(upside_down)["field"] == "bounds.meta_ads"
    unknown_change = api.post("/budgets/whatif", {"changes": {"radio": 10}})
    assert _error(unknown_change)["field"] == "changes.radio"


def test_leads_are_the_contacts_created(api, officina, two_years):
    reply = api.post("/budgets/model", {"outcome": "leads", **RANGE})
    assert reply.status_code == 422
    assert _error(reply)["field"] == "outcome"
    assert "lead" in _error(reply)["message"]


def test_optimising_before_any_model_says_to_fit_one(api, two_years):
    reply = api.post("/budgets/optimise", {"budget": 1000})
    assert reply.status_code == 404
    assert "/api/v1/budgets/model" in _error(reply)["message"]


def test_too_few_weeks_are_refused(api, two_years):
    reply = api.post("/budgets/model", {"from": "2024-01-01", "to": "2024-03-10"})
    assert reply.status_code == 422
    assert "10 whole weeks" in _error(reply)["message"]
    assert _error(reply)["field"] == "from"


def test_a_channel_that_never_varied_is_named(api, officina, two_years):
    CostEntry.objects.for_workspace(officina).filter(channel="meta_ads").update(
        amount=Decimal("500.00")
    )
    reply = api.post("/budgets/model", RANGE)
    assert reply.status_code == 422
    message = _error(reply)["message"]
    assert "meta_ads" in message and "same every week" in message
    # leaving it out lets the rest be fitted
    assert api.post("/budgets/model", {**RANGE, "exclude": ["meta_ads"]}).status_code == 200


def test_negative_spend_is_named_with_its_week(api, officina, two_years):
    CostEntry.objects.for_workspace(officina).filter(
        channel="google_ads", day=dt.date(2024, 3, 4)
    ).update(amount=Decimal("-40.00"))
    reply = api.post("/budgets/model", RANGE)
    assert reply.status_code == 422
    message = _error(reply)["message"]
    assert "google_ads" in message and "negative" in message and "2024-W10" in message


def test_missing_weeks_are_listed(api, officina, two_years):
    CostEntry.objects.for_workspace(officina).filter(day=dt.date(2024, 6, 3)).delete()
    reply = api.post("/budgets/model", RANGE)
    assert reply.status_code == 422
    assert "2024-W23 (2024-06-03)" in _error(reply)["message"]


def test_a_week_imported_twice_is_named(api, officina, two_years):
    CostEntry.objects.create(
        workspace=officina,
        campaign_key="brand",
        channel="google_ads",
        platform=CostPlatform.GOOGLE_ADS,
        day=dt.date(2024, 2, 7),
        amount=Decimal("120.00"),
    )
    reply = api.post("/budgets/model", RANGE)
    assert reply.status_code == 422
    message = _error(reply)["message"]
    assert "google_ads" in message and "2024-W06" in message and "twice" in message


def test_a_channel_with_no_spend_is_named(api, officina, two_years):
    CostEntry.objects.bulk_create(
        CostEntry(
            workspace=officina,
            campaign_key="radio",
            channel="radio",
            platform=CostPlatform.MANUAL,
            day=two_years.week_starts[w],
            amount=Decimal("0"),
        )
        for w in range(104)
    )
    reply = api.post("/budgets/model", RANGE)
    assert reply.status_code == 422
    assert "radio" in _error(reply)["message"] and "nothing was spent" in _error(reply)["message"]


def test_revenue_of_a_sales_channel_with_no_orders_is_refused_naming_it(api, two_years):
    reply = api.post("/budgets/model", {**RANGE, "order_channel": "negozio"})
    assert reply.status_code == 422
    assert "“negozio”" in _error(reply)["message"]
    assert _error(reply)["field"] == "order_channel"
