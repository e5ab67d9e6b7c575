"""The demo workspace's campaigns tell a true story: the generator's tagged sessions, the
newsletters, downloads and webinars link to campaigns and content, and the traffic inserted here
makes first touches (leads) of the fair QR codes and the LinkedIn webinar push."""

from __future__ import annotations

import pytest

from volano.campaigns import selectors
from volano.campaigns.demo import demo_campaigns_create
from volano.campaigns.models import Campaign, ChannelGroup
from volano.core.models import Workspace
from volano.demo import generator
from volano.demo.load import SLUG, demo_load

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_year_of_campaigns_with_their_traffic_and_leads(monkeypatch):
    monkeypatch.setitem(
        generator.SIZES,
        "test",
        generator.Size(contacts=400, companies=60, activity=0.5, anonymous_visitors=120),
    )
    demo_load(size="test")
    workspace = Workspace.objects.get(slug=SLUG)
    campaigns = {c.utm_campaign: c for c in Campaign.objects.for_workspace(workspace)}
    assert {
        "ricambi-originali",
        "fiera-eima",
        "fieragricola-qr",
        "newsletter",
        "webinar-linkedin",
        "black-friday-ricambi",
    } <= set(campaigns)
    assert campaigns["black-friday-ricambi"].aims_at_customers
    figures = selectors.campaign_figures(workspace, [c.pk for c in campaigns.values()])
    # every campaign the generator tags sessions with has traffic
    for utm in (
        "ricambi-originali",
        "agricoltura-4-0",
        "newsletter",
        "fieragricola-qr",
        "webinar-linkedin",
        "contenuti-tecnici",
    ):
        assert figures[campaigns[utm].pk]["touches"] > 0, utm
    # the inserted traffic is the first touch of some of the contacts created while it ran
    assert figures[campaigns["fieragricola-qr"].pk]["leads"] > 0
    groups = dict(
        selectors.touches(workspace)
        .filter(campaign_id=campaigns["fieragricola-qr"].pk)
        .values_list("channel_group", "content_id")
        .distinct()
    )
    assert set(groups) == {ChannelGroup.OFFLINE}
    assert groups[ChannelGroup.OFFLINE] is not None  # the QR code's content asset
    # besides the paid channels, visits from search engines, other sites and social pages
    reached = set(selectors.touches(workspace).values_list("channel_group", flat=True).distinct())
    assert {
        ChannelGroup.ORGANIC_SEARCH,
        ChannelGroup.REFERRAL,
        ChannelGroup.ORGANIC_SOCIAL,
        ChannelGroup.DIRECT,
        ChannelGroup.PAID_SEARCH,
        ChannelGroup.EMAIL,
    } <= reached
    # run again: nothing doubled
    assert demo_campaigns_create(workspace=workspace, now=campaigns["newsletter"].created_at) == {
        "campaigns": 0,
        "contents": 0,
        "events": 0,
    }
