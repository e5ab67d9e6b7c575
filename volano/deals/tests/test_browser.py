"""Giulia drags deal cards across the pipeline board in a real browser (Chromium)."""

from __future__ import annotations

import os

import pytest

from volano.deals import services
from volano.deals.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1800  # the whole board, Won and Lost included
SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there


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
