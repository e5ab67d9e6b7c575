"""Deals through their services: validation, the catalogue, and what a deal does to its contact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.contacts.models import Contact
from volano.core.errors import ApplicationError, ValidationFailed
from volano.deals import services
from volano.deals.models import Deal, DealLine, DealStage, Product, ProductLine
from volano.events.models import Event
from volano.lifecycle.models import StageChange
from volano.lifecycle.services import stage_set

pytestmark = pytest.mark.django_db


def _fields(error: ValidationFailed) -> set[str]:
    return {e["field"] for e in error.errors}


def _stage(contact: Contact) -> str:
    contact.refresh_from_db()
    return contact.lifecycle_stage


def _deal(workspace, actor, contact, **data) -> Deal:
    return services.deal_create(
        workspace=workspace,
        actor=actor,
        data={"name": "Fornitura ricambi 2026", "contact_id": contact.pk, **data},
    )


# -- catalogue --------------------------------------------------------------------------------


def test_product_line_is_created_then_renamed_by_slug(officina, giulia):
    services.product_line_save(
        workspace=officina, actor=giulia, data={"slug": "ricambi", "name": "Ricambi"}
    )
    services.product_line_save(
        workspace=officina, actor=giulia, data={"slug": "ricambi", "name": "Ricambi originali"}
    )
    lines = ProductLine.objects.for_workspace(officina)
    assert list(lines.values_list("slug", "name")) == [("ricambi", "Ricambi originali")]


def test_product_line_needs_a_name_and_a_clean_slug(officina, giulia):
    with pytest.raises(ValidationFailed) as caught:
        services.product_line_save(
            workspace=officina, actor=giulia, data={"slug": "Ricambi Auto!", "name": ""}
        )
    assert _fields(caught.value) == {"slug", "name"}


def test_product_line_with_products_cannot_be_deleted(officina, giulia, catalogue):
    ricambi = ProductLine.objects.for_workspace(officina).get(slug="ricambi")
    with pytest.raises(ApplicationError) as caught:
        services.product_line_delete(workspace=officina, actor=giulia, line=ricambi)
    assert "CIN-A42, CUS-6204" in caught.value.message
    empty = services.product_line_save(
        workspace=officina, actor=giulia, data={"slug": "usato", "name": "Usato"}
    )
    services.product_line_delete(workspace=officina, actor=giulia, line=empty)
    assert not ProductLine.objects.for_workspace(officina).filter(slug="usato").exists()


def test_product_needs_an_existing_line_and_a_price_not_below_zero(officina, giulia, catalogue):
    with pytest.raises(ValidationFailed) as caught:
        services.product_save(
            workspace=officina,
            actor=giulia,
            data={"sku": "X-1", "name": "Pezzo", "product_line": "ricmabi", "price": -3},
        )
    assert _fields(caught.value) == {"product_line", "price"}
    assert "ricmabi" in caught.value.errors[0]["message"]


def test_product_update_by_sku_keeps_what_is_not_given(officina, giulia, catalogue):
    services.product_save(
        workspace=officina, actor=giulia, data={"sku": "CUS-6204", "price": "13,90"}
    )
    product = Product.objects.for_workspace(officina).get(sku="CUS-6204")
    assert (product.name, product.product_line.slug, product.price) == (
        "Cuscinetto 6204",
        "ricambi",
        Decimal("13.90"),
    )


# -- deals ------------------------------------------------------------------------------------


def test_all_errors_at_once_and_nothing_saved(officina, giulia, ferramenta, bruno, catalogue):
    stranger = Contact.objects.create(workspace=ferramenta, email="x@ferramenta.it")
    with pytest.raises(ValidationFailed) as caught:
        services.deal_create(
            workspace=officina,
            actor=giulia,
            data={
                "name": "",
                "contact_id": stranger.pk,
                "owner_id": bruno.pk,
                "expected_close": "31/03/2026",
                "stage": "won-ish",
                "lines": [{"sku": "CUS-6204", "quantity": 2}, {"sku": "NOPE"}],
            },
        )
    assert _fields(caught.value) == {
        "name",
        "contact_id",
        "owner_id",
        "expected_close",
        "stage",
        "lines.1.sku",
    }
    assert not Deal.objects.for_workspace(officina).exists()
    assert not DealLine.objects.for_workspace(officina).exists()


def test_a_deal_needs_a_contact_or_a_company(officina, giulia):
    with pytest.raises(ValidationFailed) as caught:
        services.deal_create(workspace=officina, actor=giulia, data={"name": "Senza cliente"})
    assert _fields(caught.value) == {"contact_id"}


def test_lines_make_the_amount_at_the_product_price_by_default(officina, giulia, catalogue, mario):
    deal = _deal(
        officina,
        giulia,
        mario,
        lines=[
            {"sku": "CUS-6204", "quantity": 4},
            {"sku": "TOR-200", "quantity": 1, "unit_price": "8500"},
        ],
        expected_close="2026-03-31",
    )
    assert deal.amount == Decimal("8550.00")
    assert deal.expected_close == dt.date(2026, 3, 31)
    assert deal.owner == giulia
    assert sorted(deal.lines.values_list("product__sku", "amount")) == [
        ("CUS-6204", Decimal("50.00")),
        ("TOR-200", Decimal("8500.00")),
    ]


def test_an_amount_that_does_not_match_the_lines_is_refused(officina, giulia, catalogue, mario):
    with pytest.raises(ValidationFailed) as caught:
        _deal(officina, giulia, mario, amount=100, lines=[{"sku": "CUS-6204", "quantity": 4}])
    assert _fields(caught.value) == {"amount"}


def test_a_deal_makes_a_lead_an_opportunity(officina, giulia, mario):
    deal = _deal(officina, giulia, mario, amount=5000)
    assert _stage(mario) == "opportunity"
    change = StageChange.objects.for_workspace(officina).get(contact=mario)
    assert (change.from_stage, change.to_stage, change.source) == ("lead", "opportunity", "deal")
    event = Event.objects.for_workspace(officina).get(contact=mario, type="deal_changed")
    assert event.properties["deal_id"] == deal.pk
    assert event.properties["to"] == "qualification"
    assert event.properties["amount"] == 5000.0


def test_a_deal_leaves_a_customer_a_customer(officina, giulia, mario):
    stage_set(workspace=officina, actor=giulia, contact=mario, stage="customer")
    _deal(officina, giulia, mario, amount=5000)
    assert _stage(mario) == "customer"


def test_won_makes_the_contact_a_customer(officina, giulia, mario):
    deal = _deal(officina, giulia, mario, amount=5000)
    deal = services.deal_move(workspace=officina, actor=giulia, deal=deal, stage="won")
    assert deal.closed_at is not None
    assert _stage(mario) == "customer"
    change = StageChange.objects.for_workspace(officina).get(contact=mario, to_stage="customer")
    assert change.source == "deal"
    assert change.reason == "deal won: Fornitura ricambi 2026"
    moves = Event.objects.for_workspace(officina).filter(contact=mario, type="deal_changed")
    assert [(e.properties["from"], e.properties["to"]) for e in moves.order_by("pk")] == [
        ("", "qualification"),
        ("qualification", "won"),
    ]


def test_lost_needs_a_reason(officina, giulia, mario):
    deal = _deal(officina, giulia, mario)
    with pytest.raises(ApplicationError) as caught:
        services.deal_move(workspace=officina, actor=giulia, deal=deal, stage="lost", reason=" ")
    assert caught.value.field == "reason"
    deal.refresh_from_db()
    assert deal.stage == DealStage.QUALIFICATION


def test_lost_sends_an_opportunity_back_to_recycled(officina, giulia, mario):
    deal = _deal(officina, giulia, mario)
    deal = services.deal_move(
        workspace=officina, actor=giulia, deal=deal, stage="lost", reason="prezzo troppo alto"
    )
    assert deal.lost_reason == "prezzo troppo alto"
    assert _stage(mario) == "recycled"
    change = StageChange.objects.for_workspace(officina).get(contact=mario, to_stage="recycled")
    assert change.reason == "deal lost: prezzo troppo alto"
    event = Event.objects.for_workspace(officina).filter(type="deal_changed").latest("pk")
    assert event.properties["reason"] == "prezzo troppo alto"


def test_lost_keeps_the_opportunity_while_another_deal_is_open(officina, giulia, mario):
    first = _deal(officina, giulia, mario)
    _deal(officina, giulia, mario, name="Tornio")
    services.deal_move(workspace=officina, actor=giulia, deal=first, stage="lost", reason="no")
    assert _stage(mario) == "opportunity"


def test_update_changes_fields_but_not_the_stage(officina, giulia, marco, mario):
    deal = _deal(officina, giulia, mario, amount=100)
    services.deal_update(
        workspace=officina,
        actor=giulia,
        deal=deal,
        data={"amount": "1.500,00", "owner_id": marco.pk},
    )
    deal.refresh_from_db()
    assert (deal.amount, deal.owner) == (Decimal("1500.00"), marco)
    with pytest.raises(ValidationFailed) as caught:
        services.deal_update(workspace=officina, actor=giulia, deal=deal, data={"stage": "won"})
    assert _fields(caught.value) == {"stage"}


def test_delete(officina, giulia, mario, ferramenta, bruno):
    deal = _deal(officina, giulia, mario)
    with pytest.raises(ApplicationError):
        services.deal_delete(workspace=ferramenta, actor=bruno, deal=deal)
    services.deal_delete(workspace=officina, actor=giulia, deal=deal)
    assert not Deal.objects.for_workspace(officina).exists()
