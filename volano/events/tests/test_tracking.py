"""Website tracking through HTTP, as a browser on a client's site would use it."""

from __future__ import annotations

import html
import json
import uuid

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from volano.contacts.models import Consent, Contact
from volano.contacts.services import contact_create
from volano.events.identity import visitor_identify
from volano.events.models import Event, Visitor
from volano.events.selectors import contact_timeline

AID = "3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab"


CONSENT_TEXT = "Accetto di ricevere novità e offerte via email."


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from volano.events import tracking

    cache.clear()
    tracking._hits_pending.clear()
    tracking._hits_refused.clear()


@pytest.fixture
def officina_forms(officina):
    """The forms Officina Rossi declared for its site."""
    from volano.contacts.services import custom_field_create
    from volano.events.webforms import form_create

    custom_field_create(workspace=officina, key="settore", label="Settore", type="text")
    person = ["email", "first_name", "last_name", "phone", "company"]
    for slug, fields, consent in (
        ("newsletter", person, True),
        ("richiesta-preventivo", [*person, "message"], False),
        ("webinar", ["email", "custom.settore"], False),
    ):
        form_create(
            workspace=officina,
            actor=None,
            data={
                "slug": slug,
                "name": slug.title(),
                "fields": fields,
                "asks_email_consent": consent,
                "consent_text": CONSENT_TEXT if consent else "",
            },
        )
    return officina


def collect(client, payload, content_type="text/plain;charset=UTF-8"):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post("/t/collect", body, content_type=content_type)


def page_view(key, **extra):
    return {
        "k": key,
        "aid": AID,
        "id": uuid.uuid4().hex,
        "t": "page_view",
        "url": "https://www.officinarossi.it/prodotti/frese?utm_source=newsletter",
        "title": "Frese CNC - Officina Rossi",
        "ref": "https://www.google.it/",
        **extra,
    }


def web_events(workspace):
    return Event.objects.for_workspace(workspace).filter(channel="web").order_by("id")


