"""Writes of campaigns, content assets and channel rules. Each validates everything it is given
at once (a ValidationFailed naming every bad field), fetches and checks what it acts on, and
records the change in the activity trail."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from volano.campaigns.channels import regex_check
from volano.campaigns.models import (
    Campaign,
    ChannelGroup,
    ChannelRule,
    ContentAsset,
    ContentKind,
    MatchOp,
    Objective,
)
from volano.core.activity import activity_record, changes_between
from volano.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows

CAMPAIGN_FIELDS = (
    "name",
    "slug",
    "utm_campaign",
    "channel_group",
    "objective",
    "starts_on",
    "ends_on",
    "budget",
    "owner",
    "aims_at_customers",
    "description",
)
CONTENT_FIELDS = ("name", "slug", "kind", "url", "utm_content", "campaign")
# what decides which events are an asset's (and so its campaign's)
TOUCH_KEY_FIELDS = ("slug", "kind", "utm_content", "campaign")
MAX_BUDGET = Decimal("999999999999.99")


def editor_check(workspace: Workspace, actor: User | None) -> None:
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied(_("only administrators and marketers change campaigns"))


def utm_value(text: str) -> str:
    """A UTM value as Volano writes it: lower-case, slugged (`Fiera Milano 2026` →
    `fiera-milano-2026`)."""
    return slugify(text or "")[:100]


def _text(data: dict, field: str, errors: list[dict], *, limit: int, required: bool = False) -> str:
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append({"field": field, "message": _("expected text")})
        return ""
    value = value.strip()
    if required and not value:
        errors.append({"field": field, "message": _("this field is required")})
    if len(value) > limit:
        errors.append({"field": field, "message": _("at most %(n)d characters") % {"n": limit}})
    return value


def _date(data: dict, field: str, errors: list[dict]) -> dt.date | None:
    value = data.get(field)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append({"field": field, "message": _("expected a date as YYYY-MM-DD")})
        return None


def _choice(data: dict, field: str, choices: Any, errors: list[dict], default: str) -> str:
    value = data.get(field)
    if value in (None, ""):
        return default
    if value not in choices.values:
        errors.append(
            {
                "field": field,
                "message": _("%(value)s is not one of %(choices)s")
                % {"value": repr(value), "choices": ", ".join(choices.values)},
            }
        )
        return default
    return str(value)


def _owner(workspace: Workspace, raw: Any, errors: list[dict]) -> User | None:
    if raw in (None, ""):
        return None
    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    if isinstance(raw, User):
        found = memberships.filter(user=raw).first()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        found = memberships.filter(user_id=raw).first()
    elif isinstance(raw, str) and raw.strip().isdecimal():
        found = memberships.filter(user_id=int(raw.strip())).first()
    elif isinstance(raw, str):
        found = memberships.filter(user__email__iexact=raw.strip()).first()
    else:
        found = None
    if found is None:
        errors.append(
            {
                "field": "owner",
                "message": _("%(owner)s is not a member of this workspace") % {"owner": repr(raw)},
            }
        )
        return None
    return found.user


def _campaign_clean(workspace: Workspace, data: dict, campaign: Campaign | None) -> dict[str, Any]:
    errors: list[dict] = []
    current = campaign or Campaign(workspace=workspace)

    def given(field: str) -> bool:
        return campaign is None or field in data

    clean: dict[str, Any] = {}
    if given("name"):
        clean["name"] = _text(data, "name", errors, limit=200, required=True)
    if given("slug") or campaign is None:
        raw = _text(data, "slug", errors, limit=100) or clean.get("name", "")
        clean["slug"] = slugify(raw)[:100]
        if not clean["slug"] and not any(e["field"] == "name" for e in errors):
            errors.append({"field": "slug", "message": _("the slug needs letters or digits")})
    if given("utm_campaign") or campaign is None:
        raw = _text(data, "utm_campaign", errors, limit=100)
        clean["utm_campaign"] = (
            utm_value(raw) if "utm_campaign" in data else utm_value(clean.get("slug", ""))
        )
    if given("channel_group"):
        clean["channel_group"] = _choice(data, "channel_group", ChannelGroup, errors, "")
    if given("objective"):
        clean["objective"] = _choice(data, "objective", Objective, errors, Objective.LEADS)
    if given("starts_on"):
        clean["starts_on"] = _date(data, "starts_on", errors)
    if given("ends_on"):
        clean["ends_on"] = _date(data, "ends_on", errors)
    starts = clean.get("starts_on", current.starts_on)
    ends = clean.get("ends_on", current.ends_on)
    if starts and ends and ends < starts:
        errors.append({"field": "ends_on", "message": _("the campaign ends before it starts")})
    if given("budget"):
        raw = data.get("budget")
        try:
            budget = Decimal(str(raw if raw not in (None, "") else 0).replace(",", "."))
            if not budget.is_finite() or budget < 0 or budget > MAX_BUDGET:
                raise InvalidOperation
            clean["budget"] = budget.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            errors.append(
                {"field": "budget", "message": _("the budget must be an amount of 0 or more")}
            )
    if given("owner"):
        clean["owner"] = _owner(workspace, data.get("owner"), errors)
    if given("aims_at_customers"):
        value = data.get("aims_at_customers", False)
        if not isinstance(value, bool):
            errors.append({"field": "aims_at_customers", "message": _("expected true or false")})
        clean["aims_at_customers"] = bool(value)
    if given("description"):
        clean["description"] = _text(data, "description", errors, limit=5000)
    others = Campaign.objects.for_workspace(workspace)
    if campaign is not None:
        others = others.exclude(pk=campaign.pk)
    if clean.get("slug") and others.filter(slug=clean["slug"]).exists():
        errors.append(
            {
                "field": "slug",
                "message": _("another campaign already has the slug %(slug)s")
                % {"slug": clean["slug"]},
            }
        )
    utm = clean.get("utm_campaign")
    if utm and others.filter(utm_campaign__iexact=utm).exists():
        errors.append(
            {
                "field": "utm_campaign",
                "message": _("another campaign already uses the UTM campaign %(utm)s")
                % {"utm": utm},
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return clean


def _snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for field in fields:
        value = getattr(obj, field if field not in ("owner", "campaign") else f"{field}_id")
        out[field] = value
    return out


def costs_link(*, workspace: Workspace, campaign: Campaign) -> int:
    from volano.campaigns.costs.services import costs_link as link

    return link(workspace=workspace, campaign=campaign)


def first_touches_rebuild_later(workspace: Workspace) -> None:
    """A campaign's or an asset's keys changed: which events belong to what changed with them,
    so the workspace's first touches (`touches.py`) are rebuilt on the bulk queue after
    commit."""
    from volano.campaigns.tasks import first_touches_refresh_task

    transaction.on_commit(functools.partial(first_touches_refresh_task.enqueue, workspace.pk))


def campaign_create(*, workspace: Workspace, actor: User | None, data: dict) -> Campaign:
    editor_check(workspace, actor)
    clean = _campaign_clean(workspace, data, None)
    with transaction.atomic():
        campaign = Campaign.objects.create(workspace=workspace, created_by=actor, **clean)
        costs_link(workspace=workspace, campaign=campaign)
        if campaign.utm_campaign:
            first_touches_rebuild_later(workspace)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="campaign.created",
            obj=campaign,
            changes=changes_between({}, _snapshot(campaign, CAMPAIGN_FIELDS)),
        )
    return campaign


def campaign_update(
    *, workspace: Workspace, actor: User | None, campaign: Campaign, data: dict
) -> Campaign:
    editor_check(workspace, actor)
    campaign = _fetch(Campaign, workspace, campaign)
    clean = _campaign_clean(workspace, data, campaign)
    before = _snapshot(campaign, CAMPAIGN_FIELDS)
    with transaction.atomic():
        for field, value in clean.items():
            setattr(campaign, field, value)
        campaign.updated_at = timezone.now()
        campaign.save()
        costs_link(workspace=workspace, campaign=campaign)
        changes = changes_between(before, _snapshot(campaign, CAMPAIGN_FIELDS))
        if before.get("utm_campaign") != campaign.utm_campaign:
            first_touches_rebuild_later(workspace)
        if changes:
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="campaign.updated",
                obj=campaign,
                changes=changes,
            )
    return campaign


def campaign_archive(
    *, workspace: Workspace, actor: User | None, campaign: Campaign, archived: bool = True
) -> Campaign:
    """Archive (or restore) a campaign: it leaves the list; its costs and links stay."""
    editor_check(workspace, actor)
    campaign = _fetch(Campaign, workspace, campaign)
    if bool(campaign.archived_at) == archived:
        return campaign
    with transaction.atomic():
        campaign.archived_at = timezone.now() if archived else None
        campaign.save(update_fields=["archived_at"])
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="campaign.archived" if archived else "campaign.restored",
            obj=campaign,
        )
    return campaign


def _fetch(model: Any, workspace: Workspace, obj: Any) -> Any:
    """The row again, from this workspace (NotFound when it is another's)."""
    from volano.core.tenancy import access_in_workspace

    return access_in_workspace(model, workspace=workspace, pk=getattr(obj, "pk", obj))


# -- content -----------------------------------------------------------------------------------


def _content_clean(
    workspace: Workspace, data: dict, content: ContentAsset | None
) -> dict[str, Any]:
    errors: list[dict] = []

    def given(field: str) -> bool:
        return content is None or field in data

    clean: dict[str, Any] = {}
    if given("name"):
        clean["name"] = _text(data, "name", errors, limit=200, required=True)
    if given("slug") or content is None:
        raw = _text(data, "slug", errors, limit=100) or clean.get("name", "")
        clean["slug"] = slugify(raw)[:100]
        if not clean["slug"] and not any(e["field"] == "name" for e in errors):
            errors.append({"field": "slug", "message": _("the slug needs letters or digits")})
    if given("kind"):
        clean["kind"] = _choice(data, "kind", ContentKind, errors, ContentKind.OTHER)
    if given("url"):
        url = _text(data, "url", errors, limit=500)
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                errors.append({"field": "url", "message": _("expected a web address (https://…)")})
        clean["url"] = url
    if given("utm_content") or content is None:
        raw = _text(data, "utm_content", errors, limit=100)
        clean["utm_content"] = (
            utm_value(raw) if "utm_content" in data else utm_value(clean.get("slug", ""))
        )
    if given("campaign"):
        raw = data.get("campaign")
        if raw in (None, ""):
            clean["campaign"] = None
        else:
            queryset = Campaign.objects.for_workspace(workspace)
            found = None
            if isinstance(raw, Campaign):
                found = queryset.filter(pk=raw.pk).first()
            elif isinstance(raw, int) and not isinstance(raw, bool):
                found = queryset.filter(pk=raw).first()
            elif isinstance(raw, str):
                text = raw.strip()
                found = (
                    queryset.filter(pk=int(text)).first()
                    if text.isdecimal() and len(text) < 18
                    else queryset.filter(slug=text).first()
                )
            if found is None:
                errors.append(
                    {
                        "field": "campaign",
                        "message": _("no campaign %(campaign)s in this workspace")
                        % {"campaign": repr(raw)},
                    }
                )
            clean["campaign"] = found
    others = ContentAsset.objects.for_workspace(workspace)
    if content is not None:
        others = others.exclude(pk=content.pk)
    if clean.get("slug") and others.filter(slug=clean["slug"]).exists():
        errors.append(
            {
                "field": "slug",
                "message": _("another content already has the slug %(slug)s")
                % {"slug": clean["slug"]},
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return clean


def content_create(*, workspace: Workspace, actor: User | None, data: dict) -> ContentAsset:
    editor_check(workspace, actor)
    clean = _content_clean(workspace, data, None)
    with transaction.atomic():
        content = ContentAsset.objects.create(workspace=workspace, created_by=actor, **clean)
        first_touches_rebuild_later(workspace)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="content.created",
            obj=content,
            changes=changes_between({}, _snapshot(content, CONTENT_FIELDS)),
        )
    return content


def content_update(
    *, workspace: Workspace, actor: User | None, content: ContentAsset, data: dict
) -> ContentAsset:
    editor_check(workspace, actor)
    content = _fetch(ContentAsset, workspace, content)
    clean = _content_clean(workspace, data, content)
    before = _snapshot(content, CONTENT_FIELDS)
    with transaction.atomic():
        for field, value in clean.items():
            setattr(content, field, value)
        content.updated_at = timezone.now()
        content.save()
        changes = changes_between(before, _snapshot(content, CONTENT_FIELDS))
        if any(before[k] != v for k, v in _snapshot(content, TOUCH_KEY_FIELDS).items()):
            first_touches_rebuild_later(workspace)
        if changes:
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="content.updated",
                obj=content,
                changes=changes,
            )
    return content


def content_archive(
    *, workspace: Workspace, actor: User | None, content: ContentAsset
) -> ContentAsset:
    editor_check(workspace, actor)
    content = _fetch(ContentAsset, workspace, content)
    if content.archived_at:
        return content
    with transaction.atomic():
        content.archived_at = timezone.now()
        content.save(update_fields=["archived_at"])
        activity_record(workspace=workspace, actor=actor, verb="content.archived", obj=content)
    return content


# -- channel rules -----------------------------------------------------------------------------

RULE_PARTS = ("source", "medium", "campaign")


def channel_rules_replace(
    *, workspace: Workspace, actor: User | None, rules: list[dict]
) -> list[ChannelRule]:
    """Replace the workspace's channel rules with `rules` (in order). An empty list goes back
    to the defaults. Every bad rule is named (`rules[3].source_value`)."""
    editor_check(workspace, actor)
    errors: list[dict] = []
    rows: list[ChannelRule] = []
    for index, raw in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            errors.append({"field": where, "message": _("expected an object")})
            continue
        group = raw.get("channel_group")
        if group not in ChannelGroup.values:
            errors.append(
                {
                    "field": f"{where}.channel_group",
                    "message": _("%(value)s is not a channel group") % {"value": repr(group)},
                }
            )
        fields: dict[str, str] = {}
        for part in RULE_PARTS:
            op = raw.get(f"{part}_op") or ""
            value = raw.get(f"{part}_value") or ""
            if op not in MatchOp.values or not isinstance(value, str):
                errors.append(
                    {
                        "field": f"{where}.{part}_op",
                        "message": _("expected one of: any, equals, regex"),
                    }
                )
                continue
            value = value.strip()
            if len(value) > 500:
                errors.append(
                    {"field": f"{where}.{part}_value", "message": _("at most 500 characters")}
                )
                continue
            if op == MatchOp.REGEX:
                try:
                    regex_check(value, field=f"{where}.{part}_value")
                except ApplicationError as error:
                    errors.append({"field": error.field or where, "message": error.message})
                    continue
            if op and not value and op == MatchOp.REGEX:
                errors.append(
                    {"field": f"{where}.{part}_value", "message": _("give the expression")}
                )
            fields[f"{part}_op"] = op
            fields[f"{part}_value"] = value if op else ""
        rows.append(
            ChannelRule(workspace=workspace, position=index, channel_group=group or "", **fields)
        )
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        existing = ChannelRule.objects.for_workspace(workspace)
        before = existing.count()
        existing.delete()
        ChannelRule.objects.bulk_create(rows)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="channel_rules.replaced",
            object_type="channelrule",
            changes={"rules": [before, len(rows)]},
        )
    return rows
