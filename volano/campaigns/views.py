"""Campaign pages: the list, a campaign's page (figures, chart, content, links), content assets,
the UTM builder and the channel rules. Thin: selectors read, services write."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from volano.campaigns import api as campaigns_api
from volano.campaigns import selectors, services, utm
from volano.campaigns.channels import channel_group_label, channel_group_of, workspace_rules
from volano.campaigns.forms import (
    GROUP_CHOICES,
    MATCH_CHOICES,
    CampaignForm,
    ChannelTestForm,
    ContentForm,
    UtmForm,
)
from volano.campaigns.models import ChannelGroup, ChannelRule, ContentAsset
from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _errors_to_form(form: Any, failure: ApplicationError) -> None:
    errors = getattr(failure, "errors", None) or [
        {"field": failure.field, "message": failure.message}
    ]
    for error in errors:
        field = error.get("field")
        form.add_error(field if field in form.fields else None, error["message"])


def _status_label(status: str) -> str:
    return str(
        {
            "planned": _("planned"),
            "running": _("running"),
            "ended": _("ended"),
            "archived": _("archived"),
        }[status]
    )


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def campaign_list(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = CampaignForm(workspace=workspace)
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST, workspace=workspace)
        if form.is_valid():
            try:
                campaign = services.campaign_create(
                    workspace=workspace, actor=_actor(request), data=form.service_data()
                )
            except ApplicationError as failure:
                _errors_to_form(form, failure)
            else:
                messages.success(
                    request, _("Campaign “%(name)s” created.") % {"name": campaign.name}
                )
                return redirect("campaigns:detail", campaign_id=campaign.pk)
        status = 422
    archived = request.GET.get("archived") == "1"
    campaigns = list(selectors.campaign_list(workspace, archived=archived))
    figures = selectors.campaign_figures(workspace, [c.pk for c in campaigns])
    rows = [
        {
            "campaign": c,
            "status": selectors.campaign_status(c),
            "status_label": _status_label(selectors.campaign_status(c)),
            "channel": channel_group_label(c.channel_group) if c.channel_group else "",
            **figures[c.pk],
        }
        for c in campaigns
    ]
    return render(
        request,
        "campaigns/list.html",
        {"rows": rows, "form": form, "archived": archived, "currency": workspace.currency},
        status=status,
    )


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = _ws(request)
    campaign = selectors.campaign_get(workspace=workspace, campaign_id=campaign_id)
    form = CampaignForm(initial=CampaignForm.initial_of(campaign), workspace=workspace)
    status = 200
    if request.method == "POST":
        if request.POST.get("action") in ("archive", "restore"):
            services.campaign_archive(
                workspace=workspace,
                actor=_actor(request),
                campaign=campaign,
                archived=request.POST["action"] == "archive",
            )
            return redirect("campaigns:detail", campaign_id=campaign.pk)
        form = CampaignForm(request.POST, workspace=workspace)
        if form.is_valid():
            try:
                data = form.service_data()
                data.setdefault("utm_campaign", campaign.utm_campaign)
                services.campaign_update(
                    workspace=workspace, actor=_actor(request), campaign=campaign, data=data
                )
            except ApplicationError as failure:
                _errors_to_form(form, failure)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("campaigns:detail", campaign_id=campaign.pk)
        status = 422
    granularity = request.GET.get("by", "week")
    if granularity not in ("day", "week", "month"):
        granularity = "week"
    timeline = selectors.campaign_timeline(workspace, campaign, granularity=granularity)
    figures = selectors.campaign_figures(workspace, [campaign.pk])[campaign.pk]
    contents = list(selectors.content_list(workspace, campaign=campaign))
    content_touches = selectors.content_figures(workspace, [c.pk for c in contents])
    # one link per content with a page, tagged for the campaign's channel (its first preset)
    preset = next((p for p in utm.PRESETS if p.channel_group == campaign.channel_group), None)
    links = []
    if preset and campaign.utm_campaign:
        for content in contents:
            if content.url:
                link = utm.utm_link(
                    content.url,
                    source=preset.source,
                    medium=preset.medium,
                    campaign=campaign.utm_campaign,
                    content=content.utm_content,
                )
                links.append({"content": content, "url": link, "preview": utm.utm_preview(link)})
    breakdown = [
        {**row, "label": channel_group_label(row["channel_group"])}
        for row in selectors.channel_breakdown(workspace, campaign)
    ]
    chart = {
        **timeline,
        "labels": {
            "visits": _("Visits"),
            "forms": _("Forms, downloads, clicks"),
            "leads": _("New leads"),
        },
    }
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "status": _status_label(selectors.campaign_status(campaign)),
            "status_key": selectors.campaign_status(campaign),
            "channel": channel_group_label(campaign.channel_group)
            if campaign.channel_group
            else "",
            "form": form,
            "figures": figures,
            "contents": [(c, content_touches.get(c.pk, 0)) for c in contents],
            "links": links,
            "preset": preset,
            "breakdown": breakdown,
            "chart": chart,
            "timeline_rows": list(
                zip(
                    timeline["buckets"],
                    timeline["visits"],
                    timeline["forms"],
                    timeline["leads"],
                    strict=True,
                )
            ),
            "granularity": granularity,
            "currency": workspace.currency,
        },
        status=status,
    )


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def content_list(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = ContentForm(workspace=workspace, initial={"campaign": request.GET.get("campaign", "")})
    status = 200
    if request.method == "POST":
        form = ContentForm(request.POST, workspace=workspace)
        if form.is_valid():
            try:
                content = services.content_create(
                    workspace=workspace, actor=_actor(request), data=form.service_data()
                )
            except ApplicationError as failure:
                _errors_to_form(form, failure)
            else:
                messages.success(request, _("Content “%(name)s” added.") % {"name": content.name})
                if content.campaign_id:
                    return redirect("campaigns:detail", campaign_id=content.campaign_id)
                return redirect("campaigns:content")
        status = 422
    contents: list[ContentAsset] = list(selectors.content_list(workspace))
    touches = selectors.content_figures(workspace, [c.pk for c in contents])
    return render(
        request,
        "campaigns/content.html",
        {"rows": [(c, touches.get(c.pk, 0)) for c in contents], "form": form},
        status=status,
    )


@requires(read=Cap.VIEW_MARKETING, write=Cap.PREVIEW)
def utm_builder(request: HttpRequest) -> HttpResponse:
    """GET shows the form (prefilled from ?campaign=…); POST shows the links (writes nothing)."""
    workspace = _ws(request)
    result = None
    status = 200
    initial: dict[str, Any] = {}
    if request.GET.get("campaign"):
        campaign = (
            selectors.campaign_list(workspace).filter(pk=request.GET["campaign"]).first()
            if request.GET["campaign"].isdecimal() and len(request.GET["campaign"]) < 18
            else None
        )
        if campaign is not None:
            initial["campaign"] = campaign.utm_campaign
            preset = next(
                (p for p in utm.PRESETS if p.channel_group == campaign.channel_group), None
            )
            if preset:
                initial["preset"] = preset.key
            contents = selectors.content_list(workspace, campaign=campaign)
            initial["content"] = "\n".join(c.utm_content for c in contents if c.utm_content)
            urls = [c.url for c in contents if c.url]
            if urls:
                initial["url"] = urls[0]
    form = UtmForm(initial=initial)
    if request.method == "POST":
        form = UtmForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["content"] = [
                line.strip() for line in data["content"].splitlines() if line.strip()
            ]
            try:
                result = campaigns_api.utm_build(workspace, data)
                result["channel_label"] = channel_group_label(result["channel_group"])
            except ApplicationError as failure:
                _errors_to_form(form, failure)
                status = 422
        else:
            status = 422
    return render(
        request,
        "campaigns/utm.html",
        {"form": form, "result": result, "presets": utm.PRESETS},
        status=status,
    )


EXTRA_RULE_ROWS = 3


def _rule_rows_from_post(post: Any) -> list[dict]:
    rows = []
    count = min(int(post.get("rows", "0")) if str(post.get("rows", "0")).isdecimal() else 0, 200)
    for i in range(count):
        if post.get(f"r{i}-delete"):
            continue
        row = {
            "channel_group": post.get(f"r{i}-channel_group", ""),
            **{
                f"{part}_{key}": post.get(f"r{i}-{part}_{key}", "")
                for part in ("source", "medium", "campaign")
                for key in ("op", "value")
            },
        }
        if not row["channel_group"] and not any(v for k, v in row.items() if k.endswith("value")):
            continue  # an empty spare row
        rows.append(row)
    return rows


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def channel_rules(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    errors: list[dict] = []
    status = 200
    rows: list[dict]
    if request.method == "POST":
        if request.POST.get("action") == "defaults":
            services.channel_rules_replace(workspace=workspace, actor=_actor(request), rules=[])
            messages.success(request, _("The default channel rules are back."))
            return redirect("campaigns:channels")
        rows = _rule_rows_from_post(request.POST)
        try:
            services.channel_rules_replace(workspace=workspace, actor=_actor(request), rules=rows)
        except ApplicationError as failure:
            errors = getattr(failure, "errors", None) or [
                {"field": failure.field, "message": failure.message}
            ]
            status = 422
        else:
            messages.success(request, _("Channel rules saved."))
            return redirect("campaigns:channels")
    else:
        rows = [
            {
                "channel_group": r.channel_group,
                "source_op": r.source_op,
                "source_value": r.source_value,
                "medium_op": r.medium_op,
                "medium_value": r.medium_value,
                "campaign_op": r.campaign_op,
                "campaign_value": r.campaign_value,
            }
            for r in workspace_rules(workspace)
        ]
    rows = rows + [{"channel_group": ""} for _i in range(EXTRA_RULE_ROWS)]
    by_row: dict[int, list[str]] = {}
    general: list[str] = []
    for error in errors:
        field = error.get("field") or ""
        if field.startswith("rules[") and "]" in field:
            by_row.setdefault(int(field[6 : field.index("]")]), []).append(error["message"])
        else:
            general.append(error["message"])
    test_form = ChannelTestForm(request.GET or None)
    tested = None
    if request.GET and test_form.is_valid():
        data = test_form.cleaned_data
        group = channel_group_of(
            data["source"], data["medium"], data["campaign"], rules=workspace_rules(workspace)
        )
        tested = {**data, "group": channel_group_label(group)}
    return render(
        request,
        "campaigns/channels.html",
        {
            "rows": [
                {**row, "index": i, "errors": by_row.get(i, [])} for i, row in enumerate(rows)
            ],
            "row_count": len(rows),
            "general_errors": general,
            "defaults": not ChannelRule.objects.for_workspace(workspace).exists(),
            "group_choices": GROUP_CHOICES,
            "match_choices": MATCH_CHOICES,
            "parts": (
                ("source", _("Source")),
                ("medium", _("Medium")),
                ("campaign", _("Campaign")),
            ),
            "test_form": test_form,
            "tested": tested,
            "groups": ChannelGroup.choices,
        },
        status=status,
    )
