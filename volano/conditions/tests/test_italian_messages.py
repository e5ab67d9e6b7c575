"""A condition error reaches an Italian user in Italian, naming the node, through the API."""

from __future__ import annotations

import pytest

from volano.core.tests.catalog import install_italian

pytestmark = pytest.mark.django_db

ITALIAN = {
    "expected a non-empty list of values": "serve una lista di valori non vuota",
    "unknown field %(field)s": "campo sconosciuto %(field)s",
}


def _post(api, definition, language):
    return api.client.post(
        "/api/v1/segments",
        {"slug": "lombardi", "name": "Lombardi", "definition": definition},
        content_type="application/json",
        headers={**api.headers, "Accept-Language": language},
    )


def test_a_condition_error_through_the_api_is_italian_with_accept_language_it(
    settings, tmp_path, api
):
    install_italian(settings, tmp_path / "locale", ITALIAN)
    response = _post(api, {"field": "province", "op": "in", "value": []}, "it")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == "definition.value"  # the node is named
    assert error["message"] == "conditions.value: serve una lista di valori non vuota"

    response = _post(api, {"field": "provincia", "op": "eq", "value": "MI"}, "it")
    assert response.json()["error"]["message"].endswith("campo sconosciuto 'provincia'")

    english = _post(api, {"field": "province", "op": "in", "value": []}, "en")
    assert english.json()["error"]["message"].endswith(": expected a non-empty list of values")
