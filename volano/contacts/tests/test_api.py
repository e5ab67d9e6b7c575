"""The contacts, companies and custom-fields API, through HTTP with Giulia's token."""

from __future__ import annotations

import pytest

from volano.contacts import services
from volano.contacts.models import Contact
from volano.events.models import EventType
from volano.events.services import event_append

pytestmark = pytest.mark.django_db

VALID_VAT = "00743110157"  # a real partita IVA (check digit ok)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"message", "field", "errors"} <= set(body["error"]), body
    return body["error"]


@pytest.fixture
def mario(officina, giulia):
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "email": "Mario.Rossi@Example.it",
            "first_name": "Mario",
            "last_name": "Rossi",
            "province": "MI",
            "tags": ["fiera", "ricambi"],
        },
    )


def test_create_contact_returns_the_public_fields(api):
    response = api.post(
        "/contacts",
        {
            "email": "  Anna.Bianchi@Example.IT ",
            "first_name": "Anna",
            "phone": "333 123 4567",
            "postal_code": "20121",
            "tags": "fiera; webinar",
        },
    )
    # tags as text is a wrong type for the API: it wants a list
    assert response.status_code == 422
    assert error_of(response)["field"] == "tags"

    response = api.post(
        "/contacts",
        {
            "email": "  Anna.Bianchi@Example.IT ",
            "first_name": "Anna",
            "phone": "333 123 4567",
            "postal_code": "20121",
            "tags": ["fiera", "webinar"],
        },
    )
    assert response.status_code == 201, response.content
    contact = response.json()
    assert list(contact) == [
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "job_title",
        "company_id",
        "street",
        "postal_code",
        "city",
        "province",
        "region",
        "country",
        "language",
        "tags",
        "custom",
        "consents",
        "owner_id",
        "source",
        "lifecycle_stage",
        "lifecycle_changed_at",
        "scores",
        "created_at",
        "updated_at",
    ]
    assert contact["lifecycle_stage"] == "lead"
    assert contact["scores"] == {}
    assert contact["email"] == "anna.bianchi@example.it"
    assert contact["phone"] == "+393331234567"
    assert contact["province"] == "MI"
    assert contact["region"] == "Lombardia"
    assert contact["tags"] == ["fiera", "webinar"]
    assert contact["consents"] == {}
    assert contact["source"] == "api"


def test_contacts_and_companies_created_through_the_api_have_source_api_unless_told(api):
    assert api.post("/contacts", {"email": "a@example.it"}).json()["source"] == "api"
    sent = api.post("/contacts", {"email": "b@example.it", "source": "fiera"})
    assert sent.json()["source"] == "fiera"
    assert api.post("/companies", {"name": "Officina Verdi"}).json()["source"] == "api"
    sent = api.post("/companies", {"name": "Officina Neri", "source": "gestionale"})
    assert sent.json()["source"] == "gestionale"