def test_the_snippet_is_served_as_cacheable_javascript(client):
    response = client.get("/t/volano.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age" in response["Cache-Control"]
    body = response.content.decode()
    assert "vl_aid" in body and "sendBeacon" in body and "/t/collect" in body
    again = client.get("/t/volano.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_a_page_view_is_stored_with_its_utm_parameters(client, officina):
    hit = page_view(
        officina.tracking_key,
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="fiera-2026",
    )
    response = collect(client, hit)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    [event] = web_events(officina)
    assert event.type == "page_view"
    assert event.anonymous_id == AID
    assert event.contact_id is None
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (
        "newsletter",
        "email",
        "fiera-2026",
    )
    assert event.properties["url"] == hit["url"]
    assert event.properties["title"] == "Frese CNC - Officina Rossi"
    assert event.properties["referrer"] == "https://www.google.it/"


def test_a_retried_page_view_is_stored_once(client, officina):
    hit = page_view(officina.tracking_key)
    assert collect(client, hit).status_code == 204
    assert collect(client, hit).status_code == 204
    assert web_events(officina).count() == 1


def test_the_leave_beacon_sets_the_dwell_time_on_its_page_view(client, officina):
    first, second = page_view(officina.tracking_key), page_view(officina.tracking_key)
    collect(client, first)
    collect(client, second)
    response = collect(
        client,
        {"k": officina.tracking_key, "aid": AID, "t": "page_leave", "id": first["id"], "d": 42},
    )
    assert response.status_code == 204
    assert web_events(officina).count() == 2
    dwell = {e.dedup_key: e.properties["dwell_seconds"] for e in web_events(officina)}
    assert dwell == {f"t:{first['id']}": 42, f"t:{second['id']}": 0}
    view = web_events(officina).get(dedup_key=f"t:{first['id']}")
    assert view.properties["title"] == "Frese CNC - Officina Rossi"


def test_a_custom_event_from_volano_track(client, officina):
    response = collect(
        client,
        {
            "k": officina.tracking_key,
            "aid": AID,
            "t": "content_downloaded",
            "url": "https://www.officinarossi.it/catalogo",
            "p": {"content": "catalogo-2026", "title": "Catalogo 2026"},
        },
    )
    assert response.status_code == 204
    collect(client, {"k": officina.tracking_key, "aid": AID, "t": "video_played", "p": {"s": 3}})
    downloaded, custom = web_events(officina)
    assert downloaded.type == "content_downloaded"
    assert downloaded.properties["content"] == "catalogo-2026"
    assert custom.type == "custom"
    assert custom.properties == {"s": 3, "name": "video_played"}


def test_the_pixel_records_a_page_view_and_returns_a_gif(client, officina):
    response = client.get(
        "/t/pixel.gif",
        {
            "k": officina.tracking_key,
            "aid": AID,
            "url": "https://www.officinarossi.it/contatti",
            "title": "Contatti",
            "utm_campaign": "volantino",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    [event] = web_events(officina)
    assert (event.type, event.source, event.utm_campaign) == ("page_view", "pixel", "volantino")
    assert event.properties["title"] == "Contatti"


def test_an_unknown_key_is_refused_with_a_reason(client, officina):
    response = collect(client, page_view("no-such-key-123"))
    assert response.status_code == 404
    assert response.json()["message"] == "unknown tracking key"
    assert client.get("/t/pixel.gif", {"k": "no-such-key-123"}).status_code == 404
    assert web_events(officina).count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe garbage",
        "not json at all",
        "[1, 2, 3]",
        "{}",
        '{"k": "\'; DROP TABLE events_event; --"}',
        b"x" * 10_000,
    ],
)
def test_garbage_is_refused_with_400_never_a_500(client, officina, body):
    response = collect(client, body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert web_events(officina).count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 301),
        ("url", "https://x.it/" + "a" * 2100),
        ("utm_source", "s" * 101),
        ("aid", "short"),
        ("title", {"nested": True}),
        ("t", "<script>"),
    ],
)
def test_bad_fields_are_named_in_the_reply(client, officina, field, value):
    response = collect(client, page_view(officina.tracking_key, **{field: value}))
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert web_events(officina).count() == 0


def test_a_second_workspaces_key_never_writes_into_the_first(client, officina, ferramenta):
    collect(client, page_view(ferramenta.tracking_key))
    assert web_events(officina).count() == 0
    assert web_events(ferramenta).count() == 1
    # Identified in officina: the same anonymous id on ferramenta's site stays anonymous there.
    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@cliente.it"})
    visitor_identify(workspace=officina, anonymous_id=AID, contact=anna)
    collect(client, page_view(ferramenta.tracking_key))
    assert set(web_events(ferramenta).values_list("contact_id", flat=True)) == {None}
    assert web_events(officina).count() == 0


def form_post(client, key, slug="newsletter", *, ip="127.0.0.1", **data):
    fields = {
        "email": "Anna.Conti@Cliente.it",
        "first_name": "Anna",
        "last_name": "Conti",
        "company": "Meccanica Conti",
        "consent_email_marketing": "on",
        "vl_url": "https://www.officinarossi.it/newsletter",
        "website_url": "",
    }
    fields.update(data)
    return client.post(reverse("tracking_form", args=[key, slug]), fields, REMOTE_ADDR=ip)


