"""The campaign pages in Chromium under the strict CSP: the traffic chart is drawn, the pages
fit a phone (390px) and 1440x900 without sideways scrolling. Screenshots go to the data dir."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from volano.campaigns import services
from volano.contacts import services as contact_services
from volano.events.models import Event

VIEWPORT_WIDTH = 1440


@pytest.fixture
def campaign(officina, giulia):
    campaign = services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Fieragricola Verona - QR allo stand",
            "channel_group": "offline",
            "budget": 16000,
            "starts_on": "2026-01-26",
            "ends_on": "2026-02-20",
        },
    )
    services.content_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "QR allo stand",
            "kind": "landing_page",
            "campaign": campaign.pk,
            "url": "https://www.officinarossi.it/fiere/fieragricola?lang=it",
        },
    )
    now = timezone.now()
    contacts = [
        contact_services.contact_create(
            workspace=officina, actor=giulia, data={"email": f"lead{i}@example.it"}
        )
        for i in range(3)
    ]
    Event.objects.bulk_create(
        Event(
            workspace=officina,
            contact=contacts[i % 3] if i % 4 == 0 else None,
            anonymous_id=None if i % 4 == 0 else f"v{i}",
            type="page_view",
            channel="web",
            occurred_at=now - dt.timedelta(days=i % 40, hours=2),
            utm_source="fieragricola",
            utm_medium="offline",
            utm_campaign=campaign.utm_campaign,
            utm_content="qr-allo-stand",
        )
        for i in range(60)
    )
    return campaign


def _shot(page, name: str) -> None:
    folder = os.environ.get("VOLANO_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "the page scrolls sideways"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_campaign_pages_draw_the_chart_and_fit_desktop_and_phone(page, live_server, campaign):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/?by=day")
    chart = page.locator("#campaign-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    assert page.locator("[data-testid=touches]").inner_text() == "60"
    _shot(page, "campaign-detail-1440.png")
    for path, name in (
        ("/campaigns/", "campaigns-list"),
        ("/campaigns/content/", "campaigns-content"),
        ("/campaigns/channels/?source=google&medium=cpc", "campaigns-channels"),
        (f"/campaigns/utm/?campaign={campaign.pk}", "campaigns-utm"),
    ):
        page.goto(f"{live_server.url}{path}")
        _shot(page, f"{name}-1440.png")
        _no_sideways_scroll(page)
    page.locator("button", has_text="Make the links").click()
    expect(page.locator("[data-testid=utm-link]")).to_have_count(1)
    _shot(page, "campaigns-utm-result-1440.png")
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (
        (f"/campaigns/{campaign.pk}/", "campaign-detail"),
        ("/campaigns/", "campaigns-list"),
        ("/campaigns/channels/", "campaigns-channels"),
    ):
        page.goto(f"{live_server.url}{path}")
        _shot(page, f"{name}-390.png")
        _no_sideways_scroll(page)
    expect(page.locator("#campaign-chart")).to_have_count(0)  # the channels page has none
