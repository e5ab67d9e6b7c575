"""The plan grid in Chromium under the strict CSP: a plan started from the B2B template shows
80/15/5 with a warning, a cell changed in the grid is saved in place (HTMX) and the totals
follow, a negative amount is refused on its row, the rebalance brings the split to 70/20/10, and
a review recorded on the history page keeps version 2. The page fits 1440x900 and a phone
without sideways scrolling. Screenshots go to $VOLANO_SCREENSHOTS when set."""

from __future__ import annotations

import os

import pytest

from volano.budgets.plan_models import PlanLine

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
def test_start_from_template_edit_the_grid_rebalance_and_review(page, live_server, officina):
    from playwright.sync_api import expect

    page.set_default_timeout(30000)  # the machine is shared: ECharts takes a while to load
    page.set_default_navigation_timeout(90000)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/budgets/plans/")
    page.fill("#plan-name", "Piano 2026")
    page.fill("#plan-year", "2026")
    page.locator("button", has_text="Make the plan").click()
    expect(page.locator("[data-plan-gauge]")).to_have_attribute("data-drawn", "true")
    expect(page.locator("[data-testid=mix-warning]")).to_contain_text("80/15/5")
    expect(page.locator("[data-testid=plan-total]")).to_have_text("€ 84,000.00")
    _shot(page, "plan-template-1440.png")
    _no_sideways_scroll(page)

    row = page.locator("[data-testid=plan-line]").first
    cell = row.locator("input[name=m1]")
    before = PlanLine.objects.for_workspace(officina).order_by("position").first()
    cell.fill(str(int(before.m1) + 1000))
    cell.press("Tab")
    expect(page.locator("[data-testid=plan-total]")).to_have_text("€ 85,000.00")
    before.refresh_from_db()
    assert before.total == 15600 + 1000

    cell.fill("-5")
    cell.press("Tab")
    expect(row.locator("[data-testid=row-error]")).to_contain_text("cannot be negative")
    before.refresh_from_db()
    assert before.total == 16600  # the refused value changed nothing

    page.locator("[data-testid=rebalance]").click()
    expect(page.locator("[data-testid=mix-ok]")).to_contain_text("70/20/10")
    expect(page.locator("[data-testid=share-proven]")).to_have_text("70%")

    plan_url = page.url
    page.locator("[data-testid=history-link]").click()
    page.fill("#review-notes", "Ribilanciato verso 70/20/10")
    page.locator("[data-testid=record-review]").click()
    expect(page.locator("[data-testid=reviews]")).to_contain_text("version 1 → 2")
    expect(page.locator("[data-testid=versions] li")).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(plan_url)
    expect(page.locator("[data-plan-gauge]")).to_have_attribute("data-drawn", "true")
    _shot(page, "plan-phone.png")
    _no_sideways_scroll(page)
