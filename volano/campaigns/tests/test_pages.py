"""The campaign pages as Giulia (marketer) uses them: create a campaign, see its traffic and
leads, add content, make UTM links, edit and test the channel rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from volano.campaigns import services
from volano.campaigns.models import Campaign, ChannelRule, CostEntry
from volano.contacts import services as contact_services
from volano.events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


def test_a_campaign_is_created_and_its_page_shows_cost_traffic_and_leads(
    signed_in, officina, giulia
):
    reply = signed_in.post(
        "/campaigns/",
        {
            "name": "Google Ads ricambi",
            "channel_group": "paid_search",
            "objective": "leads",
            "budget": "5000",
            "starts_on": "2026-09-01",
        },
    )
    assert reply.status_code == 302, reply.content.decode()[:2000]
    campaign = Campaign.objects.for_workspace(officina).get()
    assert campaign.utm_campaign == "google-ads-ricambi"
    now = timezone.now()
    anna = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "anna@example.it"}
    )
    Event.objects.bulk_create(
        Event(
            workspace=officina,
            contact=anna if i == 0 else None,
            anonymous_id=f"a{i}",
            type="page_view",
            channel="web",
            occurred_at=now - dt.timedelta(days=i),
            utm_source="google",
            utm_medium="cpc",
            utm_campaign="Google-Ads-Ricambi",
        )
        for i in range(3)
    )
    CostEntry.objects.create(
        workspace=officina,
        campaign=campaign,
        campaign_key="google-ads-ricambi",
        platform="google_ads",
        day=timezone.localdate(),
        amount="123.40",
    )
    services.content_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Annuncio ricambi",
            "kind": "ad",
            "url": "https://officina-rossi.it/ricambi",
            "campaign": campaign.pk,
        },
    )
    page = signed_in.get(f"/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="touches">3<' in html
    assert 'data-testid="leads">1<' in html
    assert 'data-testid="cost">123 EUR' in html or 'data-testid="cost">123' in html
    assert 'id="campaign-timeline"' in html and "campaign-chart.js" in html
    assert (
        "https://officina-rossi.it/ricambi?utm_source=google&amp;utm_medium=cpc"
        "&amp;utm_campaign=google-ads-ricambi&amp;utm_content=annuncio-ricambi" in html
    )
    listing = signed_in.get("/campaigns/").content.decode()
    assert "Google Ads ricambi" in listing and 'data-testid="leads">1<' in listing


def test_a_bad_campaign_form_says_what_is_wrong(signed_in, officina):
    reply = signed_in.post(
        "/campaigns/",
        {"name": "X", "objective": "leads", "starts_on": "2026-09-10", "ends_on": "2026-09-01"},
    )
    assert reply.status_code == 422
    assert "the campaign ends before it starts" in reply.content.decode()
    assert not Campaign.objects.for_workspace(officina).exists()


def test_the_utm_builder_page_makes_links(signed_in):
    reply = signed_in.post(
        "/campaigns/utm/",
        {
            "url": "https://officina-rossi.it/webinar?ref=x",
            "campaign": "Webinar Ottobre",
            "preset": "linkedin_ads",
            "content": "Post A\nPost B",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = reply.content.decode()
    assert reply.status_code == 200
    assert html.count('data-testid="utm-link"') == 2
    assert (
        "https://officina-rossi.it/webinar?ref=x&amp;utm_source=linkedin&amp;utm_medium="
        "paid_social&amp;utm_campaign=webinar-ottobre&amp;utm_content=post-b"
    ) in html
    assert "Paid Social" in html


def test_channel_rules_page_saves_and_tests(signed_in, officina):
    page = signed_in.get(
        "/campaigns/channels/", {"source": "google", "medium": "cpc"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Paid Search" in page.content.decode().split('data-testid="channel-tested"')[1][:200]
    bad = signed_in.post(
        "/campaigns/channels/",
        {
            "rows": "1",
            "r0-channel_group": "email",
            "r0-source_op": "regex",
            "r0-source_value": "(broken",
        },
    )
    assert bad.status_code == 422
    assert "is not a valid regular expression" in bad.content.decode()
    assert not ChannelRule.objects.for_workspace(officina).exists()
    saved = signed_in.post(
        "/campaigns/channels/",
        {
            "rows": "2",
            "r0-channel_group": "offline",
            "r0-medium_op": "equals",
            "r0-medium_value": "fiera",
            "r1-channel_group": "",
        },
    )
    assert saved.status_code == 302
    assert list(
        ChannelRule.objects.for_workspace(officina).values_list("channel_group", "medium_value")
    ) == [("offline", "fiera")]
    page = signed_in.get(
        "/campaigns/channels/", {"source": "google", "medium": "cpc"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Unassigned" in page.content.decode().split('data-testid="channel-tested"')[1][:200]


def test_content_page_adds_content(signed_in, officina):
    reply = signed_in.post(
        "/campaigns/content/", {"name": "White paper tornitura", "kind": "white_paper"}
    )
    assert reply.status_code == 302
    assert "White paper tornitura" in signed_in.get("/campaigns/content/").content.decode()
