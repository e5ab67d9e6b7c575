"""Bad input to the token routes is a clear error naming the field, never a 500 (both databases)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from volano.core.errors import ApplicationError
from volano.core.models import ApiToken

pytestmark = pytest.mark.django_db

HUGE = 2**70


def test_huge_ids_are_refused_never_a_500(api, client, giulia):
    response = api.client.delete(f"/api/v1/tokens/{HUGE}", headers=api.headers)
    # the API's input guard refuses an id no column can hold before the route runs
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == "token_id"
    client.force_login(giulia)
    assert client.post(reverse("token_revoke", args=[HUGE])).status_code == 404
    with pytest.raises(ApplicationError, match="no token"):
        call_command("token", "revoke", str(HUGE), stdout=StringIO(), stderr=StringIO())


def test_a_nul_or_overlong_name_is_refused_naming_the_field(api):
    for name in ("sito\x00web", "x" * 101):
        response = api.post("/tokens", {"name": name})
        assert response.status_code in (400, 422), response.content
        assert response.json()["error"]["field"] == "name"
    assert ApiToken.objects.count() == 1  # Giulia's own, from the fixture
