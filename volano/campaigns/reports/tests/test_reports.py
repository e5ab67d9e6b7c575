"""The ROI reports of seed 002 against the story of conftest.py, whose figures are counted by
hand: SQLs and their acceptance, offers and orders after SQL, cross- and up-sell, the content
funnel; over several granularities, in the API and the exports, and never another workspace's."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from volano.campaigns.reports import selectors
from volano.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def _rows(report, *keys):
    return [tuple(row[key] for key in keys) for row in report.rows]


def test_sqls_by_month_and_bringing_campaign_with_acceptance(officina, story):
    report = selectors.sqls_report(officina, *Q1, "month")
    assert _rows(
        report, "period", "campaign", "sqls", "accepted", "rejected", "pending", "hours_to_accept"
    ) == [
        ("2026-01-01", "EMO 2026", 1, 1, 0, 0, 4.0),
        ("2026-02-01", "EMO 2026", 1, 0, 1, 0, None),
        ("2026-02-01", "no campaign", 1, 0, 0, 1, None),
    ]


def test_sqls_by_week_and_quarter(officina, story):
    weeks = selectors.sqls_report(officina, *Q1, "week")
    # 15 January 2026 is a Thursday (week of Monday 12), 3 and 10 February Tuesdays
    assert _rows(weeks, "period", "sqls") == [
        ("2026-01-12", 1),
        ("2026-02-02", 1),
        ("2026-02-09", 1),
    ]
    quarter = selectors.sqls_report(officina, *Q1, "quarter")
    assert _rows(quarter, "period", "campaign", "sqls", "accepted", "rejected") == [
        ("2026-01-01", "EMO 2026", 2, 1, 1),
        ("2026-01-01", "no campaign", 1, 0, 0),
    ]
    january = selectors.sqls_report(officina, dt.date(2026, 1, 1), dt.date(2026, 1, 31), "day")
    assert _rows(january, "period", "campaign", "sqls") == [("2026-01-15", "EMO 2026", 1)]


def test_offers_and_orders_count_only_after_becoming_sql(officina, story):
    report = selectors.sql_revenue_report(officina, *Q1, "month")
    assert _rows(
        report, "period", "campaign", "deals", "deal_value", "won", "won_value", "orders",
        "order_value",
    ) == [
        ("2026-01-01", "EMO 2026", 1, 1000, 1, 1000, 0, 0),
        ("2026-02-01", "EMO 2026", 1, 300, 0, 0, 1, 500),
    ]  # fmt: skip


def test_cross_and_up_sell_of_customers_who_touched_a_customer_campaign(officina, story):
    report = selectors.cross_sell_report(officina, *Q1, "month")
    assert _rows(
        report, "period", "campaign", "customers", "orders", "cross_sell", "up_sell", "total"
    ) == [("2026-02-01", "Ricambi ai clienti", 1, 1, 1000, 200, 1200)]
    # the June order is more than 90 days after the touch
    later = selectors.cross_sell_report(officina, dt.date(2026, 4, 1), dt.date(2026, 12, 31))
    assert later.rows == []


def test_cross_sell_counts_lines_new_to_the_customer_by_the_orders_rule(officina, story):
    """What a customer bought is the orders' one rule (`lines_bought`): a cancelled order is no
    purchase, so its product line stays new (cross-sell) and it makes no customer; a line with
    no product line is never called new."""
    from volano.campaigns.reports.tests.conftest import _contact, _event, _order
    from volano.deals.selectors import customer_profile
    from volano.orders.models import Order
    from volano.orders.selectors import lines_bought

    # Franca bought ricambi in 2025 and ordered macchine, cancelled; she clicks the mailing
    # and orders macchine and ricambi, and a line with no product line
    franca = _contact(
        officina, "franca@cliente.it", at_2025 := dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    )
    _order(officina, franca, "F-1", at_2025, [("ricambi", "100")])
    cancelled = _order(
        officina, franca, "F-2", dt.datetime(2025, 9, 1, tzinfo=dt.UTC), [("macchine", "900")]
    )
    Order.objects.for_workspace(officina).filter(pk=cancelled.pk).update(status="cancelled")
    _event(
        officina,
        franca,
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        type="email_clicked",
        channel="email",
        campaign="upsell",
    )
    _order(
        officina,
        franca,
        "F-3",
        dt.datetime(2026, 3, 10, tzinfo=dt.UTC),
        [("macchine", "400"), ("ricambi", "60"), ("", "5")],
    )
    # Gino's only earlier order was refunded: he is no customer, his order is no cross-sell
    gino = _contact(officina, "gino@example.it", at_2025)
    refunded = _order(officina, gino, "G-1", at_2025, [("ricambi", "70")])
    Order.objects.for_workspace(officina).filter(pk=refunded.pk).update(status="refunded")
    _event(
        officina,
        gino,
        dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        type="email_clicked",
        channel="email",
        campaign="upsell",
    )
    _order(officina, gino, "G-2", dt.datetime(2026, 3, 12, tzinfo=dt.UTC), [("macchine", "300")])
    report = selectors.cross_sell_report(officina, *Q1, "month")
    assert _rows(report, "period", "customers", "orders", "cross_sell", "up_sell") == [
        ("2026-02-01", 1, 1, 1000, 200),  # Dario, as before
        ("2026-03-01", 1, 1, 400, 65),  # Franca: macchine is new, ricambi and the blank line not
    ]
    # the contact page reads the same rule: the cancelled macchine is not bought
    bought = set(
        lines_bought(workspace=officina)
        .filter(order__contact=franca)
        .values_list("product_line", flat=True)
    )
    assert bought == {"ricambi", "macchine"}
    profile_lines = {
        line["slug"] for line in customer_profile(workspace=officina, contact=gino)["lines"]
    }
    assert profile_lines == {"macchine"}  # the refunded ricambi is no purchase


def test_content_funnel_per_asset(officina, story):
    report = selectors.content_funnel_report(officina, *Q1)
    assert _rows(
        report, "content", "campaign", "leads", "asked_for_more", "completed_profile",
        "webinar", "sql", "customer",
    ) == [("White paper tornitura", "EMO 2026", 2, 1, 1, 1, 2, 1)]  # fmt: skip
    # Dario and Elena were created before the period or touched no content
    january = selectors.content_funnel_report(officina, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert _rows(january, "content", "leads", "sql") == [("White paper tornitura", 1, 1)]


def test_another_workspace_sees_only_its_own(ferramenta, story):
    report = selectors.sqls_report(ferramenta, *Q1, "month")
    assert _rows(report, "period", "campaign", "sqls") == [("2026-01-01", "no campaign", 1)]
    revenue = selectors.sql_revenue_report(ferramenta, *Q1, "month")
    assert _rows(revenue, "deals", "deal_value") == [(1, 9)]
    assert selectors.cross_sell_report(ferramenta, *Q1).rows == []


def test_bad_periods_name_the_field():
    with pytest.raises(ValidationFailed) as failure:
        selectors.period_check("2026-03-01", "2026-01-01", "month")
    assert failure.value.errors[0]["field"] == "to"
    with pytest.raises(ValidationFailed) as failure:
        selectors.period_check("1/3/2026", "2026-01-01", "fortnight")
    assert [e["field"] for e in failure.value.errors] == ["from", "granularity"]


def test_api_returns_the_report_and_refuses_bad_input(api, story):
    reply = api.get("/campaigns/reports/sqls", **{"from": "2026-01-01", "to": "2026-03-31"})
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["granularity"] == "month" and body["from"] == "2026-01-01"
    assert [(r["campaign"], r["sqls"]) for r in body["rows"]] == [
        ("EMO 2026", 1),
        ("EMO 2026", 1),
        ("no campaign", 1),
    ]
    money = api.get(
        "/campaigns/reports/sql-revenue",
        **{"from": "2026-01-01", "to": "2026-03-31", "granularity": "quarter"},
    ).json()
    assert [(r["deals"], r["deal_value"], r["order_value"]) for r in money["rows"]] == [
        (2, 1300.0, 500.0)
    ]
    bad = api.get("/campaigns/reports/sqls", **{"from": "2026-03-31", "to": "2026-01-01"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "to"
    unknown = api.get("/campaigns/reports/visits", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert unknown.status_code in (404, 422)


def test_every_table_exports_as_csv_and_excel(client, giulia, story):
    client.force_login(giulia)
    period = {"from": "2026-01-01", "to": "2026-03-31", "granularity": "month"}
    for name in selectors.REPORTS:
        page = client.get(f"/campaigns/reports/{name}/", period)
        assert page.status_code == 200, name
        csv = client.get(f"/campaigns/reports/{name}/", {**period, "format": "csv"})
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
        text = b"".join(csv.streaming_content).decode("utf-8-sig")
        lines = [line for line in text.splitlines() if line]
        xlsx = client.get(f"/campaigns/reports/{name}/", {**period, "format": "xlsx"})
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet.max_row == len(lines), name
    csv = client.get("/campaigns/reports/cross-sell/", {**period, "format": "csv"})
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert "Ricambi ai clienti" in text and "1000" in text and "1200" in text


def test_the_cli_prints_a_report_as_csv_json_or_xlsx(officina, story, tmp_path):
    from django.core.management import call_command

    out = io.StringIO()
    period = ["--workspace", officina.slug, "--from", "2026-01-01", "--to", "2026-03-31"]
    call_command("campaigns", "report", "cross-sell", *period, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Period") and "Ricambi ai clienti" in lines[1]
    out = io.StringIO()
    call_command("campaigns", "report", "sqls", *period, "--format", "json", stdout=out)
    body = json.loads(out.getvalue())
    assert sum(row["sqls"] for row in body["rows"]) == 3
    target = tmp_path / "funnel.xlsx"
    call_command(
        "campaigns", "report", "content-funnel", *period, "--format", "xlsx", "--output", target
    )
    sheet = load_workbook(target).active
    assert [cell.value for cell in sheet[2]][:4] == ["White paper tornitura", "White paper",
                                                      "EMO 2026", 2]  # fmt: skip
