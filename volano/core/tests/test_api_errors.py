"""The API's answers to bad input: always its JSON error shape, never a 500, the same on SQLite
and PostgreSQL, in the language of Accept-Language.

Each test here was a 500 (or an HTML page) before: long text and NUL characters on PostgreSQL,
page numbers and ids past 64 bits, time zone offsets PostgreSQL cannot store, unknown routes.
"""

from __future__ import annotations

import pytest

from volano.api import api as ninja_api
from volano.contacts import services as contact_services
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db

HUGE = 2432902008176640000  # 20!, the page number the probe sent
PAST_64_BITS = 2**64 + 1


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


def _post(client, token: str, path: str, data, **headers):
    return client.post(
        f"/api/v1{path}",
        data,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


# Unknown routes and the schema


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/contacts/1/nope", "/api/v1/contacts/"])
def test_an_unknown_route_is_a_json_404_in_the_error_shape(client, giulia_token, path):
    response = client.get(path, headers={"Authorization": f"Bearer {giulia_token}"})
    error = _error(response, 404)
    assert error["field"] == "path"
    assert error["errors"] == [{"field": "path", "message": error["message"]}]


def test_the_schema_lists_the_errors_of_every_operation():
    schema = ninja_api.get_openapi_schema()
    assert "Error" in schema["components"]["schemas"]
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "401", "404", "422"} | ({"403"} if method != "get" else set())
            assert expected <= responses.keys(), (method, path)
            for status in expected:
                assert responses[status]["content"]["application/json"]["schema"] == reference
    assert "413" in schema["paths"]["/api/v1/events"]["post"]["responses"]


def test_the_schema_bounds_text_by_the_column_it_fills():
    schemas = ninja_api.get_openapi_schema()["components"]["schemas"]
    first_name = schemas["ContactIn"]["properties"]["first_name"]["anyOf"][0]
    assert first_name["maxLength"] == 100
    assert schemas["CompanyIn"]["properties"]["name"]["anyOf"][0]["maxLength"] == 200
    # cleaned fields accept the long form people type: "Milano" is stored as "MI"
    assert schemas["ContactIn"]["properties"]["province"]["anyOf"][0]["maxLength"] == 60


def test_a_slug_that_is_a_route_of_its_own_is_documented_and_reserved(api):
    """GET /segments/preview is the POST-only preview route: 405, listed in the schema; and no
    segment may take that slug, which it could never be read by."""
    operation = ninja_api.get_openapi_schema()["paths"]["/api/v1/segments/{slug}"]["get"]
    assert "405" in operation["responses"]
    assert api.get("/segments/preview").status_code == 405
    payload = {
        "slug": "preview",
        "name": "Anteprima",
        "definition": {"field": "email", "op": "is_set"},
    }
    error = _error(api.post("/segments", payload), 400)
    assert error["field"] == "slug"


# Numbers past 64 bits


@pytest.mark.parametrize("path", ["/contacts", "/companies", "/orders", "/deals", "/segments"])
def test_a_huge_page_number_is_a_422_naming_page(api, path):
    error = _error(api.get(path, page=HUGE), 422)
    assert error["field"] == "page"


def test_a_page_past_the_last_is_empty(api):
    response = api.get("/contacts", page=10_000_000)
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize("path", [f"/contacts/{PAST_64_BITS}", f"/companies/{PAST_64_BITS}"])
def test_an_id_past_64_bits_is_refused_not_a_500(api, path):
    response = api.get(path)
    assert response.status_code in (404, 422)
    assert "error" in response.json()


def test_contact_ids_past_64_bits_are_a_422_naming_the_item(api, officina, giulia):
    segment = segment_services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="tutti",
        name="Tutti",
        definition={"field": "email", "op": "is_set"},
    )
    segment_services.list_from_segment(
        workspace=officina, actor=giulia, segment=segment, slug="fiera", name="Fiera"
    )
    error = _error(api.post("/lists/fiera/members", {"contact_ids": [1, PAST_64_BITS]}), 422)
    assert error["field"] == "contact_ids.1"


# Long text and NUL characters (PostgreSQL refused them with a 500)


def test_a_5000_character_name_is_a_422_naming_the_field(api):
    error = _error(api.post("/contacts", {"email": "a@example.it", "first_name": "x" * 5000}), 422)
    assert error["field"] == "first_name"
    assert "100" in error["message"]
    error = _error(api.post("/companies", {"name": "x" * 5000}), 422)
    assert error["field"] == "name"


