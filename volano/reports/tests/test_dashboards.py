"""The dashboards' KPIs on known data, each checked against an independent computation: plain
Python over the rows the test wrote (the oracle), and hand-computed figures where the formula
is the point (sales velocity, the health score). Then the empty states, the rollup against the
live path, the pages, the exports, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from volano.campaigns.models import CostEntry
from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.deals import services as deal_services
from volano.deals.models import Deal, DealStage
from volano.events.models import Event
from volano.events.services import event_append
from volano.lifecycle.models import StageChange
from volano.orders import services as order_services
from volano.reports.dashboards import figures, health, kpis, velocity
from volano.reports.dashboards.models import DailyFigure
from volano.reports.dashboards.period import Period, period_parse

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ROME)


@pytest.fixture
def today():
    return timezone.now().astimezone(ROME).date()


@pytest.fixture
def known(officina, giulia, marco, today):
    """Six weeks of a small business: contacts, stages, emails, forms, orders, deals, costs."""
    d = [today - dt.timedelta(days=n) for n in range(60)]
    people = []
    for i, (created, region) in enumerate(
        [
            (d[40], "Lombardia"),
            (d[40], "Veneto"),
            (d[30], "Lombardia"),
            (d[20], "Lazio"),
            (d[3], ""),
        ]
    ):
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={"email": f"c{i}@example.it", "first_name": f"C{i}", "region": region},
        )
        Contact.objects.for_workspace(officina).filter(pk=contact.pk).update(created_at=at(created))
        people.append(contact)
    StageChange.objects.for_workspace(officina).all().delete()
    changes = [  # (contact, from, to, day)
        (0, "lead", "mql", d[35]),
        (0, "mql", "sql", d[25]),
        (0, "sql", "customer", d[10]),
        (1, "lead", "customer", d[30]),  # a jump: passes MQL, SQL and opportunity too
        (2, "lead", "mql", d[29]),
        (1, "customer", "lost_customer", d[2]),
    ]
    for who, old, new, day in changes:
        StageChange.objects.create(
            workspace=officina, contact=people[who], from_stage=old, to_stage=new,
            changed_at=at(day), source="user",
        )  # fmt: skip
    sends = [(0, d[14]), (1, d[14]), (2, d[14]), (3, d[14]), (0, d[7]), (2, d[7])]
    for who, day in sends:
        event_append(workspace=officina, type="email_sent", contact_id=people[who].pk,
                     occurred_at=at(day), properties={"message": f"m{day}"})  # fmt: skip
    engaging = [
        ("email_opened", 0, d[14], {}),
        ("email_opened", 1, d[14], {"label": "human"}),
        ("email_opened", 2, d[14], {"label": "privacy_proxy"}),  # not a person
        ("email_clicked", 0, d[14], {"label": "human", "url": "https://x.it"}),
        ("email_clicked", 3, d[14], {"label": "scanner", "url": "https://x.it"}),  # a scanner
        ("email_opened", 2, d[7], {"label": "human"}),
        ("form_submitted", 3, d[6], {"form": "contatti"}),
    ]
    for kind, who, day, props in engaging:
        event_append(workspace=officina, type=kind, contact_id=people[who].pk,
                     occurred_at=at(day, 11), properties=props)  # fmt: skip
    for number, who, day, total, currency in [
        ("A-1", 0, d[10], "1200.00", "EUR"),
        ("A-2", 0, d[9], "300.00", "EUR"),
        ("A-3", 1, d[20], "500.00", "EUR"),
        ("A-4", 2, d[8], "999.00", "USD"),  # another currency: counted apart, never summed
    ]:
        order_services.order_create(
            workspace=officina, actor=None,
            data={"number": number, "contact_id": people[who].pk, "ordered_at": at(day).isoformat(),
                  "currency": currency, "total": total, "lines": [
                      {"product_name": "Ricambio", "product_line": "ricambi", "quantity": 1,
                       "unit_price": total}]},
        )  # fmt: skip
    # the orders made their buyers customers today: keep only the history written above
    StageChange.objects.for_workspace(officina).filter(changed_at__gte=at(today, 0)).delete()
    deals = []
    for name, who, stage, amount, created, closed in [
        ("Won A", 0, DealStage.WON, "1000.00", d[40], d[30]),  # cycle 10 days
        ("Won B", 1, DealStage.WON, "3000.00", d[50], d[20]),  # cycle 30 days
        ("Lost C", 2, DealStage.LOST, "800.00", d[45], d[15]),
        ("Open D", 3, DealStage.NEGOTIATION, "2000.00", d[35], None),
        ("Open E", 0, DealStage.OFFER_SENT, "500.00", d[20], None),
        ("Open F", 2, DealStage.QUALIFICATION, "700.00", d[5], None),
    ]:
        deal = deal_services.deal_create(
            workspace=officina, actor=giulia,
            data={"name": name, "contact_id": people[who].pk, "amount": amount,
                  "owner_id": marco.pk if who != 1 else giulia.pk},
        )  # fmt: skip
        Deal.objects.for_workspace(officina).filter(pk=deal.pk).update(
            stage=stage, created_at=at(created), closed_at=at(closed) if closed else None
        )
        deals.append(deal)
    StageChange.objects.for_workspace(officina).filter(changed_at__gte=at(today, 0)).delete()
    for day, amount in [(d[14], "100.00"), (d[13], "50.00"), (d[7], "150.00")]:
        CostEntry.objects.create(
            workspace=officina, campaign_key="fiera", day=day, amount=Decimal(amount)
        )
    return {"days": d, "people": people}


def oracle_day(value: dt.datetime) -> dt.date:
    return value.astimezone(ROME).date()


def test_periods_buckets_and_comparisons():
    period = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30), "week", "year")
    buckets = period.buckets()
    assert buckets[0].start == dt.date(2026, 6, 29) and buckets[0].first == dt.date(2026, 7, 1)
    assert buckets[0].partial and not buckets[1].partial
    assert buckets[-1].last == dt.date(2026, 9, 30)
    assert sum((b.last - b.first).days + 1 for b in buckets) == 92  # every day once
    prior = period.previous()
    assert (prior.start, prior.end) == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    before = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30), "month").previous()
    assert (before.start, before.end) == (dt.date(2026, 3, 31), dt.date(2026, 6, 30))
    quarter = period_parse(
        {"range": "last_quarter", "granularity": "quarter"}, today=dt.date(2026, 12, 3)
    )
    assert (quarter.start, quarter.end) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert [b.start for b in quarter.buckets()] == [dt.date(2026, 7, 1)]
    with pytest.raises(Exception) as failure:
        period_parse({"granularity": "hour", "from": "2026-02-30"}, today=dt.date(2026, 12, 3))
    fields = {e["field"] for e in failure.value.errors}
    assert fields == {"granularity", "from"}


def test_kpis_match_an_independent_count_of_the_rows(officina, known, today):
    d = known["days"]
    period = Period(d[59], today, "week", "previous")
    ctx = kpis.Context(officina, period)
    stages = kpis.widget_compute(ctx, "stages")
    engagement = kpis.widget_compute(ctx, "engagement")
    revenue = kpis.widget_compute(ctx, "revenue")
    funnel = kpis.widget_compute(ctx, "funnel")
    cac = kpis.widget_compute(ctx, "cac_roi")

    # the oracle: plain Python over the rows, bucketed by the Monday of each local day
    def week(day: dt.date) -> int:
        return next(i for i, b in enumerate(period.buckets()) if b.first <= day <= b.last)

    leads = Counter(week(oracle_day(c.created_at)) for c in Contact.objects.for_workspace(officina))
    assert [r["lead"] for r in stages.rows] == [leads.get(i, 0) for i in range(len(stages.rows))]
    rank = {"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "customer": 4}
    crossed: Counter = Counter()
    for change in StageChange.objects.for_workspace(officina):
        low, high = rank.get(change.from_stage, -1), rank.get(change.to_stage, -9)
        for stage, r in rank.items():
            if low < r <= high:
                crossed[stage] += 1
    assert [row["reached"] for row in funnel.rows] == [
        5,
        crossed["mql"],
        crossed["sql"],
        crossed["opportunity"],
        crossed["customer"],
    ]
    assert (crossed["mql"], crossed["sql"], crossed["customer"]) == (3, 2, 2)
    assert funnel.rows[0]["conversion"] == pytest.approx(3 / 5)
    # days in stage, mean over the exits from Lead: real elapsed time since the creation
    stays = [
        (c.changed_at - c.contact.created_at).total_seconds() / 86400
        for c in StageChange.objects.for_workspace(officina).filter(from_stage="lead")
    ]
    assert len(stays) == 3 and funnel.rows[0]["days"] == pytest.approx(sum(stays) / 3)

    human = [
        e for e in Event.objects.for_workspace(officina)
        if e.type in ("email_opened", "email_clicked", "form_submitted")
        and e.properties.get("label", "human") == "human"
    ]  # fmt: skip
    reached = {(e.contact_id, oracle_day(e.occurred_at)) for e in
               Event.objects.for_workspace(officina).filter(type="email_sent")}  # fmt: skip
    assert len(human) == 5 and len(reached) == 6
    assert engagement.figures[0]["value"] == pytest.approx(len(human) / len(reached))
    by_week = Counter(week(day) for _c, day in reached)
    assert [r["reached"] for r in engagement.rows] == [
        by_week.get(i, 0) for i in range(len(engagement.rows))
    ]

    assert revenue.figures[0]["value"] == pytest.approx(1200 + 300 + 500)
    assert any("another currency" in note or "other currencies" in note for note in revenue.notes)
    assert revenue.figures[2]["value"] == pytest.approx(2000 + 500 + 700)  # open pipeline today
    assert cac.figures[0]["value"] == pytest.approx(300)
    assert cac.figures[1]["value"] == pytest.approx(300 / crossed["customer"])
    assert cac.figures[3]["value"] == pytest.approx((2000 - 300) / 300)


def test_the_rollup_answers_as_the_live_statement_does(officina, known, today):
    d = known["days"]
    live = figures.day_figures(officina, d[59], today)
    read = figures.figures_read(officina, d[59], today)
    assert DailyFigure.objects.for_workspace(officina).filter(day=d[1]).exists()
    assert not DailyFigure.objects.for_workspace(officina).filter(day=today).exists()
    assert {k: round(v, 6) for k, v in read.items()} == {k: round(v, 6) for k, v in live.items()}
    # a late event for a recent day is in the rollup once it is stale again
    event_append(workspace=officina, type="email_sent", contact_id=known["people"][4].pk,
                 occurred_at=at(d[2]))  # fmt: skip
    DailyFigure.objects.for_workspace(officina).update(
        rolled_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert figures.figures_read(officina, d[59], today)[(d[2], "email_sent")] == 1


def test_sales_velocity_is_open_times_win_rate_times_value_over_cycle(
    officina, known, today, marco
):
    d = known["days"]
    period = Period(d[59], today, "month", "none")
    report = velocity.velocity_report(officina, period)
    total = report["total"]
    # 3 open today; won 2 of 3 closed; average won 2,000; cycle (10 + 30) / 2 = 20 days (and
    # the hour summer time gave back in October: elapsed time, not calendar days)
    won = Deal.objects.for_workspace(officina).filter(stage=DealStage.WON)
    cycle = sum((w.closed_at - w.created_at).total_seconds() for w in won) / 86400 / 2
    assert cycle == pytest.approx(20, abs=0.05)
    assert total["open"] == 3
    assert total["win_rate"] == pytest.approx(2 / 3)
    assert total["average"] == pytest.approx(2000)
    assert total["cycle_days"] == pytest.approx(cycle)
    assert total["velocity"] == pytest.approx(3 * 2 / 3 * 2000 / cycle)
    # at each bucket's end: the deals open then (created before, not closed by then)
    for bucket in report["buckets"]:
        end = at(bucket["last"] + dt.timedelta(days=1), 0)
        expected = sum(
            1 for deal in Deal.objects.for_workspace(officina)
            if deal.created_at < end and (deal.closed_at is None or deal.closed_at >= end)
        )  # fmt: skip
        assert bucket["open"] == expected
    reps = {row["key"]: row for row in report["by"]["rep"]}
    assert reps["Giulia Verdi"]["won"] == 1 and reps["Giulia Verdi"]["open"] == 0
    assert reps["Marco Neri"]["open"] == 3 and reps["Marco Neri"]["win_rate"] == pytest.approx(
        1 / 2
    )
    regions = {row["key"]: row for row in report["by"]["territory"]}
    assert regions["Lombardia"]["won"] == 1 and regions["Lombardia"]["lost"] == 1
    mine = velocity.velocity_report(officina, period, user_id=marco.pk)["total"]
    assert mine["open"] == 3 and mine["won"] == 1


def test_health_scores_explain_themselves_and_follow_the_weights(officina, known, giulia):
    people = known["people"]
    event_append(workspace=officina, type="ticket", contact_id=people[0].pk,
                 properties={"ticket": "T-1", "status": "open"})  # fmt: skip
    event_append(workspace=officina, type="survey_answered", contact_id=people[0].pk,
                 properties={"survey": "nps", "kind": "nps", "score": 3})  # fmt: skip
    assert health.health_compute(officina) == 3  # the three contacts with orders, no company
    accounts = {a.contact_id: a for a in health.scored(officina)}
    first = accounts[people[0].pk]
    assert first.open_tickets == 1 and first.tickets == 50
    assert first.satisfaction == 30  # NPS 3 → 30 points
    assert first.orders_12m == 2 and first.value_12m == 1500
    assert first.recency == 100  # the last order 9 days ago: within 30 days is full points
    assert first.value == 100 and first.frequency == 100  # the most of all three
    parts = health.explain(first, health.weights_get(officina))
    assert sum(p["adds"] for p in parts) == pytest.approx(first.score)
    # the USD buyer has no EUR value: its value part is 0, not a currency mix
    assert accounts[people[2].pk].value_12m == 0 and accounts[people[2].pk].value == 0
    from volano.reports.dashboards.services import health_weights_save

    health_weights_save(workspace=officina, actor=giulia, data={
        "recency": 0, "frequency": 0, "value": 0, "engagement": 0, "tickets": 1,
        "satisfaction": 0, "at_risk_below": 60})  # fmt: skip
    assert health.scored(officina).get(contact_id=people[0].pk).score == pytest.approx(50)
    summary = health.health_summary(officina)
    assert summary["at_risk"] == 1 and summary["rows"][0].contact_id == people[0].pk


def test_empty_ranges_coarse_data_and_no_nan_on_the_page(client, officina, known, giulia, today):
    client.force_login(giulia)
    html = client.get(
        reverse("home"), {"from": "2020-01-01", "to": "2020-03-31", "granularity": "week"}
    ).content.decode()
    assert "No email reached anyone in this period" in html
    assert "No contact entered the funnel in this period" in html
    assert "nan" not in html.lower().replace("finance", "")
    d = known["days"]
    daily = client.get(
        reverse("home"), {"from": d[59].isoformat(), "to": today.isoformat(), "granularity": "day"}
    )
    assert daily.status_code == 200
    assert "the data is coarser than this granularity" in daily.content.decode()
    bad = client.get(reverse("home"), {"granularity": "hour"})
    assert bad.status_code == 422 and "must be day, week, month or quarter" in bad.content.decode()


def test_the_overview_is_the_marketers_dashboard_and_a_reps_own(
    client, officina, known, giulia, marco
):
    client.force_login(giulia)
    html = client.get(reverse("home"), {"range": "90d", "granularity": "month"}).content.decode()
    for title in (
        "Funnel",
        "Engagement rate",
        "Sales velocity",
        "Accounts at risk",
        "Cost, CAC and ROI",
    ):
        assert title in html
    assert 'id="dashboard-charts"' in html and "echarts.min.js" in html
    client.force_login(marco)
    html = client.get(reverse("home")).content.decode()
    assert "My leads" in html and "My pipeline" in html and "Hand-off SLA" in html
    assert "Cost, CAC and ROI" not in html  # costs are the marketing view's


def test_a_widgets_table_downloads_as_csv_and_excel(client, officina, known, giulia, today):
    client.force_login(giulia)
    d = known["days"]
    query = {
        "from": d[59].isoformat(),
        "to": today.isoformat(),
        "granularity": "month",
        "widget": "revenue",
    }
    response = client.get(reverse("home"), {**query, "format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Period,Order revenue")
    assert sum(float(line.split(",")[1]) for line in text.splitlines()[1:]) == pytest.approx(2000)
    xlsx = client.get(reverse("home"), {**query, "format": "xlsx"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sum(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == pytest.approx(
        2000
    )


def test_a_custom_dashboard_filtered_by_territory_saved_and_shared(
    client, officina, known, giulia, marco
):
    client.force_login(giulia)
    response = client.post(reverse("reports:dashboard_new"), {
        "name": "Lombardia", "widgets": ["stages", "revenue"], "territory": "Lombardia", "shared": "on"})  # fmt: skip
    assert response.status_code == 302
    page = client.get(response["Location"], {"range": "90d"})
    html = page.content.decode()
    assert "territory: Lombardia" in html and 'data-widget="funnel"' not in html
    revenue = next(r for r in page.context["results"] if r.key == "revenue")
    assert revenue.figures[0]["value"] == pytest.approx(1500)  # C0's orders; C1 is in Veneto
    client.force_login(marco)  # shared: a rep sees it, but may not edit it
    assert client.get(response["Location"]).status_code == 200
    assert client.get(response["Location"] + "edit/").status_code == 404
    refused = client.post(reverse("reports:dashboard_new"), {"name": "x"})
    assert refused.status_code == 422


def test_api_and_cli_share_the_period_parameters(api, officina, known, today):
    d = known["days"]
    reply = api.get(
        "/reports/kpis/stages",
        **{
            "from": d[59].isoformat(),
            "to": today.isoformat(),
            "granularity": "week",
            "compare": "year",
        },
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["period"]["granularity"] == "week" and body["period"]["previous"]["from"]
    assert sum(row["lead"] for row in body["rows"]) == 5
    velocity_reply = api.get("/reports/velocity", range="90d").json()
    assert velocity_reply["total"]["open"] == 3
    health_reply = api.get("/reports/health").json()
    assert health_reply["accounts"] == 3 and len(health_reply["rows"][0]["parts"]) == 6
    bad = api.get("/reports/kpis/stages", granularity="hour")
    assert bad.status_code == 422 and "granularity" in bad.content.decode()
    assert api.get("/reports/kpis/nothing").status_code == 404
    out = io.StringIO()
    call_command("report", "kpi", "revenue", "--workspace", officina.slug, "--from",
                 d[59].isoformat(), "--to", today.isoformat(), "--format", "json", stdout=out)  # fmt: skip
    assert json.loads(out.getvalue())["figures"][0]["value"] == pytest.approx(2000)