def test_a_form_creates_the_contact_with_consent_and_joins_earlier_visits(client, officina_forms):
    officina = officina_forms
    collect(client, page_view(officina.tracking_key, title="Frese CNC"))
    collect(client, page_view(officina.tracking_key, title="Prezzi"))
    client.cookies["vl_aid"] = AID  # the snippet's first-party cookie, sent with the post
    response = form_post(client, officina.tracking_key)
    assert response.status_code == 200
    assert b"Thank you" in response.content

    anna = Contact.objects.for_workspace(officina).get(email="anna.conti@cliente.it")
    assert (anna.first_name, anna.source, anna.company.name) == ("Anna", "form", "Meccanica Conti")
    consent = Consent.objects.for_workspace(officina).get(contact=anna)
    assert (consent.purpose, consent.status, consent.source) == (
        "email_marketing",
        "pending",  # until the address owner confirms it (double opt-in)
        "form:newsletter",
    )
    assert consent.ip == "127.0.0.1"
    assert consent.proof == CONSENT_TEXT

    timeline = list(contact_timeline(workspace=officina, contact=anna))
    types = [e.type for e in timeline]
    assert types.count("page_view") == 2
    assert "form_submitted" in types
    submitted = next(e for e in timeline if e.type == "form_submitted")
    assert submitted.properties["form"] == "newsletter"
    assert submitted.properties["fields"]["first_name"] == "Anna"
    assert "website_url" not in submitted.properties["fields"]
    visitor = Visitor.objects.for_workspace(officina).get(anonymous_id=AID)
    assert visitor.contact_id == anna.pk

    # Later hits from the same browser land on the contact straight away.
    collect(client, page_view(officina.tracking_key, title="Contatti"))
    latest = web_events(officina).filter(type="page_view").last()
    assert latest.contact_id == anna.pk


def test_a_second_submission_fills_empty_fields_of_the_same_contact(client, officina_forms):
    officina = officina_forms
    form_post(client, officina.tracking_key)
    response = form_post(
        client,
        officina.tracking_key,
        slug="richiesta-preventivo",
        phone="333 123 4567",
        consent_email_marketing="",
        last_name="",
    )
    assert response.status_code == 200
    [anna] = Contact.objects.for_workspace(officina).filter(email="anna.conti@cliente.it")
    assert anna.phone == "+393331234567"
    assert anna.last_name == "Conti"  # an empty field does not erase what we knew
    assert (
        Event.objects.for_workspace(officina).filter(contact=anna, type="form_submitted").count()
        == 2
    )


