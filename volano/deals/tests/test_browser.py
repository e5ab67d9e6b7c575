"""Giulia drags deal cards across the pipeline board in a real browser (Chromium)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from volano.deals import services
from volano.deals.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there


@pytest.fixture
def page(live_server, client, giulia, chromium_path):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    client.force_login(giulia)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 1800, "height": 1000}, locale="en-GB")
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(8000)
        yield page
        browser.close()
        assert not errors, errors


def test_drag_to_a_column_and_to_lost_with_a_reason(page, live_server, officina, giulia, mario):
    from playwright.sync_api import expect

    deal = services.deal_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Tornio per Rossi", "contact_id": mario.pk, "amount": 12500},
    )
    page.goto(f"{live_server.url}/deals/")
    name = page.locator(f"#deal-{deal.pk} .deal-name")  # a card is picked up by its title
    name.drag_to(page.locator(".board-column[data-stage=negotiation]"))
    expect(page.locator(".board-column[data-stage=negotiation]")).to_contain_text(
        "Tornio per Rossi"
    )

    name.drag_to(page.locator(".board-column[data-stage=lost]"))
    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("prezzo troppo alto")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "deals-lost.png"))
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(".board-column[data-stage=lost]")).to_contain_text("prezzo troppo alto")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "deals-board.png"), full_page=True)
    deal = Deal.objects.for_workspace(officina).get(pk=deal.pk)
    assert (deal.stage, deal.lost_reason) == ("lost", "prezzo troppo alto")
