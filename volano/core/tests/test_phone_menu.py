"""The top navigation on a phone (390 px wide): folded behind a Menu button, in real Chromium.

On a phone the page links, the workspace, the language switch and the account used to fill the
whole first screen; they now open and close with one button (aria-expanded, Escape closes), and
a wide screen keeps its sidebar with no button.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 390


def _menu(page):
    return page.get_by_role("button", name="Menu")


def test_the_menu_opens_and_its_links_work(page, live_server):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    button = _menu(page)
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "site-menu")
    expect(nav).to_be_hidden()  # the first screen is the page, not thirty links
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    expect(page.locator("#notification-bell")).to_be_visible()  # the bell stays in the bar

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Giulia Verdi")).to_be_visible()
    expect(page.locator(".workspace-name")).to_have_text("Officina Rossi S.r.l.")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    nav.get_by_role("link", name="Companies").click()
    expect(page).to_have_url(f"{live_server.url}/companies/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Companies")
    expect(_menu(page)).to_have_attribute("aria-expanded", "false")  # a new page starts closed
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_hidden()


def test_the_menu_works_from_the_keyboard_and_escape_closes_it(page, live_server):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/contacts/")
    button = _menu(page)
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav).to_be_visible()
    # the panel follows the button in the tab order: the workspace, then the first page link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#site-menu') !== null")

    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()  # the focus goes back where the menu came from

    page.keyboard.press("Space")
    expect(nav).to_be_visible()
    page.keyboard.press("Space")  # the button closes what it opened
    expect(nav).to_be_hidden()


def test_the_language_switch_is_reachable_in_the_menu(page, live_server):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/deals/")
    _menu(page).click()
    page.get_by_role("button", name="IT").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trattative")
    expect(_menu(page)).to_be_visible()  # "Menu" in Italian too


def test_a_wide_screen_keeps_the_sidebar_and_no_menu_button(page, live_server):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/")
    expect(_menu(page)).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav).to_be_visible()
    box = nav.bounding_box()
    main = page.locator("main").bounding_box()
    assert box is not None and main is not None
    assert box["x"] == 0 and box["x"] + box["width"] <= main["x"]  # a sidebar, beside the page
    assert box["height"] >= 800  # down the whole window
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    page.keyboard.press("Escape")  # nothing to close: the sidebar stays
    expect(nav).to_be_visible()
