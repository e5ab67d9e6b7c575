"""Importing cost files through the real service: each platform's shape lands as daily costs
that add up, rows of no campaign are kept and link later, re-imports replace, other currencies
and unknown layouts are refused by name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from volano.campaigns.costs.parsers import UnknownLayout
from volano.campaigns.costs.selectors import costs_summary
from volano.campaigns.costs.services import costs_import, spread
from volano.campaigns.models import CostEntry
from volano.campaigns.services import campaign_create
from volano.core.models import Activity

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def run(workspace, name, **options):
    return costs_import(
        workspace=workspace,
        actor=None,
        content=(FIXTURES / name).read_bytes(),
        filename=name,
        **options,
    )


def total(workspace, **filters):
    return (
        CostEntry.objects.for_workspace(workspace).filter(**filters).aggregate(s=Sum("amount"))["s"]
    )


@pytest.mark.parametrize(
    ("name", "platform", "amount", "channel"),
    [
        ("google_ads_it.csv", "google_ads", Decimal("477.71"), "paid_search"),
        ("meta_it.csv", "meta", Decimal("1644.55"), "paid_social"),
        ("linkedin.csv", "linkedin", Decimal("328.75"), "paid_social"),
        ("ga4_it.csv", "ga4", Decimal("59.70"), ""),
    ],
)
def test_each_platform_lands_as_daily_costs_that_add_up(officina, name, platform, amount, channel):
    report = run(officina, name)
    assert report.error_count == 0, report.errors
    assert total(officina) == amount
    entries = CostEntry.objects.for_workspace(officina)
    assert set(entries.values_list("platform", flat=True)) == {platform}
    assert set(entries.values_list("channel", flat=True)) == {channel}
    assert Activity.objects.for_workspace(officina).filter(verb="costs.imported").count() == 1


def test_a_month_without_days_is_spread_to_the_cent(officina):
    run(officina, "meta_it.csv")  # Meta, Italian: 1 to 31 January, 1.234,56 for one campaign
    days = CostEntry.objects.for_workspace(officina).filter(
        campaign_key="lead gen gennaio – caldaie"
    )
    assert days.count() == 31
    assert total(officina, campaign_key="lead gen gennaio – caldaie") == Decimal("1234.56")
    amounts = sorted(set(days.values_list("amount", flat=True)))
    assert amounts == [Decimal("39.82"), Decimal("39.83")]
    assert spread(Decimal("0.05"), dt.date(2026, 1, 1), dt.date(2026, 1, 7))[0][1] == Decimal(
        "0.01"
    )


def test_rows_of_no_campaign_are_kept_and_link_when_it_is_created(officina):
    report = run(officina, "meta_it.csv")
    assert {w["value"] for w in report.warnings} >= {"Fiera SPS Italia", "Retargeting Sito"}
    assert all(w["row"] > 1 and w["column"] == "Nome della campagna" for w in report.warnings)
    campaign = campaign_create(
        workspace=officina, actor=None, data={"name": "Fiera SPS Italia", "utm_campaign": "sps"}
    )
    assert total(officina, campaign=campaign) == Decimal("310.00")
    summary = costs_summary(workspace=officina, group="campaign")
    assert {"key": str(campaign.pk), "label": "Fiera SPS Italia", "cost": Decimal("310.00")} in (
        summary["rows"]
    )


def test_a_row_matches_its_campaign_by_utm_campaign_too(officina):
    campaign = campaign_create(
        workspace=officina,
        actor=None,
        data={"name": "Ricerca marchio", "utm_campaign": "search-brand-2026"},
    )
    run(officina, "google_ads_it.csv")
    assert total(officina, campaign=campaign) == Decimal("310.00")


def test_reimporting_replaces_also_across_overlapping_ranges(officina):
    run(officina, "meta_it.csv")
    again = run(officina, "meta_it.csv")
    assert again.created == 0 and again.updated == 0 and again.unchanged == 93
    assert total(officina) == Decimal("1644.55")
    # a second export covering 15 January to 14 February: its days replace those of the first
    second = (
        b'"Inizio report","Fine report","Nome della campagna","Importo speso (EUR)"\n'
        b'"2026-01-15","2026-02-14","Retargeting Sito","31,00"\n'
    )
    report = costs_import(workspace=officina, actor=None, content=second, filename="feb.csv")
    assert report.updated == 17 and report.created == 14
    retargeting = CostEntry.objects.for_workspace(officina).filter(campaign_key="retargeting sito")
    assert retargeting.count() == 31 + 14
    january = spread(Decimal("99.99"), dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    kept = sum((amount for _day, amount in january[:14]), Decimal(0))
    assert total(officina, campaign_key="retargeting sito") == kept + Decimal("31.00")


def test_another_currency_is_refused_per_row_and_the_rest_kept(officina):
    report = run(officina, "google_ads_en.csv")
    refused = [e for e in report.errors if e["value"] == "USD"]
    assert len(refused) == 1
    assert refused[0]["column"] == "Currency code" and refused[0]["row"] == 7
    assert "EUR" in refused[0]["message"]
    assert total(officina) == Decimal("45.10") + Decimal("52.25") + Decimal("1020.50")


def test_an_unknown_layout_names_the_headers_found_and_expected(officina):
    with pytest.raises(UnknownLayout) as error:
        run(officina, "unknown.csv")
    assert "'Name'" in error.value.message and "google_ads" in error.value.message
    assert not CostEntry.objects.for_workspace(officina).exists()


def test_a_dry_run_reports_without_writing(officina):
    report = run(officina, "google_ads_it.csv", dry_run=True)
    assert report.dry_run and report.created > 0
    assert not CostEntry.objects.for_workspace(officina).exists()
    assert not Activity.objects.for_workspace(officina).filter(verb="costs.imported").exists()


def test_weekly_spend_per_channel_is_spread_over_the_week(officina):
    content = (
        b"settimana;canale;spesa\n"
        b"2026-01-05;Paid Search;700,00\n"
        b"2026-W02;Paid Search;7,00\n"  # the same week, as an ISO week: added up
        b"2026-01-05;Fiere;1.000,00\n"
        b"ieri;Fiere;10\n"
    )
    report = costs_import(workspace=officina, actor=None, content=content, filename="w.csv")
    assert [(e["row"], e["column"]) for e in report.errors] == [(5, "settimana")]
    by_channel = costs_summary(workspace=officina, group="channel")
    assert {r["key"]: r["cost"] for r in by_channel["rows"]} == {
        "Paid Search": Decimal("707.00"),
        "Fiere": Decimal("1000.00"),
    }
    days = costs_summary(workspace=officina, group="day")["rows"]
    assert [r["key"] for r in days] == [f"2026-01-{d:02}" for d in range(5, 12)]
    assert CostEntry.objects.for_workspace(officina).filter(platform="generic").count() == 14


@pytest.mark.parametrize("content", [b"\xff\xfe\x41", b"\x00\x01\x02garbage", b""])
def test_a_file_that_is_no_table_is_a_clear_error(officina, content):
    with pytest.raises(UnknownLayout):
        costs_import(workspace=officina, actor=None, content=content, filename="x.csv")
