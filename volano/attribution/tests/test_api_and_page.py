"""The pinned API, ROI, the page and its exports, through real requests."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from volano.attribution.tests.test_journeys import (
    GOOGLE_ADS,
    NEWSLETTER,
    contact,
    day,
    sql_at,
    touch,
)
from volano.campaigns import services as campaign_services
from volano.campaigns.models import CostEntry
from volano.deals.models import Deal

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}
MODELS = ("first", "last", "linear", "time_decay", "position", "markov", "shapley")


@pytest.fixture
def journeys_story(officina, giulia):
    campaign_services.campaign_create(
        workspace=officina, actor=giulia, data={"name": "Fiera EMO", "utm_campaign": "fiera-emo"}
    )
    for i in range(3):
        person = contact(officina, f"lead{i}@example.it", day(-40))
        touch(officina, person, day(-20), **GOOGLE_ADS)
        touch(officina, person, day(-5), **NEWSLETTER)
        sql_at(officina, person, day(0))
        if i == 0:
            Deal.objects.create(
                workspace=officina,
                name="Tornio",
                contact=person,
                stage="won",
                amount=Decimal("9000"),
                closed_at=day(2),
            )
    loner = contact(officina, "solo@example.it", day(-40))
    touch(officina, loner, day(-3), **NEWSLETTER)
    sql_at(officina, loner, day(0))
    touch(officina, "anon-1", day(-10), **GOOGLE_ADS)
    CostEntry.objects.create(
        workspace=officina,
        campaign_key="fiera-emo",
        utm_campaign="fiera-emo",
        campaign_name="Fiera EMO",
        channel="paid_search",
        day=dt.date(2026, 5, 10),
        amount=Decimal("1500"),
    )


def test_each_model_answers_in_the_pinned_shape_and_sums_to_total(api, journeys_story):
    for model in MODELS:
        reply = api.get(
            "/attribution",
            model=model,
            dimension="channel",
            conversion="sql",
            lookback_days=90,
            **PERIOD,
        )
        assert reply.status_code == 200, reply.content
        body = reply.json()
        assert set(body) == {"model", "dimension", "conversion", "total", "rows"}
        assert body["model"] == model and body["total"] == 4
        assert sum(r["value"] for r in body["rows"]) == pytest.approx(4)
        assert {r["key"] for r in body["rows"]} == {"paid_search", "email"}
    first = api.get("/attribution", model="first", **PERIOD).json()
    assert {r["key"]: r["value"] for r in first["rows"]} == {"paid_search": 3, "email": 1}
    by_campaign = api.get("/attribution", model="last", dimension="campaign", **PERIOD).json()
    assert {r["key"]: r["value"] for r in by_campaign["rows"]} == {"nl-giugno": 4, "fiera-emo": 0}
    medium = api.get("/attribution", model="linear", dimension="source_medium", **PERIOD).json()
    assert {r["key"] for r in medium["rows"]} == {"google / cpc", "newsletter / email"}
    revenue = api.get("/attribution", model="shapley", conversion="revenue", **PERIOD).json()
    assert revenue["total"] == 9000
    assert {r["key"]: r["value"] for r in revenue["rows"]} == {"paid_search": 4500, "email": 4500}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "magic"}, "model"),
        ({"dimension": "city"}, "dimension"),
        ({"conversion": "clicks"}, "conversion"),
        ({"from": "01/02/2026"}, "from"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "from"),
        ({"lookback_days": "0"}, "lookback_days"),
        ({"lookback_days": "tanti"}, "lookback_days"),
        ({"model": "time_decay", "half_life": "-1"}, "half_life"),
        ({"model": "position", "first": "0.7", "last": "0.5"}, "first"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, officina, params, field):
    reply = api.get("/attribution", **params)
    assert reply.status_code == 400
    assert reply.json()["error"]["field"] == field


def test_roi_per_campaign_and_channel(api, journeys_story):
    reply = api.get("/attribution/roi", model="first", group="campaign", **PERIOD)
    assert reply.status_code == 200, reply.content
    rows = {r["key"]: r for r in reply.json()["rows"]}
    emo = rows["fiera-emo"]
    assert emo["label"] == "Fiera EMO"
    assert emo["cost"] == 1500 and emo["sqls"] == 3 and emo["revenue"] == 9000
    assert emo["cost_per_sql"] == 500
    assert emo["roas"] == 6 and emo["roi"] == 5
    assert emo["cac"] is None  # no customer
    channel = api.get("/attribution/roi", model="first", group="channel", **PERIOD).json()
    paid = {r["key"]: r for r in channel["rows"]}["paid_search"]
    assert paid["cost"] == 1500 and paid["label"] == "Paid Search"
    assert api.get("/attribution/roi", group="city").status_code == 400


def test_the_page_shows_seven_models_the_caveat_and_roi(client, giulia, journeys_story):
    client.force_login(giulia)
    page = client.get("/attribution/", PERIOD)
    assert page.status_code == 200
    html = page.content.decode()
    # the browser tab reads the page's name, not the chart scripts (they were once in the title)
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Attribution" in title and "script" not in title
    for label in ("First touch", "Last touch", "Linear", "Time decay", "Position-based"):
        assert label in html
    assert "Markov chain" in html and "Shapley value" in html
    assert "no model is perfect" in html
    # the ROI section under Markov (the default) does not wait for its first computation
    assert 'data-testid="roi-refreshing"' in html and "Computing this model" in html
    first = client.get("/attribution/", {**PERIOD, "model": "first"}).content.decode()
    assert "Fiera EMO" in first and 'data-testid="roi-refreshing"' not in first  # the ROI table
    bad = client.get("/attribution/", {"lookback_days": "-3"})
    assert bad.status_code == 200 and "lookback_days" in bad.content.decode()


def test_exports_hold_the_tables(client, giulia, journeys_story):
    client.force_login(giulia)
    reply = client.get("/attribution/", {**PERIOD, "export": "models", "format": "csv"})
    assert reply.status_code == 200
    rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Channel group" and len(rows[0]) == 8
    assert rows[-1][0] == "Total" and all(float(v) == 4 for v in rows[-1][1:])
    reply = client.get(
        "/attribution/", {**PERIOD, "export": "roi", "format": "xlsx", "model": "first"}
    )
    sheet = load_workbook(io.BytesIO(reply.content)).active
    values = list(sheet.values)
    assert values[0][:2] == ("Campaign", "Cost")
    assert ("Fiera EMO", 1500) in {(row[0], row[1]) for row in values[1:]}


def test_the_cli_prints_the_models_and_the_roi(officina, journeys_story):
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    period = ("--workspace", officina.slug, "--from", "2026-01-01", "--to", "2026-12-31")
    out = io.StringIO()
    call_command("attribution", "compare", *period, stdout=out)
    text = out.getvalue()
    table = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text else ","))
    assert len(table[0]) == 8  # the dimension, then the seven models
    # each model adds up to the SQLs
    assert [float(v.replace(",", ".")) for v in table[-1][1:]] == [4.0] * 7
    out = io.StringIO()
    call_command("attribution", "roi", *period, "--model", "last", "--format", "json", stdout=out)
    rows = {row["key"]: row for row in json.loads(out.getvalue())["rows"]}
    assert rows["fiera-emo"]["label"] == "Fiera EMO" and rows["fiera-emo"]["cost"] > 0
    with pytest.raises(CommandError, match="--lookback-days"):
        call_command("attribution", "compare", *period, "--lookback-days", "9999")


def test_the_page_cuts_the_roi_per_month_with_a_chart(client, giulia, journeys_story):
    client.force_login(giulia)
    whole = client.get("/attribution/", PERIOD).content.decode()
    assert 'id="roi-chart"' not in whole  # one period: the table alone
    page = client.get("/attribution/", {**PERIOD, "model": "first", "granularity": "month"})
    html = page.content.decode()
    assert 'id="roi-chart"' in html and 'data-bucket="2026-05"' in html
    assert (
        'data-bucket="2026-06"' in html and 'data-bucket="2026-07"' not in html
    )  # empty: left out
    chart = json.loads(
        html.split('id="roi-data" type="application/json">')[1].split("</script>")[0]
    )
    assert len(chart["keys"]) == 12  # every month of the year, empty ones at zero
    cost, revenue = (series["data"] for series in chart["series"])
    assert cost[4] == 1500 and revenue[4] == 0  # May: the fair's cost
    assert cost[5] == 0 and revenue[5] == 9000  # June: the won deal, attributed
    assert chart["keys"][4] == "May 2026"
    bad = client.get("/attribution/", {**PERIOD, "granularity": "fortnight"})
    assert bad.status_code == 200
    assert "granularity must be one of" in bad.content.decode()


def test_the_roi_form_swaps_its_section_alone(client, giulia, journeys_story):
    client.force_login(giulia)
    reply = client.get(
        "/attribution/",
        {**PERIOD, "model": "first", "granularity": "quarter"},
        headers={"HX-Request": "true", "HX-Target": "roi"},
    )
    html = reply.content.decode()
    assert html.lstrip().startswith('<section class="card" id="roi"')
    assert "models-table" not in html and "<html" not in html
    assert 'data-bucket="2026-Q2"' in html and "Q2 2026" in html
    assert "HX-Target" in reply["Vary"]
    # the Compare form's carried choices come along, out of band
    assert 'id="compare-carry" hx-swap-oob="true"' in html
    assert 'name="granularity" value="quarter"' in html.split('id="compare-carry"')[1]


def test_the_roi_export_has_a_period_column_when_bucketed(client, giulia, journeys_story):
    client.force_login(giulia)
    reply = client.get(
        "/attribution/",
        {**PERIOD, "export": "roi", "format": "csv", "model": "first", "granularity": "month"},
    )
    rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Period", "Campaign", "Cost"]
    assert any(row[:2] == ["2026-05", "Fiera EMO"] for row in rows[1:])
