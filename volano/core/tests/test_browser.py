"""Real Chromium: Giulia signs in, finds a contact with the live search and reads its timeline."""

import pytest

from volano.contacts import services
from volano.events.models import EventType
from volano.events.services import event_append

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(chromium, _live_server_warm):
    """A page of its own (signed out) in the shared Chromium."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def test_sign_in_search_and_read_a_timeline(live_server, browser_page, officina, giulia):
    for name in ("Anna Greco", "Paolo Ferri"):
        first, last = name.split()
        services.contact_create(
            workspace=officina, actor=giulia, data={"first_name": first, "last_name": last}
        )
    luca = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Luca", "last_name": "Rossi", "email": "luca@example.it"},
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.PAGE_VIEW,
        properties={"title": "Tornio TR-300", "dwell_seconds": 42},
    )
    page = browser_page
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/contacts/")
    assert "/login/" in page.url
    page.get_by_label("Email").fill("giulia@officinarossi.it")
    page.get_by_label("Password").fill("giulia-pass-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/contacts/")

    rows = page.locator("#results tbody tr")
    assert rows.count() == 3
    page.get_by_label("Search").press_sequentially("rossi", delay=30)
    from playwright.sync_api import expect

    # Not wait_for_function: it evaluates a string in the page, which the CSP (rightly) refuses.
    expect(rows).to_have_count(1)
    assert "q=rossi" in page.url  # the live search keeps the address shareable

    page.get_by_role("link", name="Luca Rossi").click()
    page.wait_for_url(f"{live_server.url}/contacts/{luca.pk}/")
    timeline = page.locator("#timeline")
    assert "Page view" in timeline.inner_text()
    assert "Tornio TR-300 · 42 s on the page" in timeline.inner_text()
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_api_docs_run_from_vendored_files_only(live_server, browser_page):
    """Swagger UI starts in Chromium with every request going to Volano itself."""
    requested: list[str] = []
    errors: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.goto(f"{live_server.url}/api/v1/docs")
    browser_page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Volano API" in browser_page.inner_text(".swagger-ui .info .title")
    browser_page.wait_for_selector(".opblock-tag", timeout=15000)
    assert not errors, errors
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
