"""Giulia builds a segment by clicking in a real browser (Chromium), without typing JSON."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.events.services import event_append

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there


@pytest.fixture
def people(officina, giulia):
    now = timezone.now()
    for first, province, visits in (("Luca", "MI", 3), ("Sara", "MI", 1), ("Anna", "NA", 4)):
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "first_name": first,
                "last_name": "Test",
                "email": f"{first.lower()}@example.it",
                "province": province,
            },
        )
        for i in range(visits):
            event_append(
                workspace=officina,
                type="page_view",
                contact_id=contact.pk,
                occurred_at=now - dt.timedelta(days=i + 1),
                properties={"url": "https://officinarossi.it/prezzi"},
            )


def test_build_count_save_and_see_members(page, live_server, people):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/segments/new/")
    builder = page.locator("#builder")
    first = builder.locator(".cond-row").nth(0)
    first.locator("[data-role=value]").select_option(["MI"])
    expect(page.get_by_test_id("preview-count")).to_have_text("2")

    builder.get_by_role("button", name="+ Add a condition").first.click()
    second = builder.locator(".cond-row").nth(1)
    second.get_by_label("Condition type").select_option("event")
    second.get_by_label("What").select_option("page_view")
    second.get_by_role("button", name="+ Filter on a detail").click()
    second.locator("[data-role=prop_value]").fill("/prezzi")
    second.locator("[data-role=count]").fill("3")
    second.locator("[data-role=within_days]").fill("30")

    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    expect(page.locator("#preview")).to_contain_text(
        "visited a page containing /prezzi at least 3 times in the last 30 days"
    )

    second.locator("[data-role=count]").fill("")
    expect(second.locator("[data-role=error]")).to_contain_text("expected a number")
    second.locator("[data-role=count]").fill("3")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "builder.png"), full_page=True)

    page.get_by_label("Name").fill("Prezzi Milano")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("h1")).to_contain_text("Prezzi Milano")
    members = page.locator("#results table")
    expect(members).to_contain_text("Luca Test")
    expect(members).not_to_contain_text("Sara Test")
    expect(members).not_to_contain_text("Anna Test")
