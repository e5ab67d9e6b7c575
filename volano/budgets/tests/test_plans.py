"""Budget plans through the API: a plan from the B2B template is 80/15/5 and rebalances to
70/20/10; actuals come from imported and manual costs and logged hours; the forecast follows the
run rate and what is committed; a review keeps a version whose changes read back; last year's
plan seeds this year's with its actuals; shared lines show the pipeline and revenue of their
campaign; CSV and XLSX export; bad input is refused naming what and where."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from volano.budgets import plan_selectors, plan_services
from volano.campaigns import services as campaign_services
from volano.campaigns.costs.services import cost_create
from volano.campaigns.touches import first_touches_refresh
from volano.contacts import services as contact_services
from volano.deals import services as deal_services
from volano.events.services import event_append

pytestmark = pytest.mark.django_db

YEAR = 2026
TODAY = dt.date(2026, 5, 15)  # mid Q2


def _template_plan(api, **extra):
    body = {"name": "Piano 2026", "year": YEAR, "template": "b2b_manufacturer", **extra}
    response = api.post("/budgets/plans", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_template_plan_is_80_15_5_warns_and_rebalances_to_70_20_10(api):
    plan = _template_plan(api)
    assert plan["total"] == "84000.00"
    assert {k: round(v, 2) for k, v in plan["mix"]["shares"].items()} == {
        "proven": 0.8,
        "new": 0.15,
        "experiment": 0.05,
    }
    assert plan["mix"]["warning"] is True
    assert "80/15/5" in plan["mix"]["message"]
    assert sum(Decimal(q) for q in plan["quarters"]) == Decimal("84000")
    people = next(line for line in plan["lines"] if line["role"] == "Responsabile marketing")
    assert Decimal(people["hours"]) * Decimal(people["hourly_rate"]) == Decimal(people["total"])

    rebalanced = api.post(f"/budgets/plans/{plan['id']}/rebalance", {}).json()
    assert {k: round(v, 4) for k, v in rebalanced["mix"]["shares"].items()} == {
        "proven": 0.7,
        "new": 0.2,
        "experiment": 0.1,
    }
    assert rebalanced["mix"]["warning"] is False
    assert rebalanced["total"] == "84000.00"  # the money moved, the total did not
    for line in rebalanced["lines"]:
        assert sum(Decimal(m) for m in line["months"]) == Decimal(line["total"])
    # a template scaled to the budget given
    small = _template_plan(api, name="Piano piccolo", budget="42.000,00")
    assert small["total"] == "42000.00"


def test_planned_actual_forecast_from_costs_and_logged_hours(api, officina, giulia):
    campaign = campaign_services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Google Ads Ricambi",
            "utm_campaign": "ricambi",
            "channel_group": "paid_search",
        },
    )
    plan = api.post(
        "/budgets/plans",
        {
            "name": "Piano",
            "year": YEAR,
            "lines": [
                {
                    "name": "Google Ads",
                    "kind": "media",
                    "item": "search",
                    "campaign": campaign.pk,
                    "total": 12000,
                },
                {
                    "name": "Responsabile marketing",
                    "kind": "people",
                    "role": "Marketing",
                    "hours": 120,
                    "hourly_rate": 40,
                },
                {
                    "name": "Licenza CRM",
                    "kind": "tools",
                    "item": "licence",
                    "total": 1200,
                    "committed": 1200,
                },
                {"name": "Riserva", "kind": "reserve", "total": 1000},
            ],
        },
    ).json()
    ids = {line["name"]: line["id"] for line in plan["lines"]}
    # Q2 so far: 1,000 a month of ads in April and half of May
    cost_create(
        workspace=officina,
        actor=giulia,
        data={"campaign": campaign, "day": dt.date(2026, 4, 10), "amount": Decimal("1000")},
    )
    cost_create(
        workspace=officina,
        actor=giulia,
        data={"campaign": campaign, "day": dt.date(2026, 5, 10), "amount": Decimal("500")},
    )
    cost_create(
        workspace=officina,
        actor=giulia,
        data={"kind": "tools", "day": dt.date(2026, 4, 2), "amount": Decimal("100")},
    )
    cost_create(
        workspace=officina,
        actor=giulia,
        data={"kind": "other", "day": dt.date(2026, 5, 2), "amount": Decimal("77")},
    )
    response = api.post(
        "/budgets/time-logs",
        {
            "person": "Giulia",
            "day": "2026-04-20",
            "hours": 8,
            "activity": "campagna",
            "line": ids["Responsabile marketing"],
        },
    )
    assert response.status_code == 201, response.content

    figures = plan_selectors.plan_figures(
        plan_selectors.plan_get(workspace=officina, plan_id=plan["id"]), period="q2", today=TODAY
    )
    rows = {r["name"]: r for r in figures["rows"]}
    assert rows["Google Ads"]["planned"] == Decimal("3000.00")
    assert rows["Google Ads"]["actual"] == Decimal("1500")
    # 1,500 over the 45 days of Q2 so far, for the 46 days left: about 3,033
    assert Decimal("3000") < rows["Google Ads"]["forecast"] < Decimal("3100")
    assert rows["Responsabile marketing"]["actual"] == Decimal("320.00")  # 8 h × €40
    # the licence is committed: its forecast includes what is committed and not yet spent
    assert rows["Licenza CRM"]["actual"] == Decimal("100")
    assert rows["Licenza CRM"]["forecast"] > Decimal("300")
    assert figures["unplanned"] == Decimal("77")  # "other" with no campaign has no line
    assert rows["Responsabile marketing"]["flag"] == "under"

    over = api.get(f"/budgets/plans/{plan['id']}/figures", period="q2").json()
    assert over["period"] == "q2"


def test_a_review_keeps_a_version_and_the_history_reads_back(api, officina):
    plan = _template_plan(api)
    first = api.post(f"/budgets/plans/{plan['id']}/reviews", {"notes": "Primo trimestre"}).json()
    assert first["version_before"] == first["version_after"] == 1  # nothing changed yet
    assert first["changes"] == []
    assert first["figures"]["year"]["totals"]["planned"] == "84000.00"

    line = plan["lines"][0]
    response = api.patch(f"/budgets/plans/{plan['id']}/lines/{line['id']}", {"maturity": "new"})
    assert response.status_code == 200
    api.post(f"/budgets/plans/{plan['id']}/rebalance", {})
    second = api.post(f"/budgets/plans/{plan['id']}/reviews", {"notes": "Ribilanciato"}).json()
    assert (second["version_before"], second["version_after"]) == (1, 2)
    fields = {(c["line"], c.get("field")) for c in second["changes"]}
    assert (line["name"], "maturity") in fields
    versions = api.get(f"/budgets/plans/{plan['id']}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    one = api.get(f"/budgets/plans/{plan['id']}/versions/1").json()
    assert sum(Decimal(x["total"]) for x in one["lines"]) == Decimal("84000")
    assert next(x for x in one["lines"] if x["id"] == line["id"])["maturity"] == "proven"
    texts = [plan_selectors.change_text(c) for c in second["changes"]]
    assert any("Proven → New" in t for t in texts)


def test_this_year_from_last_year_with_its_actuals(api, officina, giulia):
    last = api.post(
        "/budgets/plans",
        {
            "name": "Piano 2025",
            "year": 2025,
            "lines": [
                {"name": "Agenzia", "kind": "agency", "total": 6000},
                {"name": "Fiera", "kind": "training", "item": "event", "total": 9000},
            ],
        },
    ).json()
    cost_create(
        workspace=officina,
        actor=giulia,
        data={"kind": "agency", "day": dt.date(2025, 3, 1), "amount": Decimal("7500")},
    )
    response = api.post(
        "/budgets/plans", {"name": "Piano 2026", "year": 2026, "from_plan": last["id"]}
    )
    assert response.status_code == 201, response.content
    lines = {line["name"]: line for line in response.json()["lines"]}
    assert lines["Agenzia"]["total"] == "7500.00"  # what was actually spent
    assert lines["Agenzia"]["months"][2] == "7500.00"
    assert lines["Fiera"]["total"] == "9000.00"  # nothing spent: the plan's amount


def test_a_shared_line_shows_the_pipeline_and_revenue_of_its_campaign(api, officina, giulia):
    campaign = campaign_services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Fiera EIMA", "utm_campaign": "eima", "channel_group": "offline"},
    )
    contact = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "a@cliente.it"}
    )
    event_append(
        workspace=officina,
        type="page_view",
        contact_id=contact.pk,
        campaign="eima",
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    # the campaigns' reaction keeps first touches after commit (the worker's path is tested in
    # campaigns/tests/test_first_touches.py); this test's transaction never commits
    first_touches_refresh(workspace=officina)
    deal_services.deal_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Trattore", "contact_id": contact.pk, "amount": "25000"},
    )
    year = timezone.localdate().year
    plan = api.post(
        "/budgets/plans",
        {
            "name": "Piano",
            "year": year,
            "lines": [
                {
                    "name": "Fiera",
                    "kind": "training",
                    "item": "event",
                    "campaign": campaign.pk,
                    "team": "shared",
                    "total": 10000,
                }
            ],
        },
    ).json()
    rows = plan_selectors.shared_report(
        plan_selectors.plan_get(workspace=officina, plan_id=plan["id"]), today=timezone.localdate()
    )
    assert rows[0]["pipeline"] == Decimal("25000.00")
    assert rows[0]["revenue"] == Decimal("0")


def test_export_csv_italian_and_xlsx(api, client, officina):
    from openpyxl import load_workbook

    plan = _template_plan(api)
    response = api.client.get(
        f"/api/v1/budgets/plans/{plan['id']}/export",
        {"format": "csv"},
        headers={**api.headers, "Accept-Language": "it"},
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.startswith("Voce;") or header.startswith("Line;")
    assert ";" in first
    response = api.get(f"/budgets/plans/{plan['id']}/export", format="xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(plan["lines"])
    total_col = [str(h) for h in rows[0]].index("Planned")
    assert sum(r[total_col] for r in rows[1:]) == pytest.approx(84000)


def test_bad_input_is_refused_naming_what_and_where(api, officina, giulia):
    plan = _template_plan(api)
    pid = plan["id"]

    def refused(path, body, field_part, text, method="post"):
        response = getattr(api, method)(path, body)
        assert response.status_code in (400, 404, 409, 422), (path, response.content)
        error = response.json()["error"]
        messages = [error["message"]] + [e["message"] for e in error.get("errors", [])]
        fields = [error.get("field", "")] + [e.get("field", "") for e in error.get("errors", [])]
        assert any(field_part in (f or "") for f in fields), error
        assert any(text in m for m in messages), error

    months = [100] * 12
    months[2] = -50
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "media", "months": months},
        "months.2",
        "March",
    )
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "media", "total": "-10"},
        "total",
        "negative",
    )
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "media", "channel": "piccioni"},
        "channel",
        "unknown channel",
    )
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "media", "months": [100] * 12, "total": 1000},
        "total",
        "add up to",
    )
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "people", "hours": 10, "hourly_rate": 30, "months": [1] * 12},
        "months",
        "make € 300.00",
    )
    refused(
        f"/budgets/plans/{pid}/lines",
        {"name": "X", "kind": "tools", "item": "search"},
        "item",
        "not an item",
    )
    refused(f"/budgets/plans/{pid}/lines", {"name": "X", "kind": "gadget"}, "kind", "gadget")
    refused("/budgets/plans", {"name": "Piano 2026", "year": YEAR}, "name", "already")
    refused(
        "/budgets/plans",
        {"name": "Nuovo", "year": YEAR, "template": "pizzeria"},
        "template",
        "pizzeria",
    )
    refused(
        "/budgets/plans",
        {
            "name": "Nuovo",
            "year": YEAR,
            "lines": [
                {"name": "ok", "kind": "media", "total": 10},
                {"name": "no", "kind": "media", "total": "dieci"},
            ],
        },
        "lines.1.total",
        "line 2",
    )
    refused(
        "/budgets/time-logs",
        {"day": "2026-04-01", "hours": 30, "line": plan["lines"][0]["id"]},
        "hours",
        "24",
    )
    refused(
        f"/budgets/plans/{pid}/reviews", {"notes": "domani", "date": "2999-01-01"}, "date", "future"
    )
    assert api.delete(f"/budgets/plans/{pid}").status_code == 204
    refused(f"/budgets/plans/{pid}/reviews", {"notes": "dopo"}, "plan", "deleted")
    assert api.get(f"/budgets/plans/{pid}").status_code == 404
    # a plan with no experiment line cannot be rebalanced, and says why
    lonely = plan_services.plan_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Solo", "year": YEAR},
        lines=[{"name": "A", "kind": "media", "total": 10}],
    )
    refused(f"/budgets/plans/{lonely.pk}/rebalance", {}, "maturity", "New")


def test_a_small_total_is_spread_without_a_negative_month():
    """€9 over twelve even months was 1 euro in each and −2 in the first (the rounding taken
    from one month): a template scaled to a small budget was then refused as negative."""
    from volano.budgets.plan_templates import spread

    assert spread(Decimal(9), (1,) * 12) == [Decimal(1)] * 9 + [Decimal(0)] * 3
    for total in (Decimal(1), Decimal(7), Decimal(250), Decimal("100.05"), Decimal(84000)):
        for pattern in ((1,) * 12, (0, 0, 1, 1, 2, 0, 0, 0, 3, 1, 0, 0), (5,) + (0,) * 11):
            months = spread(total, pattern)
            assert sum(months) == total and min(months) >= 0, (total, pattern, months)


def test_an_italian_budget_in_thousands_is_not_read_as_a_decimal():
    from volano.budgets.plan_services import amount_parse

    errors: list[dict] = []
    assert amount_parse("250.000", "budget", errors) == 250000
    assert amount_parse("1.200.000", "budget", errors) == 1200000
    assert amount_parse("1.234,50", "budget", errors) == Decimal("1234.50")
    assert amount_parse("12.5", "budget", errors) == Decimal("12.5")
    assert not errors
