"""Production settings: `check --deploy` is clean with the HTTPS variables the README documents,
and the API docs page loads Swagger UI from Volano's own vendored files (issue 10)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

REPO = Path(__file__).resolve().parents[3]

# The "Production over https" settings of the README, with a real secret key.
PRODUCTION_ENV = {
    "VOLANO_HTTPS": "1",
    "VOLANO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "VOLANO_HSTS_PRELOAD": "1",
    "VOLANO_PROXY_SSL_HEADER": "1",
    "VOLANO_CLIENT_IP_HEADER": "X-Real-IP",
    "VOLANO_ALLOWED_HOSTS": "volano.officinarossi.it",
    "VOLANO_BASE_URL": "https://volano.officinarossi.it",
}


# Set by the test run itself (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE), never in production.
TEST_ONLY_ENV = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def volano_check(tmp_path, extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VOLANO_") and k not in TEST_ONLY_ENV
    }
    env.update(
        VOLANO_DATA_DIR=str(tmp_path / "data"),
        VOLANO_SECRET_KEY=secrets.token_urlsafe(50),
        **extra,
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "volano", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    readme = (REPO / "README.md").read_text()
    for name, value in PRODUCTION_ENV.items():
        assert f"{name}={value}" in readme, f"README's production settings lack {name}"
    result = volano_check(tmp_path, PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_check_deploy_names_what_plain_http_lacks(tmp_path):
    result = volano_check(tmp_path, {})
    found = set(re.findall(r"security\.W\d+", result.stdout + result.stderr))
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= found


def test_https_settings_come_from_the_environment(tmp_path):
    script = (
        "from django.conf import settings as s\n"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
        " s.SECURE_PROXY_SSL_HEADER)\n"
    )

    def read(extra: dict[str, str]) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOLANO_")}
        env.update(DJANGO_SETTINGS_MODULE="volano.settings", VOLANO_DATA_DIR=str(tmp_path), **extra)
        done = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()\n" + script],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert read({}) == "False False False 0 False False None"
    assert read({"VOLANO_HTTPS": "1"}) == "True True True 31536000 False False None"
    assert (
        read({"VOLANO_HTTPS": "1", "VOLANO_SSL_REDIRECT": "0", "VOLANO_PROXY_SSL_HEADER": "1"})
        == "True True False 31536000 False False ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


@pytest.mark.django_db
def test_api_docs_load_only_vendored_same_origin_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*\bhref="([^"]+)"', html)
    assert sources and styles
    for url in sources + styles:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a vendored file"
    assert "cdn" not in html.lower() and "https://" not in html
    # no inline script: only the JSON settings block, which a browser does not run
    for attrs, _body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
    assert '"validatorUrl": null' in html
    assert "/api/v1/openapi.json" in html
    version = (REPO / "volano/core/static/core/vendor/swagger-ui/VERSION").read_text()
    assert "swagger-ui-dist 5.35.0" in version
    bundle = finders.find("core/vendor/swagger-ui/swagger-ui-bundle.js")
    assert 'PACKAGE_VERSION:"5.35.0"' in Path(bundle).read_text()


@pytest.mark.django_db
def test_behind_a_tls_proxy_cookies_are_secure_and_http_is_redirected(client, giulia, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    plain = client.get("/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")

    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    page = client.get("/login/", **proxied)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    signed = client.post(
        "/login/", {"username": giulia.email, "password": "giulia-pass-2026"}, **proxied
    )
    assert signed.status_code == 302
    assert signed.cookies[settings.SESSION_COOKIE_NAME]["secure"] is True
