"""The customer profile and the pipeline board on small, hand-counted fixtures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from volano.contacts.models import Company, Contact
from volano.deals import selectors, services
from volano.orders.services import order_create

pytestmark = pytest.mark.django_db


def _buy(workspace, actor, contact, number, days_ago, line, amount, status="completed"):
    order_create(
        workspace=workspace,
        actor=actor,
        data={
            "number": number,
            "contact_id": contact.pk,
            "status": status,
            "ordered_at": (timezone.now() - dt.timedelta(days=days_ago)).isoformat(),
            "lines": [{"product_name": line.title(), "product_line": line, "amount": amount}],
        },
    )


@pytest.fixture
def buyers(officina, giulia, catalogue, mario, anna):
    """Twelve months of ricambi: Mario 100 (and 300 two years ago), Anna 500, Luca 900, Sara 50
    (her 9,999 order was cancelled); Anna also bought a lathe for 9,000.
    Mario and Anna work at small companies (10-49), Luca at a large one, Sara has no company."""
    small = Company.objects.create(workspace=officina, name="Rossi Srl", size_band="10-49")
    small_too = Company.objects.create(workspace=officina, name="Bruni Snc", size_band="10-49")
    large = Company.objects.create(workspace=officina, name="Grandi SpA", size_band="250+")
    luca = Contact.objects.create(workspace=officina, email="luca@example.it", company=large)
    sara = Contact.objects.create(workspace=officina, email="sara@example.it")
    Contact.objects.for_workspace(officina).filter(pk=mario.pk).update(company=small)
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(company=small_too)
    _buy(officina, giulia, mario, "A-1", 20, "ricambi", 100)
    _buy(officina, giulia, mario, "A-0", 700, "ricambi", 300)
    _buy(officina, giulia, anna, "B-1", 40, "ricambi", 500)
    _buy(officina, giulia, anna, "B-2", 60, "macchine", 9000)
    _buy(officina, giulia, luca, "C-1", 10, "ricambi", 900)
    _buy(officina, giulia, sara, "D-1", 5, "ricambi", 50)
    _buy(officina, giulia, sara, "D-2", 5, "ricambi", 9999, status="cancelled")
    return {"mario": mario, "anna": anna, "luca": luca, "sara": sara}


def _contact(officina, contact):
    return Contact.objects.for_workspace(officina).select_related("company").get(pk=contact.pk)


def test_lines_bought_cross_sell_and_up_sell(officina, buyers):
    mario = _contact(officina, buyers["mario"])
    profile = selectors.customer_profile(workspace=officina, contact=mario)
    assert profile["is_customer"]
    assert profile["spend_12m"] == Decimal("100.00")
    [ricambi] = profile["lines"]
    assert (ricambi["name"], ricambi["total"], ricambi["orders"], ricambi["spend_12m"]) == (
        "Ricambi",
        Decimal("400.00"),
        2,
        Decimal("100.00"),
    )
    assert ricambi["last_date"] == timezone.localdate() - dt.timedelta(days=20)
    # Assistenza has no active product, so it is not offered.
    assert profile["cross_sell"] == [{"slug": "macchine", "name": "Macchine"}]
    # Ricambi customers this year spent 50, 100, 500, 900: the median is 300.
    assert profile["up_sell"] == [
        {
            "slug": "ricambi",
            "name": "Ricambi",
            "spend_12m": Decimal("100.00"),
            "median_12m": Decimal("300.00"),
        }
    ]


def test_a_customer_above_the_median_gets_no_up_sell(officina, buyers):
    anna = _contact(officina, buyers["anna"])
    profile = selectors.customer_profile(workspace=officina, contact=anna)
    assert [line["slug"] for line in profile["lines"]] == ["macchine", "ricambi"]
    assert profile["up_sell"] == []
    assert profile["cross_sell"] == []


def test_potential_is_the_median_of_customers_of_the_same_size(officina, buyers):
    mario = _contact(officina, buyers["mario"])
    potential = selectors.customer_profile(workspace=officina, contact=mario)["potential"]
    # Small companies: Mario 100 and Anna 9,500 in the last 12 months.
    assert potential["amount"] == Decimal("4800.00")
    assert potential["customers"] == 2
    assert "10-49" in potential["explanation"]


def test_potential_without_a_company_is_the_median_of_all_customers(officina, buyers):
    sara = _contact(officina, buyers["sara"])
    potential = selectors.customer_profile(workspace=officina, contact=sara)["potential"]
    # 50, 100, 900, 9,500
    assert (potential["amount"], potential["customers"], potential["size_band"]) == (
        Decimal("500.00"),
        4,
        "",
    )


def test_a_contact_who_bought_nothing(officina, giulia, catalogue):
    nobody = Contact.objects.create(workspace=officina, email="nobody@example.it")
    profile = selectors.customer_profile(workspace=officina, contact=nobody)
    assert profile["lines"] == [] and profile["up_sell"] == []
    # cross-sell is advice for buyers: someone who bought nothing gets none
    assert profile["cross_sell"] == []
    assert profile["potential"]["amount"] is None
    assert profile["potential"]["explanation"]


def test_board_has_every_stage_with_recent_closed_deals_only(officina, giulia, marco, mario):
    def deal(name, amount, owner):
        return services.deal_create(
            workspace=officina,
            actor=giulia,
            data={"name": name, "contact_id": mario.pk, "amount": amount, "owner_id": owner.pk},
        )

    deal("Ricambi", 1000, marco)
    offer = deal("Tornio", 9000, marco)
    services.deal_move(workspace=officina, actor=giulia, deal=offer, stage="offer_sent")
    old = deal("Vecchio", 50, giulia)
    services.deal_move(workspace=officina, actor=giulia, deal=old, stage="won")
    board = selectors.deal_board(workspace=officina, now=timezone.now() + dt.timedelta(days=31))
    assert [c.stage for c in board] == [
        "qualification",
        "offer_sent",
        "problems_raised",
        "requests_made",
        "negotiation",
        "won",
        "lost",
    ]
    assert [(c.stage, len(c.deals), c.total) for c in board if c.deals] == [
        ("qualification", 1, Decimal("1000.00")),
        ("offer_sent", 1, Decimal("9000.00")),
    ]
    mine = selectors.deal_board(workspace=officina, owner=giulia)
    assert [(c.stage, [d.name for d in c.deals]) for c in mine if c.deals] == [("won", ["Vecchio"])]


def test_contact_panel_context(officina, giulia, mario, ferramenta, bruno):
    services.deal_create(
        workspace=officina, actor=giulia, data={"name": "Ricambi", "contact_id": mario.pk}
    )
    context = selectors.contact_panel_context(workspace=officina, contact=mario)
    assert [d.name for d in context["deals"]] == ["Ricambi"]
    assert context["customer"]["contact_id"] == mario.pk
