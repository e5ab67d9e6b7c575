"""The double opt-in link in real Chromium on a phone-sized window: the page's one button
confirms (with the page's own CSRF cookie), and the form's settings show the option."""

from __future__ import annotations

import os
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from volano.conftest import worker_run_once
from volano.contacts.models import Consent, ConsentStatus
from volano.events.webforms import form_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 390
SHOTS = os.environ.get("VOLANO_TEST_SCREENSHOTS", "")  # a folder: save the pages as PNG


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_the_link_in_the_email_confirms_in_a_browser(page, live_server, client, officina, smtp):
    cache.clear()
    form_create(
        workspace=officina,
        actor=None,
        data={
            "slug": "newsletter",
            "name": "Newsletter",
            "fields": ["first_name"],
            "asks_email_consent": True,
            "consent_text": "Acconsento a ricevere la newsletter.",
        },
    )
    client.post(
        reverse("tracking_form", args=[officina.tracking_key, "newsletter"]),
        {"email": "lucia@cliente.it", "first_name": "Lucia", "consent_email_marketing": "1"},
    )
    worker_run_once()
    [message] = smtp.inbox.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"https://volano\.example\.it(/e/confirm/[^\s]+/)", text)

    page.goto(live_server.url + link)
    button = page.get_by_role("button", name="Confirm my subscription")
    assert button.is_visible()
    shot(page, "optin-confirm-390")
    consent = Consent.objects.for_workspace(officina).get(contact__email="lucia@cliente.it")
    assert consent.status == ConsentStatus.PENDING
    button.click()
    page.get_by_role("heading", name="Subscription confirmed").wait_for()
    shot(page, "optin-confirmed-390")
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.GRANTED

    page.goto(live_server.url + link[:-4] + "xyz/")
    assert page.get_by_role("heading", name="This confirmation link is not valid").is_visible()

    page.goto(live_server.url + reverse("tracking_form_edit", args=["newsletter"]))
    option = page.get_by_label("Double opt-in: confirm the consent by email")
    assert option.is_checked()
    shot(page, "form-settings-390")
    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "form-settings-1440")
