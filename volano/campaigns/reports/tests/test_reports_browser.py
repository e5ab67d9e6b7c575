"""The ROI report pages in Chromium under the strict CSP: each chart is drawn, the table shows
the hand-counted figures, and the pages fit 1440x900 and a phone (390px) without sideways
scrolling. Screenshots go to $VOLANO_SCREENSHOTS when set."""

from __future__ import annotations

import os

import pytest

VIEWPORT_WIDTH = 1440
PERIOD = "from=2026-01-01&to=2026-03-31&granularity=month"


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
def test_report_pages_draw_their_chart_and_fit_desktop_and_phone(page, live_server, story):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/campaigns/")
    page.locator("a", has_text="ROI reports").first.click()
    expect(page.locator("h1")).to_have_text("ROI reports")
    for name in ("sqls", "sql-revenue", "cross-sell", "content-funnel"):
        page.goto(f"{live_server.url}/campaigns/reports/{name}/?{PERIOD}")
        expect(page.locator("#report-chart")).to_have_attribute("data-drawn", "true")
        _shot(page, f"report-{name}-1440.png")
        _no_sideways_scroll(page)
    table = page.locator("[data-testid=report-table] tbody tr").first
    expect(table).to_contain_text("White paper tornitura")
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("sqls", "content-funnel"):
        page.goto(f"{live_server.url}/campaigns/reports/{name}/?{PERIOD}")
        expect(page.locator("#report-chart")).to_have_attribute("data-drawn", "true")
        _shot(page, f"report-{name}-390.png")
        _no_sideways_scroll(page)
