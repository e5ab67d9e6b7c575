"""Channel grouping: the SQL CASE and the Python function classify the same table of touches
the same way, on SQLite and PostgreSQL, with the default rules and with a workspace's own."""

from __future__ import annotations

import datetime as dt

import pytest

from volano.campaigns import channels
from volano.campaigns.channels import (
    channel_group_expression,
    channel_group_of,
    touch_values,
    workspace_rules,
)
from volano.campaigns.models import ChannelGroup as G
from volano.campaigns.models import ChannelRule
from volano.core.errors import ApplicationError
from volano.events.models import Event

# (utm_source, utm_medium, utm_campaign, channel, mailing campaign) → expected default group
CASES = [
    ("", "", "", "web", "", G.DIRECT),
    ("google", "cpc", "fiera-2026", "web", "", G.PAID_SEARCH),
    ("Google", "CPC", "", "web", "", G.PAID_SEARCH),
    ("bing", "ppc", "", "web", "", G.PAID_SEARCH),
    ("google", "organic", "", "web", "", G.ORGANIC_SEARCH),
    ("google", "", "", "web", "", G.ORGANIC_SEARCH),
    ("duckduckgo", "referral", "", "web", "", G.ORGANIC_SEARCH),
    ("facebook", "paid_social", "", "web", "", G.PAID_SOCIAL),
    ("instagram", "cpc", "promo", "web", "", G.PAID_SOCIAL),
    ("linkedin", "social", "", "web", "", G.ORGANIC_SOCIAL),
    ("linkedin.com", "", "", "web", "", G.ORGANIC_SOCIAL),
    ("partner", "social-media", "", "web", "", G.ORGANIC_SOCIAL),
    ("newsletter", "email", "ottobre", "web", "", G.EMAIL),
    ("volano", "email", "ottobre", "web", "", G.EMAIL),
    ("", "", "", "email", "benvenuto", G.EMAIL),
    ("", "", "", "event", "", G.OFFLINE),
    ("fiera-milano", "offline", "", "web", "", G.OFFLINE),
    ("qr", "print", "", "web", "", G.OFFLINE),
    ("awin", "affiliate", "", "web", "", G.AFFILIATES),
    ("gdn", "display", "", "web", "", G.DISPLAY),
    ("rete", "CPM", "", "web", "", G.DISPLAY),
    ("blog.example.it", "referral", "", "web", "", G.REFERRAL),
    ("", "", "", "social", "", G.ORGANIC_SOCIAL),
    ("", "", "", "sales", "", G.UNASSIGNED),
    ("mystery", "unknown", "", "web", "", G.UNASSIGNED),
    ("xgoogle", "cpc", "", "web", "", G.UNASSIGNED),
    ("Città", "ÉMAIL", "", "web", "", G.UNASSIGNED),
]


def _store(workspace, cases):
    now = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)
    Event.objects.bulk_create(
        Event(
            workspace=workspace,
            type="page_view",
            occurred_at=now,
            utm_source=src,
            utm_medium=med,
            utm_campaign=camp,
            channel=channel,
            campaign=mailing,
            properties={"case": i},
        )
        for i, (src, med, camp, channel, mailing, *_rest) in enumerate(cases)
    )


def _sql_groups(workspace):
    rows = (
        Event.objects.for_workspace(workspace)
        .annotate(group=channel_group_expression(workspace))
        .values_list("properties", "group")
    )
    return {props["case"]: group for props, group in rows}


def _python_group(workspace, case):
    src, med, camp, channel, mailing, *_ = case
    source, medium, campaign = touch_values(
        utm_source=src, utm_medium=med, utm_campaign=camp, channel=channel, campaign=mailing
    )
    return channel_group_of(source, medium, campaign, rules=workspace_rules(workspace))


@pytest.mark.django_db
def test_default_rules_classify_the_table_alike_in_sql_and_python(officina):
    _store(officina, CASES)
    sql = _sql_groups(officina)
    for i, case in enumerate(CASES):
        assert sql[i] == case[-1], (case, sql[i])
        assert _python_group(officina, case) == case[-1], case


@pytest.mark.django_db
def test_a_workspace_rules_replace_the_defaults_and_agree(officina, ferramenta):
    # Officina counts its fairs' QR codes as their own utm_medium "qr-fiera" and its
    # partner portal as Affiliates; anything with a campaign starting "fiera-" is Offline.
    for position, (group, fields) in enumerate(
        [
            (G.OFFLINE, {"campaign_op": "regex", "campaign_value": "^fiera-"}),
            (G.AFFILIATES, {"source_op": "equals", "source_value": "Portale-Partner"}),
            (
                G.PAID_SEARCH,
                {
                    "source_op": "regex",
                    "source_value": "google|bing",
                    "medium_op": "equals",
                    "medium_value": "cpc",
                },
            ),
            (G.DIRECT, {"source_op": "equals", "source_value": "(direct)"}),
        ]
    ):
        ChannelRule.objects.create(
            workspace=officina, position=position, channel_group=group, **fields
        )
    cases = [
        ("google", "cpc", "fiera-2026", "web", "", G.OFFLINE),
        ("google", "cpc", "", "web", "", G.PAID_SEARCH),
        ("portale-partner", "referral", "", "web", "", G.AFFILIATES),
        ("", "", "", "web", "", G.DIRECT),
        ("facebook", "cpc", "", "web", "", G.UNASSIGNED),
    ]
    _store(officina, cases)
    _store(ferramenta, cases)
    sql = _sql_groups(officina)
    for i, case in enumerate(cases):
        assert sql[i] == case[-1], case
        assert _python_group(officina, case) == case[-1], case
    # the other workspace still has the defaults
    other = _sql_groups(ferramenta)
    assert other[0] == G.PAID_SEARCH
    assert other[4] == G.PAID_SOCIAL


def test_unportable_or_broken_regex_is_refused_with_the_field():
    for pattern in (r"\bgoogle\b", "(?P<x>a)", "goo(gle", r"(a)\1"):
        with pytest.raises(ApplicationError) as caught:
            channels.regex_check(pattern, field="source_value")
        assert caught.value.field == "source_value"
    channels.regex_check("^(google|bing)$", field="source_value")


def test_campaign_key_prefers_utm_then_mailing_then_form_then_download():
    assert channels.campaign_key(utm_campaign="Fiera-2026", campaign="x") == "fiera-2026"
    assert channels.campaign_key(campaign="Benvenuto") == "benvenuto"
    assert channels.campaign_key(source="form:contatti") == "form:contatti"
    assert channels.campaign_key(content="catalogo-2026") == "content:catalogo-2026"
    assert channels.campaign_key(source="tracking") == ""
