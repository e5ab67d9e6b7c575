"""The costs page in Chromium under the strict CSP: a file is previewed and imported through
the form, the monthly chart is drawn, and the page fits 1440x900 and a phone (390px) without
sideways scrolling. Screenshots go to $VOLANO_SCREENSHOTS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from volano.campaigns.costs.services import cost_create

SAMPLES = Path(__file__).parent.parent / "costs" / "samples"


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
def test_costs_page_previews_imports_and_draws_the_chart(page, live_server, officina, giulia):
    from playwright.sync_api import expect

    cost_create(
        workspace=officina,
        actor=giulia,
        data={"day": "2026-02-10", "amount": "9800", "kind": "fair", "note": "Stand Fieragricola"},
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/campaigns/costs/")
    page.set_input_files("input[name=file]", str(SAMPLES / "meta_it.csv"))
    page.locator("button", has_text="Check the file").click()
    expect(page.locator("[data-testid=cost-preview]")).to_contain_text("Retargeting Sito")
    _shot(page, "costs-preview-1440.png")
    page.locator("button", has_text="Import these costs").click()
    expect(page.locator("#costs-chart")).to_have_attribute("data-drawn", "true")
    expect(page.locator("[data-testid=costs-by-channel]")).to_contain_text("Paid Social")
    _shot(page, "costs-1440.png")
    _no_sideways_scroll(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/campaigns/costs/")
    expect(page.locator("#costs-chart")).to_have_attribute("data-drawn", "true")
    _shot(page, "costs-390.png")
    _no_sideways_scroll(page)
