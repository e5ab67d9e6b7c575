"""/api/v1 product lines, products, deals and the customer profile, as an integration uses them."""

from __future__ import annotations

import pytest

from volano.conftest import ApiClient
from volano.contacts.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def bruno_api(client, bruno_token):
    return ApiClient(client, bruno_token)


def test_product_lines_and_products(api):
    assert api.post("/product-lines", {"slug": "ricambi", "name": "Ricambi"}).status_code == 201
    renamed = api.post("/product-lines", {"slug": "ricambi", "name": "Ricambi originali"})
    assert renamed.status_code == 200
    created = api.post(
        "/products",
        {"sku": "CUS-6204", "name": "Cuscinetto 6204", "product_line": "ricambi", "price": "12.5"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["price"] == "12.50"
    patched = api.patch("/products/CUS-6204", {"price": "13.9", "active": False})
    assert patched.json()["price"] == "13.90" and patched.json()["active"] is False
    assert api.get("/products/CUS-6204").json()["name"] == "Cuscinetto 6204"
    assert api.get("/products", product_line="ricambi").json()["count"] == 1
    lines = api.get("/product-lines").json()
    assert [(line["name"], line["product_count"]) for line in lines] == [("Ricambi originali", 1)]
    assert api.get("/products/NOPE").status_code == 404


def test_a_product_of_an_unknown_line_is_a_422_naming_the_field(api):
    response = api.post("/products", {"sku": "X", "name": "X", "product_line": "nope", "price": -1})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["errors"]}
    assert fields == {"product_line", "price"}


def test_deal_crud_and_moves(api, officina, catalogue, mario):
    response = api.post(
        "/deals",
        {
            "name": "Ricambi 2026",
            "contact_id": mario.pk,
            "lines": [{"sku": "CUS-6204", "quantity": 10}],
            "expected_close": "2026-06-30",
        },
    )
    assert response.status_code == 201, response.content
    deal = response.json()
    assert (deal["amount"], deal["stage"], deal["lines"][0]["sku"]) == (
        "125.00",
        "qualification",
        "CUS-6204",
    )
    url = f"/deals/{deal['id']}"
    assert api.patch(url, {"name": "Ricambi 2026-27"}).json()["name"] == "Ricambi 2026-27"
    assert api.get("/deals", contact_id=mario.pk).json()["count"] == 1
    assert api.get("/deals", stage="won").json()["count"] == 0

    missing_reason = api.post(f"{url}/stage", {"stage": "lost"})
    assert missing_reason.status_code == 400
    assert missing_reason.json()["error"]["field"] == "reason"
    won = api.post(f"{url}/stage", {"stage": "won"})
    assert won.json()["stage"] == "won" and won.json()["closed_at"]
    assert Contact.objects.for_workspace(officina).get(pk=mario.pk).lifecycle_stage == "customer"

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_deal_errors_name_every_field(api, mario):
    response = api.post(
        "/deals",
        {"name": "", "contact_id": 999999, "stage": "maybe", "lines": [{"sku": "NOPE"}]},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["errors"]}
    assert fields == {"name", "contact_id", "stage", "lines.0.sku"}
    unknown = api.post("/deals", {"name": "X", "contact_id": mario.pk, "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "colour"


def test_customer_profile(api, officina, catalogue, mario):
    api.post(
        "/orders",
        {
            "number": "WEB-1",
            "contact_id": mario.pk,
            "ordered_at": "2026-03-02T11:30:00+01:00",
            "lines": [{"product_name": "Cuscinetto", "product_line": "ricambi", "amount": 50}],
        },
    )
    profile = api.get(f"/contacts/{mario.pk}/customer").json()
    assert profile["is_customer"] is True
    assert [line["slug"] for line in profile["lines"]] == ["ricambi"]
    assert [line["slug"] for line in profile["cross_sell"]] == ["macchine"]
    assert profile["potential"]["explanation"]


def test_another_workspace_sees_none_of_it(api, bruno_api, officina, catalogue, mario):
    deal = api.post("/deals", {"name": "Ricambi", "contact_id": mario.pk}).json()
    assert bruno_api.get("/deals").json()["count"] == 0
    assert bruno_api.get(f"/deals/{deal['id']}").status_code == 404
    assert bruno_api.patch(f"/deals/{deal['id']}", {"name": "x"}).status_code == 404
    assert bruno_api.post(f"/deals/{deal['id']}/stage", {"stage": "won"}).status_code == 404
    assert bruno_api.delete(f"/deals/{deal['id']}").status_code == 404
    assert bruno_api.get("/products").json()["count"] == 0
    assert bruno_api.get("/product-lines").json() == []
    assert bruno_api.get("/products/CUS-6204").status_code == 404
    assert bruno_api.get(f"/contacts/{mario.pk}/customer").status_code == 404
    # Bruno cannot hang a deal on Officina's contact either.
    refused = bruno_api.post("/deals", {"name": "Furto", "contact_id": mario.pk})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "contact_id"
