"""A list's page in Chromium at 1440×900 and on a phone: the members table fits its card.

The old page put the members beside the "add contacts" card, and the table ran past its own
card: the last column's "Remove" buttons were cut to "Rimuo"."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.segments import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1440


@pytest.fixture
def fiera(officina, giulia):
    """A trade-fair list of people with long addresses and long company names."""
    contact_list = services.list_create(
        workspace=officina, actor=giulia, slug="fiera-eima-2025", name="Fiera EIMA 2025"
    )
    ids = []
    for n in range(12):
        company = contact_services.company_create(
            workspace=officina,
            actor=giulia,
            data={"name": f"Legnami Varano Borghi e Figli {n} S.r.l."},
        )
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "email": f"caterina.bernardi{n}@legnamivaranoborghiefigli.it",
                "first_name": "Caterina",
                "last_name": "Bernardi",
                "company_id": company.pk,
                "province": "VA",
            },
        )
        ids.append(contact.pk)
    services.list_add(workspace=officina, contact_list=contact_list, contact_ids=ids)
    return contact_list


def _fits(page) -> dict:
    return page.evaluate(
        """() => {
          const wrap = document.querySelector('.list-members .table-wrap, #results .table-wrap');
          const table = wrap.querySelector('table');
          const right = wrap.getBoundingClientRect().right;
          const cut = [...wrap.querySelectorAll('button')]
            .filter(b => b.getBoundingClientRect().right > right + 0.5).length;
          return {table: table.scrollWidth, wrap: wrap.clientWidth, cut: cut,
                  page: document.documentElement.scrollWidth, window: innerWidth};
        }"""
    )


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_members_table_fits_its_card(page, live_server, fiera, language):
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/lists/{fiera.slug}/")
    sizes = _fits(page)
    assert sizes["table"] <= sizes["wrap"], sizes
    assert sizes["cut"] == 0, sizes  # every Remove button whole
    assert sizes["page"] <= sizes["window"], sizes


def test_on_a_phone_the_page_does_not_scroll_sideways(page, live_server, fiera):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/lists/{fiera.slug}/")
    sizes = _fits(page)
    assert sizes["page"] <= sizes["window"], sizes  # the table scrolls inside its card instead


def test_adding_contacts_is_one_click_away(page, live_server, fiera, officina, giulia):
    from playwright.sync_api import expect

    contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "nuovo@example.it", "first_name": "Nuovo"}
    )
    page.goto(f"{live_server.url}/lists/{fiera.slug}/")
    page.get_by_text("Add contacts").click()
    page.get_by_label("Email addresses").fill("nuovo@example.it")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.locator(".list-members")).to_contain_text("nuovo@example.it")
