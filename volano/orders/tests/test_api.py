"""POST/GET /api/v1/orders: the order, its lines and its timeline event arrive together."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.events.models import Event
from volano.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def mario(officina, giulia):
    return contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "mario.rossi@example.it"}
    )


ORDER = {
    "number": "WEB-1001",
    "ordered_at": "2026-03-02T11:30:00+01:00",
    "email": "Mario.Rossi@example.it ",
    "lines": [
        {
            "sku": "CUS-6204",
            "product_name": "Cuscinetto 6204",
            "product_line": "ricambi",
            "quantity": 4,
            "unit_price": "12.50",
        },
        {
            "sku": "TOR-200",
            "product_name": "Tornio T200",
            "product_line": "macchine",
            "quantity": 1,
            "amount": 8900,
        },
    ],
}


def test_order_with_lines_and_event(api, officina, mario):
    response = api.post("/orders", ORDER)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["contact_id"] == mario.pk
    assert order["total"] == "8950.00"
    assert order["currency"] == "EUR"
    assert [line["amount"] for line in order["lines"]] == ["50.00", "8900.00"]

    event = Event.objects.for_workspace(officina).get(type="order")
    assert event.contact_id == mario.pk
    assert event.properties["number"] == "WEB-1001"
    assert event.properties["total"] == 8950.0
    assert event.properties["product_lines"] == ["macchine", "ricambi"]
    assert event.properties["lines"][0] == {
        "sku": "CUS-6204",
        "product_name": "Cuscinetto 6204",
        "product_line": "ricambi",
        "quantity": 4.0,
        "amount": 50.0,
    }

    assert api.get(f"/orders/{order['id']}").json()["number"] == "WEB-1001"
    listed = api.get("/orders", contact_id=mario.pk).json()
    assert listed["count"] == 1
    assert listed["items"][0]["lines"][1]["product_name"] == "Tornio T200"


def test_unknown_email_creates_the_contact_and_total_is_kept(api, officina):
    response = api.post(
        "/orders",
        {
            "number": "ERP-7",
            "ordered_at": "2026-03-02",
            "email": "nuovo@example.it",
            "total": "1.234,50",
            "currency": "chf",
        },
    )
    # total must be a number in JSON; an Italian decimal string is refused by the API schema
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "total"
    response = api.post(
        "/orders",
        {
            "number": "ERP-7",
            "ordered_at": "2026-03-02",
            "email": "nuovo@example.it",
            "total": 1234.5,
            "currency": "chf",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "CHF"
    contact = Contact.objects.for_workspace(officina).get(email="nuovo@example.it")
    assert contact.source == "api"
    assert response.json()["contact_id"] == contact.pk


def test_bad_orders_name_the_field_and_store_nothing(api, officina, mario):
    assert api.post("/orders", ORDER).status_code == 201
    response = api.post("/orders", ORDER)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "number"

    bad = {
        **ORDER,
        "number": "WEB-1002",
        "lines": [{"product_name": "Vite", "quantity": 2}],
        "contact_id": 999999,
        "email": None,
    }
    response = api.post("/orders", bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["errors"]}
    assert fields == {"lines.0.amount", "contact_id"}

    response = api.post("/orders", {**ORDER, "number": "WEB-1003", "discount": 5})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "discount"
    response = api.post("/orders", {**ORDER, "number": "WEB-1004", "ordered_at": "domani"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "ordered_at"
    response = api.post("/orders", {"number": "WEB-1005", "ordered_at": "2026-03-02"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "total"

    assert Order.objects.for_workspace(officina).count() == 1
    assert Event.objects.for_workspace(officina).filter(type="order").count() == 1


def test_unknown_order_is_404(api):
    assert api.get("/orders/424242").status_code == 404
