"""The public endpoints under abuse (issue 10): rate limits that an attacker cannot turn against
legitimate visitors, and bad input that gets a clear 400 on SQLite and PostgreSQL, never a 5xx."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from volano.contacts.models import Contact
from volano.events.models import Event
from volano.events.tests.test_tracking import call_wsgi
from volano.events.webforms import form_create

AID = "3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from volano.events import tracking

    cache.clear()
    tracking._hits_pending.clear()
    tracking._hits_refused.clear()


@pytest.fixture
def forms(officina):
    for slug in ("newsletter", "richiesta-preventivo"):
        form_create(
            workspace=officina,
            actor=None,
            data={"slug": slug, "name": slug, "fields": ["email", "first_name"]},
        )
    return officina


def form_post(client, workspace, slug="newsletter", *, ip="198.51.100.1", **data):
    return client.post(
        reverse("tracking_form", args=[workspace.tracking_key, slug]), data, REMOTE_ADDR=ip
    )


def hit(key, **extra):
    return {"k": key, "aid": AID, "id": uuid.uuid4().hex, "url": "https://x.it/", **extra}


def collect(client, payload, *, ip="198.51.100.1"):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post("/t/collect", body, content_type="text/plain", REMOTE_ADDR=ip)


# --- form rate limit -----------------------------------------------------------------------


def test_invalid_posts_never_count_toward_the_form_limit(client, forms, settings):
    settings.VOLANO_FORM_RATE_PER_IP = (2, 3600)
    settings.VOLANO_FORM_RATE_PER_FORM = (2, 3600)
    for n in range(20):  # an empty-submission flood, as in the probe, from many addresses
        ip = f"127.0.0.{n + 2}"
        assert form_post(client, forms, ip=ip).status_code == 422  # no email
        assert form_post(client, forms, ip=ip, email="not-an-email").status_code == 400
        assert form_post(client, forms, "undeclared", ip=ip, email="a@b.it").status_code == 404
        honeypot = form_post(client, forms, ip=ip, email="bot@spam.it", website_url="x")
        assert honeypot.status_code == 200
    assert form_post(client, forms, email="anna@cliente.it").status_code == 200
    assert form_post(client, forms, email="luca@cliente.it").status_code == 200
    assert Contact.objects.for_workspace(forms).count() == 2


def test_the_form_limit_counts_per_address_and_form_never_per_workspace(client, forms, settings):
    settings.VOLANO_FORM_RATE_PER_IP = (2, 3600)
    for n in range(2):
        assert form_post(client, forms, email=f"p{n}@cliente.it").status_code == 200
    blocked = form_post(client, forms, email="p3@cliente.it")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1
    # The same address on another form, and another address on this form, still get through.
    other_form = form_post(client, forms, "richiesta-preventivo", email="p4@cliente.it")
    assert other_form.status_code == 200
    assert form_post(client, forms, ip="198.51.100.2", email="p5@cliente.it").status_code == 200


def test_a_flood_on_one_form_leaves_the_other_forms_open(client, forms, settings):
    settings.VOLANO_FORM_RATE_PER_FORM = (3, 3600)
    for n in range(3):
        ip = f"127.0.1.{n + 1}"
        assert form_post(client, forms, ip=ip, email=f"f{n}@spam.it").status_code == 200
    assert form_post(client, forms, ip="127.0.1.9", email="f9@spam.it").status_code == 429
    assert (
        form_post(client, forms, "richiesta-preventivo", email="anna@cliente.it").status_code == 200
    )


@pytest.mark.broker
def test_the_tracking_limit_is_shared_through_redis(client, officina, settings, redis_url):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"volano-test-{uuid.uuid4().hex}",
        }
    }
    settings.VOLANO_TRACKING_RATE_PER_IP = (2, 3600)
    assert collect(client, hit(officina.tracking_key)).status_code == 204
    assert collect(client, hit(officina.tracking_key)).status_code == 204
    assert collect(client, hit(officina.tracking_key)).status_code == 429
    from django.core.cache import caches

    assert type(caches["default"]).__name__ == "RedisCache"


# --- tracking rate limit -------------------------------------------------------------------


def test_collect_and_the_pixel_are_rate_limited_per_address_and_key(
    client, officina, ferramenta, settings
):
    settings.VOLANO_TRACKING_RATE_PER_IP = (3, 3600)
    for _ in range(3):
        assert collect(client, hit(officina.tracking_key)).status_code == 204
    blocked = collect(client, hit(officina.tracking_key))
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1
    assert "too many requests" in blocked.json()["message"]
    pixel = client.get("/t/pixel.gif", {"k": officina.tracking_key}, REMOTE_ADDR="198.51.100.1")
    assert pixel.status_code == 429
    # Other visitors, and the same address on another workspace's site, are not affected.
    assert collect(client, hit(officina.tracking_key), ip="198.51.100.2").status_code == 204
    assert collect(client, hit(ferramenta.tracking_key)).status_code == 204
    assert Event.objects.for_workspace(officina).count() == 4


def test_a_flood_from_one_address_is_cut_near_the_limit_counted_in_batches(
    client, officina, settings
):
    """With a limit of 200 the process adds hits to the shared counter 20 at a time: the flood
    is cut after at most 200 + 19 stored hits, and refused from then on."""
    settings.VOLANO_TRACKING_RATE_PER_IP = (200, 3600)
    answers = [collect(client, hit(officina.tracking_key)).status_code for _ in range(300)]
    stored = Event.objects.for_workspace(officina).count()
    assert 200 <= stored <= 219
    assert answers.count(204) == stored
    assert set(answers[stored:]) == {429}
    assert collect(client, hit(officina.tracking_key), ip="198.51.100.2").status_code == 204


def test_an_unknown_key_does_not_count(client, officina, settings):
    settings.VOLANO_TRACKING_RATE_PER_IP = (1, 3600)
    for _ in range(5):
        assert collect(client, hit("no-such-key-123")).status_code == 404
    assert collect(client, hit(officina.tracking_key)).status_code == 204


def test_the_wsgi_fast_path_rate_limits_too(officina, settings):
    from django.core.wsgi import get_wsgi_application

    from volano.events.views import collect_fast_path

    settings.VOLANO_TRACKING_RATE_PER_IP = (1, 3600)
    app = collect_fast_path(get_wsgi_application())
    body = lambda: json.dumps(hit(officina.tracking_key)).encode()  # noqa: E731
    assert call_wsgi(app, "POST", "/t/collect", body())[0] == 204
    status, headers, content = call_wsgi(app, "POST", "/t/collect", body())
    assert status == 429
    assert int(headers["Retry-After"]) >= 1
    assert json.loads(content)["retry_after"] >= 1


# --- numbers that are not numbers ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"k": "%s", "t": "page_leave", "id": "abcdefgh12", "d": Infinity}',
        '{"k": "%s", "t": "page_leave", "id": "abcdefgh12", "d": NaN}',
        '{"k": "%s", "t": "page_leave", "id": "abcdefgh12", "d": -Infinity}',
        '{"k": "%s", "t": "page_leave", "id": "abcdefgh12", "d": 1e400}',
        '{"k": "%s", "t": "video_played", "p": {"s": NaN}}',
        '{"k": "%s", "t": "video_played", "p": {"s": 1e999}}',
    ],
)
def test_infinity_and_nan_are_refused_cleanly(client, officina, body):
    response = collect(client, body % officina.tracking_key)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not Event.objects.for_workspace(officina).exists()


def test_infinity_in_a_json_form_post_is_refused(client, forms):
    response = client.post(
        reverse("tracking_form", args=[forms.tracking_key, "newsletter"]),
        '{"email": "anna@cliente.it", "first_name": Infinity}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Contact.objects.for_workspace(forms).exists()


# --- NUL characters and broken text (PostgreSQL refuses both; SQLite stored them) -----------


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "Frese\x00CNC"), ("url", "https://x.it/a\x00b"), ("utm_source", "\x00")],
)
def test_nul_in_a_hit_is_a_clear_400(client, officina, field, value):
    response = collect(client, hit(officina.tracking_key, **{field: value}))
    assert response.status_code == 400
    assert response.json() == {"message": "contains a NUL character", "field": field}
    assert not Event.objects.for_workspace(officina).exists()


def test_nul_and_broken_unicode_in_custom_properties_are_refused(client, officina):
    for value in ("a\x00b", "\ud800"):
        body = json.dumps(hit(officina.tracking_key, t="video_played", p={"title": value}))
        response = collect(client, body)
        assert response.status_code == 400
        assert response.json()["field"] == "p"
    assert not Event.objects.for_workspace(officina).exists()


def test_nul_in_the_pixel_is_a_clear_400(client, officina):
    response = client.get(f"/t/pixel.gif?k={officina.tracking_key}&url=a%00b")
    assert response.status_code == 400
    assert response.json()["field"] == "url"
    assert not Event.objects.for_workspace(officina).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"email": "anna@cliente.it", "first_name": "An\x00na"},
        {"email": "anna@cliente.it", "next": "https://x.it/\x00"},
        {"email": "anna\x00@cliente.it"},
    ],
)
def test_nul_in_a_form_post_is_a_clear_400(client, forms, data):
    response = form_post(client, forms, **data)
    assert response.status_code == 400
    assert b"NUL" in response.content
    json_response = client.post(
        reverse("tracking_form", args=[forms.tracking_key, "newsletter"]),
        data,
        content_type="application/json",
    )
    assert json_response.status_code == 400
    assert json_response.json()["message"] == "contains a NUL character"
    assert not Contact.objects.for_workspace(forms).exists()


@pytest.mark.postgres
def test_on_postgresql_a_nul_title_through_the_fast_path_is_400_not_503(officina):
    """The probe's case: PostgreSQL cannot store NUL in text or jsonb, and answered 503."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")
    from django.core.wsgi import get_wsgi_application

    from volano.events.views import collect_fast_path

    app = collect_fast_path(get_wsgi_application())
    body = json.dumps(hit(officina.tracking_key, title="a\x00b")).encode()
    status, _headers, content = call_wsgi(app, "POST", "/t/collect", body)
    assert status == 400
    assert json.loads(content)["field"] == "title"
    body = json.dumps(hit(officina.tracking_key, t="x", p={"s": "\x00"})).encode()
    assert call_wsgi(app, "POST", "/t/collect", body)[0] == 400
    assert not Event.objects.for_workspace(officina).exists()


def test_nul_in_the_form_address_is_refused_without_a_database_error(client, forms):
    response = client.post(f"/t/form/{forms.tracking_key}/news%00letter", {"email": "a@b.it"})
    assert response.status_code == 404
    response = client.post("/t/form/abc%00def/newsletter", {"email": "a@b.it"})
    assert response.status_code == 400
    assert not Contact.objects.for_workspace(forms).exists()
