"""Events link to campaigns and content when read: by UTM tags, by the email that carried them,
by the form or download they came from; events stored before the campaign existed count, and
an anonymous visitor's visits count for the contact it becomes."""

from __future__ import annotations

import datetime as dt

import pytest

from volano.campaigns import selectors, services
from volano.campaigns.models import ChannelGroup
from volano.contacts import services as contact_services
from volano.events.identity import visitor_identify
from volano.events.models import Event

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)


def _event(workspace, **fields):
    fields.setdefault("type", "page_view")
    fields.setdefault("channel", "web")
    fields.setdefault("occurred_at", T0)
    return Event.objects.create(workspace=workspace, **fields)


def _resolved(workspace):
    return {
        e.pk: (e.campaign_id, e.content_id, e.channel_group)
        for e in selectors.events_with_campaign(workspace)
    }


def test_events_stored_before_the_campaign_link_to_it_by_each_way(officina, ferramenta, giulia):
    by_utm = _event(
        officina,
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="EMO-2026",
        utm_content="Banner-Tornio",
    )
    by_email = _event(officina, type="email_clicked", channel="email", campaign="newsletter-ott")
    by_form = _event(officina, type="form_submitted", source="form:richiesta-catalogo")
    by_download = _event(officina, type="content_downloaded", content="catalogo-2026")
    unrelated = _event(officina, utm_source="bing", utm_medium="cpc", utm_campaign="altro")
    theirs = _event(ferramenta, utm_source="google", utm_medium="cpc", utm_campaign="emo-2026")
    before = _resolved(officina)
    assert all(campaign is None for campaign, _, _ in before.values())

    emo = services.campaign_create(
        workspace=officina, actor=giulia, data={"name": "EMO 2026", "utm_campaign": "emo-2026"}
    )
    news = services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Newsletter ottobre", "utm_campaign": "newsletter-ott"},
    )
    banner = services.content_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Banner tornio", "kind": "ad", "campaign": emo.pk},
    )
    form = services.content_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Richiesta catalogo", "kind": "landing_page", "campaign": emo.pk},
    )
    catalogue = services.content_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Catalogo 2026", "kind": "white_paper", "campaign": news.pk},
    )
    after = _resolved(officina)
    assert after[by_utm.pk] == (emo.pk, banner.pk, ChannelGroup.PAID_SEARCH)
    assert after[by_email.pk] == (news.pk, None, ChannelGroup.EMAIL)
    assert after[by_form.pk] == (emo.pk, form.pk, ChannelGroup.DIRECT)
    assert after[by_download.pk] == (news.pk, catalogue.pk, ChannelGroup.DIRECT)
    assert after[unrelated.pk] == (None, None, ChannelGroup.PAID_SEARCH)
    # another workspace's event with the same tag is not ours, and not linked to our campaign
    assert theirs.pk not in after
    assert _resolved(ferramenta)[theirs.pk][0] is None


def test_an_anonymous_visitors_clicks_become_the_leads_first_touch(officina, giulia):
    campaign = services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Meta autunno", "utm_campaign": "meta-autunno"},
    )
    _event(
        officina,
        anonymous_id="anon-1",
        utm_source="facebook",
        utm_medium="paid_social",
        utm_campaign="Meta-Autunno",
        occurred_at=T0,
    )
    _event(officina, anonymous_id="anon-1", occurred_at=T0 + dt.timedelta(days=2))
    contact = contact_services.contact_create(
        workspace=officina, actor=None, data={"email": "anna@example.it", "source": "form"}
    )
    _event(
        officina,
        contact=contact,
        type="form_submitted",
        source="form:contatti",
        occurred_at=T0 + dt.timedelta(days=3),
    )
    figures = selectors.campaign_figures(officina, [campaign.pk])
    assert figures[campaign.pk]["leads"] == 0  # not known yet: the visits are anonymous
    assert figures[campaign.pk]["touches"] == 1

    visitor_identify(workspace=officina, anonymous_id="anon-1", contact=contact)

    figures = selectors.campaign_figures(officina, [campaign.pk])
    assert figures[campaign.pk]["leads"] == 1
    first = selectors.contacts_with_first_touch(officina).get(pk=contact.pk)
    assert first.first_channel_group == ChannelGroup.PAID_SOCIAL
    timeline = selectors.campaign_timeline(officina, campaign, granularity="day")
    assert sum(timeline["visits"]) == 1 and sum(timeline["leads"]) == 1
