"""Giulia sets the sending policy in Chromium: an end equal to the start is refused next to the
field, a good policy is saved; the page fits a phone (390 px) without sideways scrolling."""

import datetime as dt
import os

import pytest

from volano.emails.models import EmailPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 390


def test_giulia_sets_the_sending_policy_on_a_phone(page, live_server, officina):
    page.goto(f"{live_server.url}/email/settings/")
    assert page.get_by_role("heading", name="Sending policy").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT_WIDTH
    page.get_by_label("At most (emails)").fill("2")
    page.get_by_label("Hold marketing email during quiet hours").check()
    page.get_by_label("Nothing sent from").fill("22:00")
    page.get_by_label("Until").fill("22:00")
    page.get_by_role("button", name="Save policy").click()
    error = page.locator("#id_quiet_end_error")
    assert error.inner_text() == "quiet hours must end at another time than they start"
    if shots := os.environ.get("VOLANO_SCREENSHOTS"):
        page.screenshot(path=f"{shots}/policy-error-390.png", full_page=True)
    page.get_by_label("Until").fill("07:00")
    page.get_by_role("button", name="Save policy").click()
    assert page.get_by_text("Sending policy saved.").is_visible()
    policy = EmailPolicy.objects.for_workspace(officina).get()
    assert (policy.cap_messages, policy.quiet_start, policy.quiet_end) == (
        2,
        dt.time(22),
        dt.time(7),
    )
    if shots:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=f"{shots}/policy-1440.png", full_page=True)
