"""What a new user meets first (issue 12): the favicon, the tracking snippet's copy button and an
empty notifications page that says what will appear there."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_favicon_is_linked_from_every_page_and_favicon_ico_answers(client, giulia):
    login = client.get(reverse("login")).content.decode()
    assert '<link rel="icon" href="/static/core/favicon.svg" type="image/svg+xml">' in login
    client.force_login(giulia)
    assert 'rel="icon"' in client.get(reverse("home")).content.decode()

    client.logout()  # a browser asks for it before and after signing in
    asked = client.get("/favicon.ico")
    assert asked.status_code == 302
    assert asked["Location"] == "/static/core/favicon.svg"
    icon = client.get(asked["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    assert _body(icon).startswith(b"<svg")


def test_an_empty_notifications_page_says_what_will_appear_there(client, giulia):
    client.force_login(giulia)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "No notifications yet." in page
    assert "qualified leads assigned to you" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_tracking_snippet_is_copied_with_one_click_and_says_copied(page, live_server):
    from playwright.sync_api import expect

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}{reverse('tracking_setup')}")
    status = page.locator("#tracking-snippet-copied")
    expect(status).to_have_text("")
    page.get_by_role("button", name="Copy the snippet").click()
    expect(status).to_have_text("Copied")
    expect(status).to_be_visible()
    snippet = page.locator("#tracking-snippet").text_content()
    assert "/t/volano.js" in snippet
    assert page.evaluate("() => navigator.clipboard.readText()") == snippet
    # the pixel has its own button and its own confirmation
    page.get_by_role("button", name="Copy the pixel").click()
    expect(page.locator("#tracking-pixel-copied")).to_have_text("Copied")
    assert "<noscript>" in page.evaluate("() => navigator.clipboard.readText()")
