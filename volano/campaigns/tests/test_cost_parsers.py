"""The ad platforms' exports as they come out of the platforms: recognised by their headers,
totals rows skipped, Italian numbers and dates, every bad row named by row and column."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from volano.campaigns.costs.parsers import UnknownLayout, parse_cost_file

FIXTURES = Path(__file__).parent / "fixtures"


def parsed(name: str, platform: str | None = None):
    return parse_cost_file((FIXTURES / name).read_bytes(), name, platform=platform)


@pytest.mark.parametrize(
    ("name", "platform", "total"),
    [
        ("google_ads_it.csv", "google_ads", Decimal("477.71")),
        ("meta_it.csv", "meta", Decimal("1644.55")),
        ("linkedin.csv", "linkedin", Decimal("328.75")),
        ("ga4_it.csv", "ga4", Decimal("59.70")),
    ],
)
def test_each_platform_is_recognised_and_adds_up(name, platform, total):
    result = parsed(name)
    assert result.platform == platform
    assert result.rows, name
    assert sum(row.amount for row in result.rows) == total
    assert all(row.start <= row.end for row in result.rows)
    assert all(row.campaign for row in result.rows)


def test_google_ads_totals_rows_are_skipped():
    result = parsed("google_ads_it.csv")
    assert result.skipped_totals >= 1
    assert not any(row.campaign.lower().startswith(("total", "totale")) for row in result.rows)


@pytest.mark.parametrize("name", ["google_ads_en.csv", "meta_en.csv", "generic_it.csv"])
def test_the_other_shapes_parse(name):
    result = parsed(name)
    assert result.rows
    assert all(row.amount >= 0 for row in result.rows)


def test_bad_rows_are_named_and_the_rest_kept():
    result = parsed("generic_it.csv")
    assert result.platform == "generic"
    assert len(result.problems) == 2
    assert all(problem.row > 1 and problem.column for problem in result.problems)
    assert len(result.rows) >= 1


def test_an_unknown_layout_says_what_it_found():
    with pytest.raises(UnknownLayout) as error:
        parsed("unknown.csv")
    assert str(error.value)