def test_a_nul_character_in_a_field_is_a_422_naming_it(api):
    error = _error(api.post("/contacts", {"email": "a@example.it", "first_name": "An\x00na"}), 422)
    assert error["field"] == "first_name"
    assert error["message"] == "Null characters are not allowed."


def test_a_nul_character_in_a_custom_value_is_a_422_naming_it(api, officina):
    contact_services.custom_field_create(workspace=officina, key="note", label="Note", type="text")
    error = _error(api.post("/contacts", {"custom": {"note": "a\x00b"}}), 422)
    assert error["field"] == "custom.note"


def test_a_nul_character_in_a_search_is_a_422_naming_the_parameter(api):
    error = _error(api.get("/contacts", search="ros\x00si"), 422)
    assert error["field"] == "search"


def test_a_nul_character_in_a_path_is_a_422(api):
    error = _error(api.get("/segments/a%00b"), 422)
    assert error["field"] == "slug"


def test_an_event_with_a_nul_property_is_rejected_and_the_others_are_kept(api):
    good = {"type": "page_view", "occurred_at": "2026-03-01T10:15:00Z", "email": "a@example.it"}
    bad = {**good, "properties": {"title": "Home\x00"}}
    nan = {**good, "properties": {"seconds": float("nan")}}
    response = api.post("/events", [good, bad, nan])
    assert response.status_code == 207, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "properties.title"),
        (2, "properties.seconds"),
    ]


def test_a_time_zone_offset_postgresql_cannot_store_is_a_422(api):
    payload = {"number": "A-1", "ordered_at": "2026-01-10T10:00:00+23:00", "email": "a@example.it"}
    error = _error(api.post("/orders", payload), 422)
    assert error["field"] == "ordered_at"


def test_an_event_with_such_an_offset_is_rejected(api):
    item = {"type": "page_view", "occurred_at": "0998-04-24T19:19:31-22:17", "email": "a@x.it"}
    response = api.post("/events", [item])
    assert response.json()["rejected"][0]["field"] == "occurred_at"


def test_a_date_at_the_edge_of_the_calendar_is_a_422(api):
    """The funnel's default start is 90 days before `end`: before year 1 it was a 500."""
    error = _error(api.get("/reports/funnel", end="0001-01-01"), 422)
    assert error["field"] == "end"


def test_a_rep_given_as_a_digit_python_cannot_read_is_named(api):
    """ "³" is a digit to str.isdigit() but not to int(): it was a 500."""
    error = _error(api.post("/assignment-rules", {"name": "Nord", "reps": ["³"]}), 422)
    assert error["field"] == "reps"


@pytest.mark.parametrize("slug", ["%C2%B9", str(PAST_64_BITS)])
def test_a_list_or_segment_named_by_a_digit_no_id_can_be_is_a_404(api, slug):
    """ "¹" passes str.isdigit() but not int(); a number past 64 bits is no id either."""
    for path in (f"/lists/{slug}", f"/segments/{slug}"):
        _error(api.get(path), 404)


# Languages


def test_errors_are_in_italian_for_accept_language_it(client, giulia_token):
    response = _post(
        client, giulia_token, "/contacts", {"email": "non-una-email"}, **{"Accept-Language": "it"}
    )
    error = _error(response, 422)
    assert response["Content-Language"] == "it"
    assert error["field"] == "email"
    assert error["message"].startswith("non è un indirizzo email (")
    # Django's own catalogue already has the words for a value that is too long.
    response = _post(
        client,
        giulia_token,
        "/contacts",
        {"email": "a@example.it", "last_name": "x" * 150},
        **{"Accept-Language": "it"},
    )
    error = _error(response, 422)
    assert error["field"] == "last_name"
    assert (
        error["message"]
        == "Assicurati che questo valore non contenga più di 100 caratteri (ne ha 150)."
    )


def test_errors_are_in_english_for_accept_language_en(client, giulia_token):
    response = _post(
        client, giulia_token, "/contacts", {"email": "not-an-email"}, **{"Accept-Language": "en"}
    )
    error = _error(response, 422)
    assert response["Content-Language"] == "en"
    assert error["field"] == "email"
    assert error["message"].startswith("not an email address (")
    response = _post(
        client, giulia_token, "/contacts", {"emial": "a@example.it"}, **{"Accept-Language": "en"}
    )
    error = _error(response, 422)
    assert (error["field"], error["message"]) == ("emial", "unknown field")
