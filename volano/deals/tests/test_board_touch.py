"""Moving a deal on a phone: by finger (the card's grip) and from the keyboard (its Move menu).

HTML drag and drop ignores fingers, so on a touch screen the board could not be changed by
dragging. A finger drags a card by its grip (pointer events, touched through Chromium's own touch
input here, not synthesised DOM events), and the Move menu works by keyboard; both go through
the same endpoint and the same rules as a mouse drop (Lost asks why).
"""

from __future__ import annotations

import pytest

from volano.deals import services
from volano.deals.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 390


@pytest.fixture
def tornio(officina, giulia, mario):
    return services.deal_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Tornio per Rossi", "contact_id": mario.pk, "amount": 12500},
    )


def _stage(officina, deal) -> tuple[str, str]:
    deal = Deal.objects.for_workspace(officina).get(pk=deal.pk)
    return deal.stage, deal.lost_reason


def _finger_drag(page, start: dict, end: dict, *, hold_ms: int = 0) -> None:
    """A finger on the screen, moved in small steps and lifted (Chromium's touch input)."""
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", start["x"], start["y"])
    steps = 12
    for i in range(1, steps + 1):
        touch(
            "touchMove",
            start["x"] + (end["x"] - start["x"]) * i / steps,
            start["y"] + (end["y"] - start["y"]) * i / steps,
        )
        page.wait_for_timeout(16)
    if hold_ms:
        page.wait_for_timeout(hold_ms)
    touch("touchEnd", end["x"], end["y"])


def _centre(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def test_a_finger_drags_a_card_by_its_grip_to_the_next_column(page, live_server, officina, tornio):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/deals/")
    card = page.locator(f"#deal-{tornio.pk}")
    expect(
        page.locator(f".board-column[data-stage=qualification] #deal-{tornio.pk}")
    ).to_be_visible()
    grip = card.locator(".drag-handle")
    expect(grip).to_be_visible()
    target = page.locator(".board-column[data-stage=offer_sent] .column-head")
    target.scroll_into_view_if_needed()
    grip.scroll_into_view_if_needed()
    _finger_drag(page, _centre(grip), _centre(target))
    expect(page.locator(f".board-column[data-stage=offer_sent] #deal-{tornio.pk}")).to_be_visible()
    assert _stage(officina, tornio) == ("offer_sent", "")
    expect(page.locator(".drag-ghost")).to_have_count(0)


def test_a_finger_on_a_card_away_from_the_grip_scrolls_and_moves_nothing(
    page, live_server, officina, tornio
):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/deals/")
    name = page.locator(f"#deal-{tornio.pk} .deal-amount")
    start = _centre(name)
    _finger_drag(page, start, {"x": start["x"] - 150, "y": start["y"]})
    page.wait_for_timeout(300)
    assert _stage(officina, tornio) == ("qualification", "")
    expect(
        page.locator(f".board-column[data-stage=qualification] #deal-{tornio.pk}")
    ).to_be_visible()


def test_a_finger_drag_to_lost_asks_why_first(page, live_server, officina, tornio):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/deals/")
    grip = page.locator(f"#deal-{tornio.pk} .drag-handle")
    start = _centre(grip)
    # held at the board's right edge, the columns scroll along until Lost is under the finger
    board = page.locator(".board-columns").bounding_box()
    assert board is not None
    edge = {"x": board["x"] + board["width"] - 10, "y": start["y"] + 40}
    lost = page.locator(".board-column[data-stage=lost]")
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{**start, "id": 1}]}
    )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{**edge, "id": 1}]})
    for _ in range(200):
        box = lost.bounding_box()
        if box and box["x"] < edge["x"] - 40:
            break
        page.wait_for_timeout(25)
    box = lost.bounding_box()
    assert box is not None and box["x"] < edge["x"] - 40, box
    spot = {"x": box["x"] + 30, "y": edge["y"]}
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{**spot, "id": 1}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    dialog = page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("prezzo troppo alto")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(f".board-column[data-stage=lost] #deal-{tornio.pk}")).to_contain_text(
        "prezzo troppo alto"
    )
    assert _stage(officina, tornio) == ("lost", "prezzo troppo alto")


def test_the_move_menu_works_from_the_keyboard(page, live_server, officina, tornio):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/deals/")
    summary = page.locator(f"#deal-{tornio.pk} .move-menu > summary")
    summary.focus()
    page.keyboard.press("Enter")  # opens the menu
    negotiation = page.locator(f"#deal-{tornio.pk} .move-to", has_text="Negotiation")
    expect(negotiation).to_be_visible()
    for _ in range(10):
        if negotiation.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(negotiation).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f".board-column[data-stage=negotiation] #deal-{tornio.pk}")).to_be_visible()
    assert _stage(officina, tornio) == ("negotiation", "")

    # Lost takes its reason in the menu, and Enter in the reason field sends it
    page.locator(f"#deal-{tornio.pk} .move-menu > summary").focus()
    page.keyboard.press("Enter")
    reason = page.locator(f"#reason-{tornio.pk}")
    reason.focus()
    page.keyboard.type("budget rinviato")
    page.keyboard.press("Enter")
    expect(page.locator(f".board-column[data-stage=lost] #deal-{tornio.pk}")).to_contain_text(
        "budget rinviato"
    )
    assert _stage(officina, tornio) == ("lost", "budget rinviato")
