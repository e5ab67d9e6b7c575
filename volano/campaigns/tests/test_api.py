"""The campaigns API as an integration would use it: create, read, replace, archive campaigns
and content; channel rules; the UTM builder. Bad input is a 4xx naming the field."""

from __future__ import annotations

import pytest

from volano.core.models import Activity

pytestmark = pytest.mark.django_db


def test_a_campaign_round_trips_and_records_who_changed_it(api, giulia, officina):
    created = api.post(
        "/campaigns",
        {
            "name": "Fiera EMO Milano 2026",
            "channel_group": "offline",
            "objective": "leads",
            "starts_on": "2026-10-09",
            "ends_on": "2026-10-12",
            "budget": 18000,
            "owner": giulia.email,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] == "fiera-emo-milano-2026"
    assert body["utm_campaign"] == "fiera-emo-milano-2026"
    assert body["budget"] == 18000
    assert body["owner"] == giulia.email
    campaign_id = body["id"]

    listed = api.get("/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [campaign_id]

    replaced = api.put(
        f"/campaigns/{campaign_id}",
        {"name": "Fiera EMO 2026", "slug": "emo-2026", "budget": 20000, "ends_on": "2026-10-13"},
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["utm_campaign"] == "fiera-emo-milano-2026"  # kept: links carry it
    detail = api.get(f"/campaigns/{campaign_id}").json()
    assert detail["budget"] == 20000 and detail["cost"] == 0 and detail["leads"] == 0

    assert api.delete(f"/campaigns/{campaign_id}").status_code == 204
    assert api.get("/campaigns").json()["items"] == []
    assert [c["id"] for c in api.get("/campaigns", archived=True).json()["items"]] == [campaign_id]
    verbs = list(
        Activity.objects.for_workspace(officina)
        .filter(object_type="campaign", object_id=campaign_id)
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == ["campaign.created", "campaign.updated", "campaign.archived"]


def test_bad_campaign_input_names_every_field(api):
    api.post("/campaigns", {"name": "Google Ads", "utm_campaign": "Brand"})
    reply = api.post(
        "/campaigns",
        {
            "name": "Google Ads bis",
            "utm_campaign": "BRAND",
            "starts_on": "2026-05-01",
            "ends_on": "2026-04-01",
            "objective": "fame",
            "owner": "nobody@example.it",
        },
    )
    assert reply.status_code == 422
    fields = {e["field"] for e in reply.json()["error"]["errors"]}
    assert fields == {"utm_campaign", "ends_on", "objective", "owner"}


def test_campaigns_of_another_workspace_are_not_found(api, ferramenta, bruno):
    from volano.campaigns import services

    theirs = services.campaign_create(workspace=ferramenta, actor=bruno, data={"name": "Loro"})
    assert api.get(f"/campaigns/{theirs.pk}").status_code == 404
    assert api.put(f"/campaigns/{theirs.pk}", {"name": "Nostro"}).status_code == 404


def test_content_links_to_its_campaign(api):
    campaign = api.post("/campaigns", {"name": "Webinar manutenzione"}).json()
    made = api.post(
        "/content",
        {
            "name": "Webinar: manutenzione predittiva",
            "kind": "webinar",
            "url": "https://officina-rossi.it/webinar",
            "campaign": campaign["id"],
        },
    )
    assert made.status_code == 201, made.content
    assert made.json()["utm_content"] == "webinar-manutenzione-predittiva"
    listed = api.get("/content", campaign=campaign["id"]).json()["items"]
    assert [c["name"] for c in listed] == ["Webinar: manutenzione predittiva"]
    bad = api.post("/content", {"name": "X", "url": "ftp://x", "campaign": 999999, "kind": "?"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["errors"]} == {"url", "campaign", "kind"}


def test_utm_builder_makes_consistent_links(api):
    reply = api.post(
        "/utm",
        {
            "url": "https://officina-rossi.it/fiera?lang=it&utm_source=Vecchio#stand",
            "campaign": "Fiera EMO 2026",
            "preset": "meta_ads",
            "content": ["Video Tornio", "Carosello A"],
        },
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["channel_group"] == "paid_social"
    assert [link["url"] for link in body["links"]] == [
        "https://officina-rossi.it/fiera?lang=it&utm_source=facebook&utm_medium=paid_social"
        "&utm_campaign=fiera-emo-2026&utm_content=video-tornio#stand",
        "https://officina-rossi.it/fiera?lang=it&utm_source=facebook&utm_medium=paid_social"
        "&utm_campaign=fiera-emo-2026&utm_content=carosello-a#stand",
    ]
    assert body["links"][0]["preview"] == (
        "officina-rossi.it/fiera [facebook · paid_social · video-tornio]"
    )
    bad = api.post("/utm", {"url": "not a url", "campaign": "", "source": "x"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["errors"]} == {"url", "medium", "campaign"}


def test_channel_rules_are_editable_and_tested(api):
    assert api.get("/channel-rules").json()["defaults"] is True
    assert (
        api.get("/channel-rules/test", source="google", medium="cpc").json()["channel_group"]
        == "paid_search"
    )
    bad = api.put(
        "/channel-rules",
        {"rules": [{"channel_group": "email", "source_op": "regex", "source_value": "(a"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "rules[0].source_value"
    saved = api.put(
        "/channel-rules",
        {
            "rules": [
                {"channel_group": "offline", "medium_op": "equals", "medium_value": "QR"},
                {"channel_group": "referral", "source_op": "regex", "source_value": "."},
            ]
        },
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["defaults"] is False
    assert (
        api.get("/channel-rules/test", source="google", medium="qr").json()["channel_group"]
        == "offline"
    )
    assert (
        api.get("/channel-rules/test", source="google", medium="cpc").json()["channel_group"]
        == "referral"
    )
    assert api.put("/channel-rules", {"rules": []}).json()["defaults"] is True
