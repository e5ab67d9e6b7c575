"""The snippet in real Chromium, embedded in a client's site on another origin."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from volano.contacts.models import Contact
from volano.events.models import Event
from volano.events.selectors import contact_timeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP_PAGE = """<!DOCTYPE html>
<html><head><title>{title}</title>
<script async src="{volano}/t/volano.js" data-key="{key}"></script>
</head><body><h1>{title}</h1>{body}</body></html>"""

SHOP_FORM = """<form method="post" action="{volano}/t/form/{key}/newsletter">
<input name="email" value="anna@cliente.it">
<input name="first_name" value="Anna">
<label><input type="checkbox" name="consent_email_marketing" value="1" checked> Novità via email</label>
<input type="hidden" name="next" value="{shop}/grazie">
<button type="submit">Iscriviti</button></form>"""


def serve_shop(pages: dict[str, str]) -> ThreadingHTTPServer:
    """The client's website: a real HTTP server on another port of 127.0.0.1."""

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    return check()


def test_a_visit_on_a_client_site_is_tracked_and_joins_the_contact(live_server, chromium, officina):
    from volano.events.webforms import form_create

    form_create(
        workspace=officina,
        actor=None,
        data={
            "slug": "newsletter",
            "name": "Newsletter",
            "fields": ["email", "first_name"],
            "asks_email_consent": True,
            "consent_text": "Novità via email",
        },
    )

    volano = live_server.url
    pages: dict[str, str] = {}
    server = serve_shop(pages)
    # Another origin (port) on the same site (host) as Volano, as www.example.com is to
    # volano.example.com: the browser sends the snippet's cookie with the form post.
    host = urlsplit(volano).hostname
    shop = f"http://{host}:{server.server_address[1]}/negozio"
    pages.update(
        {
            "/negozio/frese": SHOP_PAGE.format(
                title="Frese CNC", volano=volano, key=officina.tracking_key, body=""
            ),
            "/negozio/newsletter": SHOP_PAGE.format(
                title="Newsletter",
                volano=volano,
                key=officina.tracking_key,
                body=SHOP_FORM.format(volano=volano, key=officina.tracking_key, shop=shop),
            ),
            "/negozio/grazie": "<!DOCTYPE html><title>Grazie</title><p>Grazie!</p>",
        }
    )

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{shop}/frese?utm_source=linkedin&utm_medium=social&utm_campaign=fiera")
        views = lambda: list(  # noqa: E731
            Event.objects.for_workspace(officina).filter(type="page_view").order_by("id")
        )
        [view] = wait_for(views)
        assert view.properties["title"] == "Frese CNC"
        assert view.properties["url"].startswith(f"{shop}/frese")
        assert (view.utm_source, view.utm_campaign) == ("linkedin", "fiera")
        cookies = {c["name"]: c for c in page.context.cookies(shop)}
        assert cookies["vl_aid"]["value"] == view.anonymous_id
        assert page.evaluate("window.volano.anonymousId") == view.anonymous_id

        page.wait_for_timeout(1200)
        page.goto(f"{shop}/newsletter")  # leaving the first page sends its dwell time
        assert wait_for(lambda: len(views()) == 2)
        first = wait_for(lambda: (v := views()[0]).properties.get("dwell_seconds", 0) >= 1 and v)
        assert first, "the dwell time of the first page was not stored"
        second = views()[1]
        assert second.utm_campaign == "fiera"  # UTM carried for the session

        page.click("button[type=submit]")
        page.wait_for_url(f"{shop}/grazie")
    finally:
        context.close()
        server.shutdown()

    # The cookie the browser sent with the post, not a form field, joined the earlier views.
    anna = Contact.objects.for_workspace(officina).get(email="anna@cliente.it")
    timeline = [e.type for e in contact_timeline(workspace=officina, contact=anna)]
    assert timeline.count("page_view") == 2
    assert "form_submitted" in timeline
    submitted = Event.objects.for_workspace(officina).get(type="form_submitted")
    assert submitted.properties["url"] == f"{shop}/newsletter"
    assert submitted.utm_campaign == "fiera"
