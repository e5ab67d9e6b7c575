"""The attribution page in Chromium under the strict CSP: the chart of the seven models is
drawn, the pickers change what is compared, and the page fits 1440x900 and a phone (390px)
without sideways scrolling. Screenshots go to $VOLANO_SCREENSHOTS when set."""

from __future__ import annotations

import os

import pytest

from volano.attribution.tests.test_api_and_page import journeys_story  # noqa: F401
from volano.conftest import worker_run_once

VIEWPORT_WIDTH = 1440


def _shot(page, name: str) -> None:
    folder = os.environ.get("VOLANO_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "the page scrolls sideways"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_models_chart_is_drawn_and_the_page_fits(page, live_server, journeys_story):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/attribution/?from=2026-01-01&to=2026-12-31")
    expect(page.locator("[data-testid=caveat]")).to_contain_text("no model is perfect")
    # the page does not wait for the models' first computation, nor for the ROI under Markov
    # (the default): each section says so, and fills in by itself once the background worker
    # has computed it
    expect(page.locator("[data-testid=models-refreshing]")).to_contain_text("Computing")
    refreshing = page.locator("[data-testid=roi-refreshing]")
    expect(refreshing).to_contain_text("Computing this model")
    _shot(page, "attribution-computing-1440.png")
    worker_run_once()
    expect(page.locator("#attribution-chart")).to_have_attribute(
        "data-drawn", "true", timeout=20_000
    )
    expect(page.locator("[data-testid=models-table] thead th")).to_have_count(8)
    expect(page.locator("[data-testid=roi-table]")).to_contain_text("Fiera EMO", timeout=20_000)
    expect(refreshing).to_have_count(0)
    expect(page.locator("[data-testid=models-refreshing]")).to_have_count(0)
    _shot(page, "attribution-1440.png")
    _no_sideways_scroll(page)
    page.select_option("#id_conversion", "revenue")
    page.locator("button", has_text="Compare").click()
    expect(page.locator("[data-testid=models-refreshing]")).to_contain_text("Computing")
    worker_run_once()
    expect(page.locator("[data-testid=models-table] tfoot")).to_contain_text(
        "9,000", timeout=20_000
    )
    page.select_option("#id_model", "first")
    page.locator("button", has_text="Show").click()
    expect(page.locator("[data-testid=roi-table]")).to_contain_text("Fiera EMO")
    _shot(page, "attribution-revenue-1440.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/attribution/?from=2026-01-01&to=2026-12-31")
    expect(page.locator("#attribution-chart")).to_have_attribute("data-drawn", "true")
    _shot(page, "attribution-390.png")
    _no_sideways_scroll(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_picking_month_cuts_the_roi_into_months_with_a_chart(page, live_server, journeys_story):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/attribution/?from=2026-01-01&to=2026-12-31&model=first")
    expect(page.locator("#roi-chart")).to_have_count(0)
    worker_run_once()  # the models side by side, computed in the background
    models_chart = page.locator("#attribution-chart")
    expect(models_chart).to_have_attribute("data-drawn", "true", timeout=20_000)
    page.select_option("#id_granularity", "month")
    page.locator("#roi button", has_text="Show").click()
    expect(page.locator("#roi-chart")).to_have_attribute("data-drawn", "true")
    buckets = page.locator("[data-testid=roi-bucket]")
    # April: the four leads created (no touch before them); May: the fair's cost; June: the SQLs
    # and the won deal
    expect(buckets).to_have_count(3)
    expect(buckets.nth(0)).to_contain_text("April 2026")
    expect(buckets.nth(1)).to_contain_text("May 2026")
    expect(buckets.nth(1)).to_contain_text("Fiera EMO")
    expect(buckets.nth(2)).to_contain_text("June 2026")
    expect(buckets.nth(2)).to_contain_text("9,000")
    # the section alone was swapped: the models' chart above is the same element, still drawn
    expect(models_chart).to_have_attribute("data-drawn", "true")
    assert "granularity=month" in page.url
    # Compare (the pickers above) keeps the ROI form's choices, refreshed by the swap
    expect(page.locator("#compare-carry input[name=granularity]")).to_have_value("month")
    _shot(page, "attribution-roi-month-1440.png")
    _no_sideways_scroll(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#roi-chart")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#id_granularity")).to_have_value("month")
    _shot(page, "attribution-roi-month-390.png")
    _no_sideways_scroll(page)
    page.select_option("#id_granularity", "period")
    page.locator("#roi button", has_text="Show").click()
    expect(page.locator("#roi-chart")).to_have_count(0)
    expect(page.locator("[data-testid=roi-bucket]")).to_have_count(1)
