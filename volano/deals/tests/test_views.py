"""The deals pages through HTTP: the board, moving a deal, a new deal and the catalogue."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.core import services as core_services
from volano.core.models import Role
from volano.deals import selectors, services
from volano.deals.models import Deal, Product, ProductLine

pytestmark = pytest.mark.django_db

BOARD = "/deals/"


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def deals(officina, giulia, marco, mario, anna):
    """Giulia's offer to Mario (€ 12.500) and Marco's spare parts for Anna (€ 800)."""
    offer = services.deal_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Tornio per Rossi",
            "contact_id": mario.pk,
            "amount": "12500",
            "expected_close": "2026-06-30",
        },
    )
    parts = services.deal_create(
        workspace=officina,
        actor=marco,
        data={"name": "Ricambi Bruni", "contact_id": anna.pk, "amount": 800},
    )
    return {"offer": offer, "parts": parts}


def _column(html: str, stage: str) -> str:
    start = html.index(f'data-stage="{stage}" aria-labelledby')
    end = html.find("</section>", start)
    return html[start:end]


def test_board_has_a_column_per_stage_and_the_cards(signed_in, deals):
    html = signed_in.get(BOARD, {"view": "all"}).content.decode()
    for label in ("Qualification", "Offer sent", "Negotiation", "Won", "Lost"):
        assert label in html
    qualification = _column(html, "qualification")
    assert "Tornio per Rossi" in qualification and "Ricambi Bruni" in qualification
    assert "€ 12,500.00" in qualification  # English separators in English
    assert "Mario Rossi" in qualification
    assert 'draggable="true"' in html
    assert "deals/board.js" in html


def test_amounts_use_italian_separators_in_italian(signed_in, deals):
    with translation.override("it"):
        html = signed_in.get(BOARD, {"view": "all"}, headers={"accept-language": "it"})
    html = html.content.decode()
    assert "€ 12.500,00" in html


def test_a_sales_rep_starts_on_their_own_deals(client, marco, deals):
    client.force_login(marco)
    html = client.get(BOARD).content.decode()
    assert "Ricambi Bruni" in html
    assert "Tornio per Rossi" not in html
    assert "Tornio per Rossi" in client.get(BOARD, {"view": "all"}).content.decode()


def test_a_marketer_starts_on_all_deals(signed_in, deals):
    html = signed_in.get(BOARD).content.decode()
    assert "Tornio per Rossi" in html and "Ricambi Bruni" in html


def test_drag_move_re_renders_the_board(signed_in, officina, deals):
    offer = deals["offer"]
    response = signed_in.post(
        reverse("deals:stage", args=[offer.pk]),
        {"stage": "negotiation", "view": "all"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="board"')
    assert "Tornio per Rossi" in _column(html, "negotiation")
    assert Deal.objects.for_workspace(officina).get(pk=offer.pk).stage == "negotiation"


def test_fallback_menu_moves_without_javascript(signed_in, officina, mario, deals):
    offer = deals["offer"]
    response = signed_in.post(
        reverse("deals:stage", args=[offer.pk]), {"stage": "won", "view": "all"}
    )
    assert response.status_code == 302
    html = signed_in.get(response["Location"]).content.decode()
    assert "“Tornio per Rossi” moved to Won." in html
    assert "Tornio per Rossi" in _column(html, "won")
    assert Contact.objects.for_workspace(officina).get(pk=mario.pk).lifecycle_stage == "customer"
    card = html[html.index('id="deal-' + str(offer.pk)) :]
    card = card[: card.index("</li>")]
    assert '<details class="move-menu">' in card  # one compact menu, not a form on every card
    assert '<button type="submit" name="stage" value="negotiation"' in card
    assert '<select name="stage"' not in card


def test_lost_without_a_reason_asks_for_it(signed_in, officina, deals):
    offer = deals["offer"]
    url = reverse("deals:stage", args=[offer.pk])
    response = signed_in.post(url, {"stage": "lost", "view": "all"})
    assert response.status_code == 422
    assert "Say why “Tornio per Rossi” was lost." in response.content.decode()
    htmx = signed_in.post(url, {"stage": "lost"}, headers={"HX-Request": "true"})
    assert 'role="alert"' in htmx.content.decode()
    assert Deal.objects.for_workspace(officina).get(pk=offer.pk).stage == "qualification"
    signed_in.post(url, {"stage": "lost", "reason": "budget rinviato"})
    assert Deal.objects.for_workspace(officina).get(pk=offer.pk).lost_reason == "budget rinviato"


def test_the_board_has_the_lost_reason_dialog(signed_in, deals):
    html = signed_in.get(BOARD).content.decode()
    assert '<dialog id="lost-dialog"' in html


def test_a_viewer_sees_the_board_but_cannot_move(client, officina, deals):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    html = client.get(BOARD, {"view": "all"}).content.decode()
    assert "Tornio per Rossi" in html and "move-menu" not in html
    response = client.post(reverse("deals:stage", args=[deals["offer"].pk]), {"stage": "won"})
    assert response.status_code == 403


def test_another_workspace_sees_and_moves_nothing(client, bruno, officina, deals):
    client.force_login(bruno)
    assert "Tornio per Rossi" not in client.get(BOARD, {"view": "all"}).content.decode()
    response = client.post(reverse("deals:stage", args=[deals["offer"].pk]), {"stage": "won"})
    assert response.status_code == 404
    assert Deal.objects.for_workspace(officina).get(pk=deals["offer"].pk).stage == "qualification"


def test_new_deal_with_products(signed_in, officina, giulia, catalogue, mario):
    page = signed_in.get("/deals/new/")
    assert "Cuscinetto 6204" in page.content.decode()
    response = signed_in.post(
        "/deals/new/",
        {
            "name": "Cuscinetti per Rossi",
            "contact": "MARIO.ROSSI@example.it",
            "amount": "",
            "expected_close": "2026-05-31",
            "owner": str(giulia.pk),
            "stage": "qualification",
            "line_sku": ["CUS-6204", "", ""],
            "line_quantity": ["10", "", ""],
        },
    )
    assert response.status_code == 302, response.content.decode()
    deal = Deal.objects.for_workspace(officina).get()
    assert (deal.name, deal.contact, str(deal.amount)) == ("Cuscinetti per Rossi", mario, "125.00")


def test_new_deal_errors_are_shown_next_to_the_fields(signed_in, officina):
    response = signed_in.post(
        "/deals/new/",
        {"name": "", "contact": "nobody@example.it", "stage": "qualification"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "No contact with this email address or id." in html
    assert "This field is required." in html
    assert not Deal.objects.for_workspace(officina).exists()


def test_catalogue_add_and_edit(signed_in, officina):
    response = signed_in.post(
        "/products/", {"form": "line", "line-slug": "ricambi", "line-name": "Ricambi"}
    )
    assert response.status_code == 302
    response = signed_in.post(
        "/products/",
        {
            "form": "product",
            "product-sku": "CUS-6204",
            "product-name": "Cuscinetto 6204",
            "product-product_line": "ricambi",
            "product-price": "12,50",
            "product-active": "on",
        },
    )
    assert response.status_code == 302
    product = Product.objects.for_workspace(officina).get(sku="CUS-6204")
    assert str(product.price) == "12.50"
    html = signed_in.get("/products/").content.decode()
    assert "Cuscinetto 6204" in html and "Ricambi" in html
    edit = signed_in.post(
        f"/products/{product.pk}/edit/",
        {"name": "Cuscinetto 6204-2RS", "product_line": "ricambi", "price": "14"},
    )
    assert edit.status_code == 302
    product.refresh_from_db()
    assert (product.name, str(product.price), product.active) == (
        "Cuscinetto 6204-2RS",
        "14.00",
        False,
    )


def test_catalogue_refuses_a_bad_product_line_code(signed_in, officina):
    response = signed_in.post(
        "/products/", {"form": "line", "line-slug": "Ricambi Auto", "line-name": "Ricambi"}
    )
    assert response.status_code == 422
    assert not ProductLine.objects.for_workspace(officina).exists()


def test_contact_panel_fragment(rf, officina, giulia, catalogue, mario, deals):
    context = selectors.contact_panel_context(workspace=officina, contact=mario)
    html = render_to_string(
        "deals/_contact_panel.html", {**context, "contact": mario, "membership": None}
    )
    assert "Tornio per Rossi" in html
    assert "€ 12,500.00" in html
    assert "Nothing bought yet." in html
    # Mario bought nothing: no cross-sell advice (every line would be "not bought yet")
    assert "Could also buy" not in html and "Already buys every" not in html


def test_product_line_rename_and_delete(signed_in, officina, catalogue):
    assert signed_in.get("/products/lines/ricambi/edit/").status_code == 200
    response = signed_in.post("/products/lines/ricambi/edit/", {"name": "Ricambi originali"})
    assert response.status_code == 302
    assert ProductLine.objects.for_workspace(officina).get(slug="ricambi").name == (
        "Ricambi originali"
    )
    refused = signed_in.post("/products/lines/ricambi/delete/", follow=True)
    assert "still has products" in refused.content.decode()
    signed_in.post("/products/", {"form": "line", "line-slug": "usato", "line-name": "Usato"})
    signed_in.post("/products/lines/usato/delete/")
    assert not ProductLine.objects.for_workspace(officina).filter(slug="usato").exists()
    product = Product.objects.for_workspace(officina).get(sku="CUS-6204")
    assert "Cuscinetto 6204" in signed_in.get(f"/products/{product.pk}/edit/").content.decode()


def test_the_board_reads_the_same_number_of_queries_for_2_or_20_deals(
    signed_in, officina, giulia, marco, deals
):
    """Each card shows its contact, company and owner: loaded with the deals, not card by card."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(BOARD, {"view": "all"}).status_code == 200
        return len(captured)

    queries()  # the first page of a session reads a few things once
    few = queries()
    for n in range(18):
        company = contact_services.company_create(
            workspace=officina, actor=giulia, data={"name": f"Azienda Agricola {n}"}
        )
        services.deal_create(
            workspace=officina,
            actor=giulia,
            data={"name": f"Trattore {n}", "company_id": company.pk, "owner_id": marco.pk},
        )
    assert queries() == few


