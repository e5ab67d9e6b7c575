"""The response curves page in Chromium under the strict CSP: the curves are drawn, the
optimiser and the what-if answer in place (HTMX), and the page fits 1440x900 and a phone
(390px) without sideways scrolling. Screenshots go to $VOLANO_SCREENSHOTS when set."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from volano.budgets.services import response_model_fit
from volano.budgets.simulation import simulate, simulation_store

VIEWPORT_WIDTH = 1440


@pytest.fixture
def fitted(officina, giulia):
    first = dt.date(2024, 1, 1)
    simulation_store(workspace=officina, simulated=simulate(first_monday=first, weeks=104))
    return response_model_fit(
        workspace=officina,
        actor=giulia,
        outcome="revenue",
        date_from=first,
        date_to=dt.date(2025, 12, 28),
        bootstrap=30,
    )


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
def test_the_curves_are_drawn_and_the_optimiser_answers_in_place(page, live_server, fitted):
    from playwright.sync_api import expect

    page.set_default_timeout(30000)  # the machine is shared: ECharts takes a while to load
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/budgets/response/")
    expect(page.locator("#response-chart")).to_have_attribute("data-drawn", "true")
    expect(page.locator("[data-testid=channels] tbody tr")).to_have_count(6)
    # a slider writes its amount in the field the form sends, and the answer follows the change
    page.locator("input[data-pair='lo-google_ads']").fill("1000")
    expect(page.locator("input[name='lo-google_ads']")).to_have_value("1000")
    expect(page.locator("#optimise-result [data-testid=allocation] tbody tr")).to_have_count(6)
    page.locator("button", has_text="Recommend a split").click()
    expect(page.locator("#optimise-result [data-testid=allocation] tbody tr")).to_have_count(6)
    page.locator("input[data-pair='pct-meta_ads']").fill("50")
    expect(page.locator("input[name='pct-meta_ads']")).to_have_value("50")
    expect(page.locator("#whatif-result [data-testid=figures]")).to_be_visible()
    page.locator("input[name='pct-google_ads']").fill("20")
    page.locator("input[name='pct-stampa']").fill("-30")
    page.locator("button", has_text="Estimate").click()
    expect(page.locator("#whatif-result [data-testid=figures]")).to_be_visible()
    _no_sideways_scroll(page)
    _shot(page, "budgets-response-1440.png")
    # a budget below the lowest amounts is refused where the answer was, not left unseen
    page.locator("#budget").fill("100")
    page.locator("input[name='lo-google_ads']").fill("500")
    page.locator("button", has_text="Recommend a split").click()
    expect(page.locator("#optimise-result [data-testid=figures-error]")).to_contain_text(
        "below the sum of the lowest amounts"
    )
    expect(page.locator("#optimise-result [data-testid=allocation]")).to_have_count(0)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/budgets/response/")
    expect(page.locator("#response-chart")).to_have_attribute("data-drawn", "true")
    page.locator("button", has_text="Recommend a split").click()
    expect(page.locator("#optimise-result [data-testid=allocation]")).to_be_visible()
    _no_sideways_scroll(page)
    _shot(page, "budgets-response-390.png")
