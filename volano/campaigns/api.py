"""/api/v1 routes of campaigns: campaigns, content assets, channel rules and the UTM builder.
Parse, call a service or selector, shape the reply; errors name the field. Amounts are numbers
in the workspace currency."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from volano.campaigns import selectors, services, utm
from volano.campaigns.channels import channel_group_of, workspace_rules
from volano.campaigns.models import Campaign, ChannelRule, ContentAsset
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages

router = Router(tags=["campaigns"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class CampaignIn(Strict):
    stored_in = Campaign

    name: str
    slug: str = ""
    utm_campaign: str | None = None
    channel_group: str = ""
    objective: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    budget: float = 0
    owner: int | str | None = None
    aims_at_customers: bool = False
    description: str = ""


class CampaignOut(Schema):
    id: int
    name: str
    slug: str
    utm_campaign: str
    channel_group: str
    objective: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    budget: float
    owner_id: int | None
    owner: str | None
    aims_at_customers: bool
    description: str
    status: str
    archived: bool
    created_at: dt.datetime


class CampaignDetailOut(CampaignOut):
    cost: float
    leads: int
    touches: int


class ContentIn(Strict):
    stored_in = ContentAsset

    name: str
    slug: str = ""
    kind: str = ""
    url: str = ""
    utm_content: str | None = None
    campaign: int | str | None = None


class ContentOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    url: str
    utm_content: str
    campaign_id: int | None
    created_at: dt.datetime


class RuleIO(Strict):
    stored_in = ChannelRule

    channel_group: str
    source_op: str = ""
    source_value: str = ""
    medium_op: str = ""
    medium_value: str = ""
    campaign_op: str = ""
    campaign_value: str = ""


class RulesIn(Strict):
    rules: list[RuleIO] = Field(max_length=200)


class RulesOut(Schema):
    defaults: bool
    rules: list[dict]


class UtmIn(Strict):
    url: str = Field(max_length=2000)
    campaign: str = Field(max_length=100)
    source: str = Field(default="", max_length=100)
    medium: str = Field(default="", max_length=100)
    preset: str = Field(default="", max_length=40)
    content: list[str] = Field(default_factory=list, max_length=100)
    term: str = Field(default="", max_length=100)


class UtmLink(Schema):
    content: str
    url: str
    preview: str


class UtmOut(Schema):
    source: str
    medium: str
    campaign: str
    channel_group: str
    links: list[UtmLink]


class ChannelTestOut(Schema):
    source: str
    medium: str
    campaign: str
    channel_group: str


def _campaign_out(campaign: Campaign) -> dict:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "slug": campaign.slug,
        "utm_campaign": campaign.utm_campaign,
        "channel_group": campaign.channel_group,
        "objective": campaign.objective,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "budget": float(campaign.budget),
        "owner_id": campaign.owner_id,
        "owner": campaign.owner.email if campaign.owner else None,
        "aims_at_customers": campaign.aims_at_customers,
        "description": campaign.description,
        "status": selectors.campaign_status(campaign),
        "archived": campaign.archived_at is not None,
        "created_at": campaign.created_at,
    }


def _rule_out(rule: Any) -> dict:
    return {
        "channel_group": rule.channel_group,
        "source_op": rule.source_op,
        "source_value": rule.source_value,
        "medium_op": rule.medium_op,
        "medium_value": rule.medium_value,
        "campaign_op": rule.campaign_op,
        "campaign_value": rule.campaign_value,
    }


@router.get("/campaigns", response=list[CampaignOut], summary="List campaigns")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def campaigns_list(request: HttpRequest, archived: bool = False):
    return [_campaign_out(c) for c in selectors.campaign_list(_ws(request), archived=archived)]


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a campaign")
def campaigns_create(request: HttpRequest, payload: CampaignIn):
    data = payload.model_dump()
    if data["utm_campaign"] is None:
        del data["utm_campaign"]
    campaign = services.campaign_create(workspace=_ws(request), actor=_actor(request), data=data)
    return 201, _campaign_out(campaign)


@router.get(
    "/campaigns/{campaign_id}",
    response=CampaignDetailOut,
    summary="Get a campaign with its cost so far, leads and touches",
)
def campaigns_get(request: HttpRequest, campaign_id: int):
    workspace = _ws(request)
    campaign = selectors.campaign_get(workspace=workspace, campaign_id=campaign_id)
    figures = selectors.campaign_figures(workspace, [campaign.pk])[campaign.pk]
    return {**_campaign_out(campaign), **figures, "cost": float(figures["cost"])}


@router.put("/campaigns/{campaign_id}", response=CampaignOut, summary="Replace a campaign")
def campaigns_update(request: HttpRequest, campaign_id: int, payload: CampaignIn):
    workspace = _ws(request)
    campaign = selectors.campaign_get(workspace=workspace, campaign_id=campaign_id)
    data = payload.model_dump()
    if data["utm_campaign"] is None:
        data["utm_campaign"] = campaign.utm_campaign
    campaign = services.campaign_update(
        workspace=workspace, actor=_actor(request), campaign=campaign, data=data
    )
    return _campaign_out(campaign)


@router.delete("/campaigns/{campaign_id}", response={204: None}, summary="Archive a campaign")
def campaigns_archive(request: HttpRequest, campaign_id: int):
    workspace = _ws(request)
    campaign = selectors.campaign_get(workspace=workspace, campaign_id=campaign_id)
    services.campaign_archive(workspace=workspace, actor=_actor(request), campaign=campaign)
    return 204, None


@router.get("/content", response=list[ContentOut], summary="List content assets")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def content_list(request: HttpRequest, campaign: int | None = None):
    workspace = _ws(request)
    chosen = None
    if campaign is not None:
        chosen = selectors.campaign_get(workspace=workspace, campaign_id=campaign)
    return list(selectors.content_list(workspace, campaign=chosen))


@router.post("/content", response={201: ContentOut}, summary="Create a content asset")
def content_create(request: HttpRequest, payload: ContentIn):
    data = payload.model_dump()
    if data["utm_content"] is None:
        del data["utm_content"]
    content = services.content_create(workspace=_ws(request), actor=_actor(request), data=data)
    return 201, content


@router.get("/content/{content_id}", response=ContentOut, summary="Get a content asset")
def content_get(request: HttpRequest, content_id: int):
    return selectors.content_get(workspace=_ws(request), content_id=content_id)


@router.put("/content/{content_id}", response=ContentOut, summary="Replace a content asset")
def content_update(request: HttpRequest, content_id: int, payload: ContentIn):
    workspace = _ws(request)
    content = selectors.content_get(workspace=workspace, content_id=content_id)
    data = payload.model_dump()
    if data["utm_content"] is None:
        data["utm_content"] = content.utm_content
    return services.content_update(
        workspace=workspace, actor=_actor(request), content=content, data=data
    )


@router.get("/channel-rules", response=RulesOut, summary="The workspace's channel rules")
def channel_rules_get(request: HttpRequest):
    workspace = _ws(request)
    stored = ChannelRule.objects.for_workspace(workspace).exists()
    return {"defaults": not stored, "rules": [_rule_out(r) for r in workspace_rules(workspace)]}


@router.put(
    "/channel-rules",
    response=RulesOut,
    summary="Replace the channel rules (an empty list goes back to the defaults)",
)
def channel_rules_put(request: HttpRequest, payload: RulesIn):
    workspace = _ws(request)
    services.channel_rules_replace(
        workspace=workspace,
        actor=_actor(request),
        rules=[rule.model_dump() for rule in payload.rules],
    )
    return channel_rules_get(request)


@router.get("/channel-rules/test", response=ChannelTestOut, summary="Classify a source/medium")
def channel_rules_test(
    request: HttpRequest, source: str = "", medium: str = "", campaign: str = ""
):
    group = channel_group_of(
        source[:100], medium[:100], campaign[:100], rules=workspace_rules(_ws(request))
    )
    return {"source": source, "medium": medium, "campaign": campaign, "channel_group": group}


def utm_build(workspace: Any, data: dict) -> dict:
    """The UTM builder's answer for the API and the page (one link per content, or one)."""
    source, medium = data.get("source", ""), data.get("medium", "")
    if data.get("preset"):
        preset = utm.preset_get(data["preset"])
        source, medium = source or preset.source, medium or preset.medium
    contents = data.get("content") or [""]
    links = []
    for content in contents:
        link = utm.utm_link(
            data.get("url", ""),
            source=source,
            medium=medium,
            campaign=data.get("campaign", ""),
            content=content,
            term=data.get("term", ""),
        )
        links.append(
            {"content": services.utm_value(content), "url": link, "preview": utm.utm_preview(link)}
        )
    clean_source, clean_medium = services.utm_value(source), services.utm_value(medium)
    return {
        "source": clean_source,
        "medium": clean_medium,
        "campaign": services.utm_value(data.get("campaign", "")),
        "channel_group": channel_group_of(
            clean_source, clean_medium, rules=workspace_rules(workspace)
        ),
        "links": links,
    }


@router.post("/utm", response=UtmOut, summary="Build consistent UTM links")
def utm_post(request: HttpRequest, payload: UtmIn):
    return utm_build(_ws(request), payload.model_dump())