def test_an_overdue_deal_says_so_in_words(signed_in, officina, giulia, mario):
    services.deal_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Tornio in ritardo", "contact_id": mario.pk, "expected_close": "2020-01-31"},
    )
    html = signed_in.get(BOARD, {"view": "all"}).content.decode()
    card = html[html.rindex("<li", 0, html.index('data-name="Tornio in ritardo"')) :]
    card = card[: card.index("</li>")]
    assert "is-overdue" in card and '<span class="badge bad overdue">Overdue</span>' in card
    assert "31 Jan 2020" in card


def test_a_card_names_the_contacts_company_when_the_deal_has_none(
    signed_in, officina, giulia, mario
):
    company = contact_services.company_create(
        workspace=officina, actor=giulia, data={"name": "Rossi Meccanica S.r.l."}
    )
    contact_services.contact_update(
        workspace=officina, actor=giulia, contact=mario, data={"company_id": company.pk}
    )
    deal = services.deal_create(
        workspace=officina, actor=giulia, data={"name": "Tornio", "contact_id": mario.pk}
    )
    Deal.objects.for_workspace(officina).filter(pk=deal.pk).update(company=None)
    html = signed_in.get(BOARD, {"view": "all"}).content.decode()
    assert '<span class="deal-company">Rossi Meccanica S.r.l.</span>' in html
