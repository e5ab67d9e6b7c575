"""The deal board as a marketer sees it on a 1440×900 screen and on a phone (Chromium).

The old board squeezed seven columns into the page: card facts wrapped two or three letters per
line ("Mo/nic/a Co/sta/nti/ni"), the Lost column was cut off and the page grew to 6,000 px.
These tests measure the rendered page, so they fail on that layout.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.deals import services
from volano.deals.models import Deal, DealStage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1440
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

# Text shorter than this many characters' width means a word was chopped into letters.
MIN_CHARACTERS = 8


@pytest.fixture
def pipeline(officina, giulia, marco):
    """Three deals in every stage, with long Italian names, two owners and some overdue."""
    today = timezone.localdate()
    deals = []
    for i, stage in enumerate(DealStage.values):
        for j in range(3):
            n = i * 3 + j
            company = contact_services.company_create(
                workspace=officina,
                actor=giulia,
                data={"name": f"Costantini Macchine Agricole {n} S.r.l."},
            )
            contact = contact_services.contact_create(
                workspace=officina,
                actor=giulia,
                data={
                    "email": f"monica.costantini{n}@costantinimacchine.it",
                    "first_name": "Monica",
                    "last_name": "Costantini",
                    "company_id": company.pk,
                },
            )
            deal = services.deal_create(
                workspace=officina,
                actor=giulia,
                data={
                    "name": f"Spaccalegna SP 12 t — D-{n:07d}",
                    "contact_id": contact.pk,
                    "company_id": company.pk,
                    "amount": 14900 + n,
                    "owner_id": (giulia if j % 2 else marco).pk,
                    # the first deal of each stage is overdue, the others are due later
                    "expected_close": (
                        today - dt.timedelta(days=5) if j == 0 else today + dt.timedelta(days=20)
                    ).isoformat(),
                },
            )
            if stage != DealStage.QUALIFICATION:
                services.deal_move(
                    workspace=officina,
                    actor=giulia,
                    deal=deal,
                    stage=stage,
                    reason="prezzo troppo alto" if stage == DealStage.LOST else "",
                )
            deals.append(deal)
    return deals


def _board(page, live_server, size):
    page.set_viewport_size(size)
    page.goto(f"{live_server.url}/deals/?view=all")


def _too_narrow(page) -> list[str]:
    """Card texts rendered narrower than MIN_CHARACTERS characters of their own font."""
    return page.evaluate(
        """(minChars) => {
          const out = [];
          for (const el of document.querySelectorAll('.deal-card *')) {
            const text = [...el.childNodes].filter(n => n.nodeType === 3)
              .map(n => n.textContent).join('').trim();
            if (text.length < minChars || !el.getClientRects().length) continue;
            if (el.closest('.visually-hidden, details:not([open]) > :not(summary)')) continue;
            const charWidth = parseFloat(getComputedStyle(el).fontSize) * 0.5;
            const width = el.getBoundingClientRect().width;
            if (width < minChars * charWidth) out.push(`${text} (${Math.round(width)} px)`);
          }
          return out;
        }""",
        MIN_CHARACTERS,
    )


def test_card_text_reads_on_lines_not_letters(page, live_server, pipeline):
    _board(page, live_server, DESKTOP)
    assert _too_narrow(page) == []
    # a person's name stays on one line, as does a date
    one_line = page.evaluate(
        """() => [...document.querySelectorAll('.deal-contact, .deal-date time')]
            .filter(el => el.getClientRects().length > 1).map(el => el.textContent)"""
    )
    assert one_line == []


def test_columns_scroll_sideways_inside_the_board_not_the_page(page, live_server, pipeline):
    for size in (DESKTOP, PHONE):
        _board(page, live_server, size)
        sizes = page.evaluate(
            """() => {
              const board = document.querySelector('.board-columns');
              return {board: board.scrollWidth, visible: board.clientWidth,
                      page: document.documentElement.scrollWidth, window: innerWidth,
                      top: board.getBoundingClientRect().top, height: innerHeight,
                      bottom: board.getBoundingClientRect().bottom};
            }"""
        )
        assert sizes["board"] > sizes["visible"], (size, sizes)  # the board scrolls sideways
        assert sizes["page"] <= sizes["window"], (size, sizes)  # the page does not
        # the whole board, its sideways scrollbar included, fits in the window's height (on a
        # phone once the menu above it is scrolled away), instead of growing to 6,000 px
        assert sizes["bottom"] - sizes["top"] <= sizes["height"], (size, sizes)
        if size is DESKTOP:
            assert sizes["bottom"] <= sizes["height"], sizes


def test_every_column_is_there_and_the_lost_one_can_be_reached(page, live_server, pipeline):
    _board(page, live_server, DESKTOP)
    stages = page.locator(".board-column").evaluate_all("els => els.map(e => e.dataset.stage)")
    assert stages == DealStage.values
    lost = page.locator(".board-column[data-stage=lost]")
    lost.scroll_into_view_if_needed()
    box = lost.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"]
    assert page.evaluate("window.scrollX") == 0  # the board scrolled, not the page
    assert "prezzo troppo alto" in lost.inner_text()


def test_a_card_shows_who_how_much_when_and_whose(page, live_server, pipeline, marco):
    from playwright.sync_api import expect

    _board(page, live_server, DESKTOP)
    overdue = pipeline[0]  # qualification, closing five days ago, Marco's
    card = page.locator(f"#deal-{overdue.pk}")
    expect(card.locator(".deal-name")).to_have_text(overdue.name)
    expect(card.locator(".deal-contact")).to_have_text("Monica Costantini")
    expect(card.locator(".deal-company")).to_have_text("Costantini Macchine Agricole 0 S.r.l.")
    expect(card.locator(".deal-amount")).to_have_text("€ 14,900.00")
    expect(card.locator(".deal-owner")).to_contain_text("Marco Neri")  # by name, not email
    expect(card.locator(".overdue")).to_have_text("Overdue")  # said in words, not only red
    later = page.locator(f"#deal-{pipeline[1].pk}")
    expect(later.locator(".deal-date")).to_contain_text("Expected close")
    expect(later.locator(".overdue")).to_have_count(0)
    # no form on every card: the stage change is one compact menu
    assert page.locator(".deal-card select").count() == 0
    assert page.locator(".deal-card input:visible").count() == 0


def test_the_move_menu_moves_a_card_and_asks_why_it_was_lost(page, live_server, pipeline):
    from playwright.sync_api import expect

    _board(page, live_server, DESKTOP)
    deal = pipeline[0]
    card = page.locator(f"#deal-{deal.pk}")
    card.locator(".move-menu > summary").click()
    card.get_by_role("button", name="Negotiation").click()
    expect(page.locator(f".board-column[data-stage=negotiation] #deal-{deal.pk}")).to_be_visible()

    card = page.locator(f"#deal-{deal.pk}")
    card.locator(".move-menu > summary").click()
    card.get_by_label("Lost? Say why").fill("budget rinviato")
    card.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(f".board-column[data-stage=lost] #deal-{deal.pk}")).to_contain_text(
        "budget rinviato"
    )
    deal = Deal.objects.for_workspace(deal.workspace).get(pk=deal.pk)
    assert (deal.stage, deal.lost_reason) == ("lost", "budget rinviato")


def test_the_board_in_italian_on_a_phone(page, live_server, pipeline):
    page.context.add_cookies([{"name": "django_language", "value": "it", "url": live_server.url}])
    _board(page, live_server, PHONE)
    assert page.locator("h1").inner_text() == "Trattative"
    assert _too_narrow(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_drag_and_drop_works_in_the_scrolled_board(page, live_server, pipeline):
    from playwright.sync_api import expect

    _board(page, live_server, DESKTOP)
    deal = pipeline[0]  # in Qualification, the first column
    page.locator(f"#deal-{deal.pk} .deal-name").drag_to(
        page.locator(".board-column[data-stage=offer_sent]")
    )
    expect(page.locator(f".board-column[data-stage=offer_sent] #deal-{deal.pk}")).to_be_visible()

    # scrolled to its end, the board shows Won and Lost; a card dropped there moves there
    page.evaluate("document.querySelector('.board-columns').scrollLeft = 1e6")
    negotiating = pipeline[3 * 4]  # the first deal of Negotiation, in sight at the end
    won = page.locator(".board-column[data-stage=won]")
    box = won.bounding_box()
    assert box is not None and box["x"] + box["width"] <= DESKTOP["width"]
    page.locator(f"#deal-{negotiating.pk} .deal-name").drag_to(won)
    expect(page.locator(f".board-column[data-stage=won] #deal-{negotiating.pk}")).to_be_visible()
    assert Deal.objects.for_workspace(deal.workspace).get(pk=negotiating.pk).stage == "won"