def test_a_form_as_json_with_custom_fields_and_a_safe_redirect(client, officina_forms):
    officina = officina_forms
    response = client.post(
        reverse("tracking_form", args=[officina.tracking_key, "webinar"]),
        {"email": "luca@cliente.it", "custom": {"settore": "meccanica"}},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    luca = Contact.objects.for_workspace(officina).get(email="luca@cliente.it")
    assert luca.custom == {"settore": "meccanica"}
    assert not Consent.objects.for_workspace(officina).filter(contact=luca).exists()

    shop = "https://www.officinarossi.it/grazie"
    response = form_post(client, officina.tracking_key, next=shop, email="mara@cliente.it")
    assert response.status_code == 200  # no Referer/Origin: that site is not known, no redirect
    response = client.post(
        reverse("tracking_form", args=[officina.tracking_key, "newsletter"]),
        {"email": "mara@cliente.it", "next": shop},
        headers={"Origin": "https://www.officinarossi.it"},
    )
    assert response.status_code == 302
    assert response["Location"] == shop
    response = client.post(
        reverse("tracking_form", args=[officina.tracking_key, "newsletter"]),
        {"email": "mara@cliente.it", "next": "https://evil.example/phish"},
        headers={"Origin": "https://www.officinarossi.it"},
    )
    assert response.status_code == 200


def test_a_form_with_a_bad_email_says_so(client, officina, officina_forms):
    response = form_post(client, officina.tracking_key, email="not-an-email")
    assert response.status_code == 400
    assert b"email" in response.content
    response = client.post(
        reverse("tracking_form", args=[officina.tracking_key, "newsletter"]),
        {"first_name": "Anna"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["field"] == "email"
    assert not Contact.objects.for_workspace(officina).exists()


def test_the_honeypot_looks_like_success_but_stores_nothing(client, officina, officina_forms):
    response = form_post(client, officina.tracking_key, website_url="http://spam.example")
    assert response.status_code == 200
    assert b"Thank you" in response.content
    assert not Contact.objects.for_workspace(officina).exists()
    assert not Event.objects.for_workspace(officina).exists()


def test_too_many_submissions_from_one_ip_get_429(client, officina, officina_forms, settings):
    settings.VOLANO_FORM_RATE_PER_IP = (3, 600)
    for n in range(3):
        assert form_post(client, officina.tracking_key, email=f"p{n}@cliente.it").status_code == 200
    response = form_post(client, officina.tracking_key, email="p4@cliente.it")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 601
    assert Contact.objects.for_workspace(officina).count() == 3


def test_the_form_endpoint_refuses_an_unknown_key(client, officina):
    response = form_post(client, "no-such-key-123")
    assert response.status_code == 404
    assert not Contact.objects.for_workspace(officina).exists()


def test_visitor_identify_moves_only_that_visitors_anonymous_hits(client, officina):
    other = "aaaaaaaa-0000-4000-8000-000000000000"
    collect(client, page_view(officina.tracking_key))
    collect(client, page_view(officina.tracking_key))
    collect(client, page_view(officina.tracking_key, aid=other))
    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@cliente.it"})
    moved = visitor_identify(workspace=officina, anonymous_id=AID, contact=anna)
    assert moved == 2
    assert web_events(officina).filter(anonymous_id=other).get().contact_id is None


def test_the_setup_page_shows_the_snippet_the_forms_and_the_last_hits(
    client, officina, officina_forms, giulia
):
    collect(client, page_view(officina.tracking_key, title="Frese CNC"))
    client.force_login(giulia)
    response = client.get(reverse("tracking_setup"))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())  # the snippet is shown as text to copy
    assert f'data-key="{officina.tracking_key}"' in page
    assert "/t/volano.js" in page
    assert f"/t/form/{officina.tracking_key}/newsletter" in page
    assert "Frese CNC" in page


def test_the_setup_page_needs_a_login(client):
    response = client.get(reverse("tracking_setup"))
    assert response.status_code == 302


@pytest.mark.broker
def test_the_rate_limit_is_shared_through_redis(
    client, officina, officina_forms, settings, redis_url
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"volano-test-{uuid.uuid4().hex}",
        }
    }
    # a fixed window of an hour: three posts in a row cannot straddle two windows (with 60 s
    # they did, now and then)
    settings.VOLANO_FORM_RATE_PER_IP = (2, 3600)
    assert form_post(client, officina.tracking_key, email="a@cliente.it").status_code == 200
    assert form_post(client, officina.tracking_key, email="b@cliente.it").status_code == 200
    response = form_post(client, officina.tracking_key, email="c@cliente.it")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert cache.get_many([]) == {}  # the Redis cache is the one in use
    from django.core.cache import caches

    assert type(caches["default"]).__name__ == "RedisCache"


def call_wsgi(app, method, path, body=b""):
    import io

    reply = {}

    def start_response(status, headers):
        reply["status"], reply["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "text/plain;charset=UTF-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    # As Django's test client does: the test's transaction must not be closed as "stale".
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(app(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(reply["status"].split()[0]), reply["headers"], content


def test_the_wsgi_fast_path_stores_hits_and_passes_everything_else_to_django(officina):
    from django.core.wsgi import get_wsgi_application

    from volano.events.views import collect_fast_path

    app = collect_fast_path(get_wsgi_application())
    status, headers, _ = call_wsgi(
        app, "POST", "/t/collect", json.dumps(page_view(officina.tracking_key)).encode()
    )
    assert (status, headers["Access-Control-Allow-Origin"]) == (204, "*")
    assert web_events(officina).count() == 1
    status, _, content = call_wsgi(app, "POST", "/t/collect", b"garbage")
    assert (status, json.loads(content)["message"]) == (400, "the body is not JSON")
    status, _, _ = call_wsgi(
        app, "POST", "/t/collect", json.dumps(page_view("no-such-key-456")).encode()
    )
    assert status == 404
    status, headers, _ = call_wsgi(app, "GET", "/t/volano.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert web_events(officina).count() == 1
