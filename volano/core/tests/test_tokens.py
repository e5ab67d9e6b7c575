"""API tokens can be listed, revoked and made to expire: on the command line, in the settings
page and through the API; a revoked or expired token gets 401 (issue 10, authentication)."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from volano.conftest import ApiClient
from volano.core import services
from volano.core.errors import ApplicationError
from volano.core.models import ApiToken, Role
from volano.core.selectors import token_authenticate

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def anna(officina):
    """Anna, the administrator of Officina Rossi."""
    user = services.user_create(email="anna@officinarossi.it", password="anna-pass-2026")
    services.membership_set(workspace=officina, user=user, role=Role.ADMIN)
    return user


def test_cli_creates_with_expiry_lists_and_revokes_by_prefix(officina, giulia, client):
    raw = run(
        "token", "create", "--workspace", officina.slug, "--user", giulia.email,
        "--name", "gestionale", "--expires-days", "30",
    ).strip()  # fmt: skip
    token = ApiToken.objects.get(key_hash=ApiToken.hash(raw))
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)

    listing = run("token", "list", "--workspace", officina.slug)
    assert re.search(rf"{token.pk}\s+{token.prefix}\s+gestionale\s+{giulia.email}", listing)
    assert "active" in listing and raw not in listing
    [row] = json.loads(run("token", "list", "--workspace", officina.slug, "--json"))
    assert row["prefix"] == token.prefix and row["status"] == "active"
    assert row["expires_at"] is not None

    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    )
    out = run("token", "revoke", token.prefix)
    assert f"revoked {token.prefix}" in out
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    )
    [row] = json.loads(run("token", "list", "--workspace", officina.slug, "--json"))
    assert row["status"] == "revoked"


def test_cli_revokes_by_id_and_names_a_missing_token(officina, giulia):
    token, raw = services.token_create(workspace=officina, user=giulia)
    run("token", "revoke", str(token.pk))
    assert token_authenticate(raw=raw) is None
    with pytest.raises(ApplicationError, match="no token vol_nonesiste"):
        run("token", "revoke", "vol_nonesiste")


def test_cli_refuses_an_expiry_out_of_range(officina, giulia):
    for days in ("0", "-3", "100000"):
        with pytest.raises(ApplicationError, match="expires in 1 to 3650 days") as caught:
            run("token", "create", "--workspace", officina.slug, "--user", giulia.email,
                "--expires-days", days)  # fmt: skip
        assert caught.value.field == "expires_days"
    assert not ApiToken.objects.exists()


def test_an_expired_token_gets_401(client, officina, giulia):
    token, raw = services.token_create(workspace=officina, user=giulia, expires_days=1)
    api = ApiClient(client, raw)
    assert api.get("/contacts").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = api.get("/contacts")
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization"


def test_last_use_is_written_at_most_once_a_minute(
    client, officina, giulia, django_assert_num_queries
):
    token, raw = services.token_create(workspace=officina, user=giulia)
    assert token.last_used_at is None
    first = token_authenticate(raw=raw)
    assert first is not None and first.last_used_at is not None
    stamp = ApiToken.objects.get(pk=token.pk).last_used_at
    with django_assert_num_queries(1):  # the lookup only, no UPDATE
        token_authenticate(raw=raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == stamp
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stamp - dt.timedelta(minutes=2))
    token_authenticate(raw=raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > stamp - dt.timedelta(minutes=1)


def test_api_lists_creates_once_and_revokes(client, officina, giulia, giulia_token):
    api = ApiClient(client, giulia_token)
    created = api.post("/tokens", {"name": "sito web", "expires_days": 90})
    assert created.status_code == 201, created.content
    body = created.json()
    raw = body["token"]
    assert raw.startswith("vol_") and body["prefix"] == raw[:12] and body["active"] is True

    listed = api.get("/tokens").json()
    assert {t["name"] for t in listed} == {"", "sito web"}
    assert all("token" not in t for t in listed)
    assert raw not in json.dumps(listed)

    assert ApiClient(client, raw).get("/contacts").status_code == 200
    revoked = api.client.delete(f"/api/v1/tokens/{body['id']}", headers=api.headers)
    assert revoked.status_code == 204
    assert ApiClient(client, raw).get("/contacts").status_code == 401
    [row] = [t for t in api.get("/tokens").json() if t["id"] == body["id"]]
    assert row["active"] is False and row["revoked_at"] is not None


def test_api_refuses_a_bad_expiry_naming_the_field(api):
    response = api.post("/tokens", {"expires_days": 10**30})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["field"] == "expires_days"
    assert api.post("/tokens", {"expires_days": 0}).json()["error"]["field"] == "expires_days"


def test_a_member_sees_only_own_tokens_an_admin_sees_all(client, officina, giulia, marco, anna):
    _g, giulia_raw = services.token_create(workspace=officina, user=giulia, name="di giulia")
    marco_token, marco_raw = services.token_create(workspace=officina, user=marco, name="di marco")
    _a, anna_raw = services.token_create(workspace=officina, user=anna, name="di anna")

    giulia_api = ApiClient(client, giulia_raw)
    assert {t["name"] for t in giulia_api.get("/tokens").json()} == {"di giulia"}
    # Giulia cannot revoke Marco's token: it does not exist for her
    response = client.delete(f"/api/v1/tokens/{marco_token.pk}", headers=giulia_api.headers)
    assert response.status_code == 404
    assert token_authenticate(raw=marco_raw) is not None

    anna_api = ApiClient(client, anna_raw)
    assert {t["name"] for t in anna_api.get("/tokens").json()} == {
        "di giulia",
        "di marco",
        "di anna",
    }
    response = client.delete(f"/api/v1/tokens/{marco_token.pk}", headers=anna_api.headers)
    assert response.status_code == 204
    assert token_authenticate(raw=marco_raw) is None


def test_another_workspace_cannot_revoke_a_token(client, officina, giulia, bruno_token):
    token, raw = services.token_create(workspace=officina, user=giulia)
    bruno = ApiClient(client, bruno_token)
    response = client.delete(f"/api/v1/tokens/{token.pk}", headers=bruno.headers)
    assert response.status_code == 404
    assert token.pk not in {t["id"] for t in bruno.get("/tokens").json()}
    assert token_authenticate(raw=raw) is not None


def test_settings_page_creates_shows_once_lists_and_revokes(client, officina, giulia):
    client.force_login(giulia)
    page = client.get(reverse("tokens"))
    assert page.status_code == 200
    assert "No tokens yet." in page.content.decode()
    nav = client.get(reverse("home")).content.decode()
    assert reverse("tokens") in nav

    created = client.post(reverse("tokens"), {"name": "e-commerce", "expires_days": "30"})
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    html = created.content.decode()
    raw = re.search(r'<code class="token-value">(vol_[^<]+)</code>', html).group(1)
    token = ApiToken.objects.get(key_hash=ApiToken.hash(raw))
    assert token.name == "e-commerce" and token.expires_at is not None

    # listed with its prefix, never again with its value
    listing = client.get(reverse("tokens")).content.decode()
    assert token.prefix in listing and raw not in listing and "e-commerce" in listing

    response = client.post(reverse("token_revoke", args=[token.pk]), follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert token_authenticate(raw=raw) is None


def test_settings_page_cannot_revoke_someone_elses_token(
    client, officina, giulia, marco, ferramenta, bruno
):
    marco_token, marco_raw = services.token_create(workspace=officina, user=marco)
    client.force_login(giulia)
    assert client.post(reverse("token_revoke", args=[marco_token.pk])).status_code == 404
    client.force_login(bruno)
    assert client.post(reverse("token_revoke", args=[marco_token.pk])).status_code == 404
    assert token_authenticate(raw=marco_raw) is not None
    assert marco_token.prefix not in client.get(reverse("tokens")).content.decode()


def test_a_viewer_token_lists_but_cannot_create_or_revoke(client, officina):
    vera = services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    services.membership_set(workspace=officina, user=vera, role=Role.VIEWER)
    token, raw = services.token_create(workspace=officina, user=vera)
    api = ApiClient(client, raw)
    assert [t["id"] for t in api.get("/tokens").json()] == [token.pk]
    assert api.post("/tokens", {"name": "altro"}).status_code == 403
    assert client.delete(f"/api/v1/tokens/{token.pk}", headers=api.headers).status_code == 403
    assert ApiToken.objects.filter(workspace=officina).count() == 1