def test_create_rejects_unknown_fields_and_bad_values_naming_the_field(api):
    response = api.post("/contacts", {"email": "a@example.it", "nickname": "Al"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "nickname"
    assert error["message"] == "unknown field"

    response = api.post("/contacts", {"email": "mario.rossi@", "province": "ZZ"})
    assert response.status_code == 422
    fields = {e["field"] for e in error_of(response)["errors"]}
    assert fields == {"email", "province"}

    response = api.post("/contacts", {"first_name": 42})
    assert response.status_code == 422
    assert error_of(response)["field"] == "first_name"


def test_malformed_json_is_a_clear_error(api):
    response = api.client.post(
        "/api/v1/contacts",
        '{"email": "a@example.it",',
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == "body"
    assert "JSON" in error["message"]


def test_missing_or_wrong_token_is_401(client, db):
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert error_of(response)["field"] == "Authorization"
    response = client.get("/api/v1/contacts", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_duplicate_email_is_409_conflict_on_create_and_on_change(api, mario):
    response = api.post("/contacts", {"email": "mario.rossi@example.it "})
    assert response.status_code == 409
    assert error_of(response)["field"] == "email"

    anna = api.post("/contacts", {"email": "anna@example.it"}).json()
    response = api.patch(f"/contacts/{anna['id']}", {"email": "MARIO.rossi@example.it"})
    assert response.status_code == 409
    assert error_of(response)["field"] == "email"
    assert api.get(f"/contacts/{anna['id']}").json()["email"] == "anna@example.it"
    # keeping one's own email is no conflict
    assert (
        api.patch(f"/contacts/{mario.pk}", {"email": "mario.rossi@example.it"}).status_code == 200
    )


def test_list_is_paginated_and_email_lookup_ignores_case_and_spaces(api, officina, giulia, mario):
    for n in range(3):
        services.contact_create(
            workspace=officina, actor=giulia, data={"email": f"c{n}@example.it", "province": "RM"}
        )
    response = api.get("/contacts", page_size=2)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert len(body["items"]) == 2
    assert len(api.get("/contacts", page_size=2, page=2).json()["items"]) == 2

    found = api.get("/contacts", email="  MARIO.rossi@example.IT ").json()
    assert found["count"] == 1
    assert found["items"][0]["id"] == mario.pk
    assert api.get("/contacts", email="nobody@example.it").json() == {"items": [], "count": 0}


def test_list_filters(api, officina, giulia, mario):
    services.contact_create(
        workspace=officina, actor=giulia, data={"email": "luca@example.it", "province": "RM"}
    )
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=mario,
        purpose="email_marketing",
        status="granted",
        source="form",
    )
    assert [c["id"] for c in api.get("/contacts", province="mi").json()["items"]] == [mario.pk]
    assert [c["id"] for c in api.get("/contacts", tag="fiera").json()["items"]] == [mario.pk]
    assert [c["id"] for c in api.get("/contacts", consent="granted").json()["items"]] == [mario.pk]
    assert api.get("/contacts", consent="none").json()["count"] == 1
    assert api.get("/contacts", search="rossi").json()["count"] == 1
    response = api.get("/contacts", consent="maybe")
    assert response.status_code == 400
    assert error_of(response)["field"] == "consent"


def test_get_patch_put_delete(api, officina, mario):
    response = api.get(f"/contacts/{mario.pk}")
    assert response.status_code == 200
    assert response.json()["email"] == "mario.rossi@example.it"

    response = api.patch(f"/contacts/{mario.pk}", {"job_title": "Buyer", "province": "Torino"})
    assert response.status_code == 200, response.content
    assert response.json()["job_title"] == "Buyer"
    assert response.json()["province"] == "TO"
    assert response.json()["first_name"] == "Mario"

    response = api.patch(f"/contacts/{mario.pk}", {"colour": "blue"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "colour"

    response = api.put(f"/contacts/{mario.pk}", {"email": "mario.rossi@example.it"})
    assert response.status_code == 200, response.content
    replaced = response.json()
    assert replaced["first_name"] == ""
    assert replaced["tags"] == []

    assert api.delete(f"/contacts/{mario.pk}").status_code == 204
    assert api.get(f"/contacts/{mario.pk}").status_code == 404
    assert not Contact.objects.for_workspace(officina).filter(pk=mario.pk).exists()


def test_unknown_contact_is_404_json(api, mario):
    response = api.get("/contacts/999999")
    assert response.status_code == 404
    assert error_of(response)["message"]


def test_custom_fields_through_the_api(api):
    response = api.post(
        "/custom-fields", {"key": "fatturato", "label": "Fatturato", "type": "money"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"] == "fatturato"
    assert [f["key"] for f in api.get("/custom-fields").json()] == ["fatturato"]

    response = api.post("/custom-fields", {"key": "x", "label": "X", "type": "colour"})
    assert response.status_code == 400
    assert error_of(response)["field"] == "type"
    response = api.post("/custom-fields", {"key": "Bad Key", "label": "X", "type": "text"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "key"

    response = api.post("/contacts", {"email": "f@example.it", "custom": {"fatturato": "1.234,5"}})
    assert response.status_code == 201, response.content
    assert response.json()["custom"] == {"fatturato": 1234.5}
    response = api.post("/contacts", {"email": "g@example.it", "custom": {"fatturato": "tanto"}})
    assert response.status_code == 422
    assert error_of(response)["field"].startswith("custom")


def test_merge(api, officina, giulia, mario):
    duplicate = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "m.rossi@gmail.com", "phone": "3331234567", "tags": ["webinar"]},
    )
    event_append(workspace=officina, contact_id=duplicate.pk, type=EventType.PAGE_VIEW)
    response = api.post(f"/contacts/{mario.pk}/merge", {"duplicate_id": duplicate.pk})
    assert response.status_code == 200, response.content
    merged = response.json()
    assert merged["phone"] == "+393331234567"
    assert set(merged["tags"]) == {"fiera", "ricambi", "webinar"}
    assert api.get(f"/contacts/{duplicate.pk}").status_code == 404
    types = [e["type"] for e in api.get(f"/contacts/{mario.pk}/events").json()["items"]]
    assert sorted(types) == ["contact_merged", "page_view"]

    response = api.post(f"/contacts/{mario.pk}/merge", {"duplicate_id": 999999})
    assert response.status_code == 404
    assert error_of(response)["field"] == "duplicate_id"
    response = api.post(f"/contacts/{mario.pk}/merge", {"duplicate_id": mario.pk})
    assert response.status_code == 400
    response = api.post(f"/contacts/{mario.pk}/merge", {"duplicate": 1})
    assert response.status_code == 422


def test_timeline_is_paginated_newest_first(api, officina, mario):
    import datetime as dt

    from django.utils import timezone

    start = timezone.now() - dt.timedelta(days=10)
    for day in range(5):
        event_append(
            workspace=officina,
            contact_id=mario.pk,
            type=EventType.PAGE_VIEW,
            occurred_at=start + dt.timedelta(days=day),
            properties={"url": f"/p/{day}"},
        )
    body = api.get(f"/contacts/{mario.pk}/events", page_size=2).json()
    assert body["count"] == 5
    assert [e["properties"]["url"] for e in body["items"]] == ["/p/4", "/p/3"]


def test_consent_is_recorded_with_proof(api, mario):
    response = api.put(
        f"/contacts/{mario.pk}/consents/email_marketing",
        {"status": "granted", "source": "form", "ip": "192.0.2.7", "form": "newsletter"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "granted"
    consents = api.get(f"/contacts/{mario.pk}").json()["consents"]
    assert consents["email_marketing"]["status"] == "granted"
    assert consents["email_marketing"]["ip"] == "192.0.2.7"
    assert consents["email_marketing"]["form"] == "newsletter"

    response = api.put(
        f"/contacts/{mario.pk}/consents/telepathy", {"status": "granted", "source": "x"}
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "purpose"
    response = api.put(
        f"/contacts/{mario.pk}/consents/profiling", {"status": "maybe", "source": "x"}
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "status"
    response = api.put(
        f"/contacts/{mario.pk}/consents/profiling",
        {"status": "granted", "source": "x", "ip": "not-an-ip"},
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "ip"


def test_companies_crud_and_partita_iva(api):
    response = api.post("/companies", {"name": "Rossi Meccanica", "vat_number": "IT 12345678901"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "vat_number"

    response = api.post("/companies", {"name": "Rossi Meccanica", "vat_number": VALID_VAT})
    assert response.status_code == 201, response.content
    company = response.json()
    assert company["vat_number"] == VALID_VAT

    response = api.post("/companies", {"name": "Copia", "vat_number": VALID_VAT})
    assert response.status_code == 409  # a duplicate is a conflict, not a bad request
    assert error_of(response)["field"] == "vat_number"
    response = api.post("/companies", {"vat": "1"})
    assert error_of(response)["field"] == "vat"

    response = api.patch(f"/companies/{company['id']}", {"province": "bs"})
    assert response.json()["province"] == "BS"
    assert api.get(f"/companies/{company['id']}").json()["region"] == "Lombardia"
    assert api.get("/companies", search="rossi").json()["count"] == 1

    response = api.put(f"/companies/{company['id']}", {"name": "Rossi Meccanica S.p.A."})
    assert response.status_code == 200
    assert response.json()["vat_number"] == ""

    contact = api.post("/contacts", {"email": "x@example.it", "company_id": company["id"]}).json()
    assert contact["company_id"] == company["id"]
    assert api.delete(f"/companies/{company['id']}").status_code == 204
    assert api.get(f"/companies/{company['id']}").status_code == 404
    assert api.get(f"/contacts/{contact['id']}").json()["company_id"] is None


def test_openapi_schema_lists_the_routes(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/merge",
        "/api/v1/contacts/{contact_id}/events",
        "/api/v1/contacts/{contact_id}/consents/{purpose}",
        "/api/v1/companies",
        "/api/v1/companies/{company_id}",
        "/api/v1/custom-fields",
        "/api/v1/events",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
    ):
        assert path in paths


@pytest.mark.parametrize("website", ["javascript:alert(document.domain)//://", "data:,x"])
def test_a_company_website_that_is_not_http_is_refused_by_the_api(api, website):
    response = api.post("/companies", {"name": "Rossi Meccanica", "website": website})
    assert response.status_code == 422
    assert error_of(response)["field"] == "website"
    assert "http://" in error_of(response)["message"]
    company = api.post("/companies", {"name": "Rossi", "website": "rossi.it"}).json()
    assert company["website"] == "https://rossi.it"
    response = api.patch(f"/companies/{company['id']}", {"website": website})
    assert response.status_code == 422
    assert error_of(response)["field"] == "website"
    assert api.get(f"/companies/{company['id']}").json()["website"] == "https://rossi.it"
