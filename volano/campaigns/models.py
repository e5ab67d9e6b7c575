"""Campaigns, the content they promote, what they cost, and the rules that group traffic into
channels (GA4's default channel groups, editable per workspace).

Events are never changed to point at a campaign: `volano.campaigns.channels` and
`volano.campaigns.selectors` resolve an event's campaign, content and channel group at read time,
set-based, so events stored before a campaign existed count for it as soon as it does.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class ChannelGroup(models.TextChoices):
    """GA4's default channel groups (plus Offline/Events for fairs, and Unassigned for what no
    rule matches, as GA4 has)."""

    ORGANIC_SEARCH = "organic_search", _("Organic Search")
    PAID_SEARCH = "paid_search", _("Paid Search")
    PAID_SOCIAL = "paid_social", _("Paid Social")
    ORGANIC_SOCIAL = "organic_social", _("Organic Social")
    EMAIL = "email", _("Email")
    REFERRAL = "referral", _("Referral")
    DIRECT = "direct", _("Direct")
    DISPLAY = "display", _("Display")
    AFFILIATES = "affiliates", _("Affiliates")
    OFFLINE = "offline", _("Offline/Events")
    UNASSIGNED = "unassigned", _("Unassigned")


class Objective(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    LEADS = "leads", _("Lead generation")
    NURTURING = "nurturing", _("Nurturing")
    SALES = "sales", _("Sales")
    CROSS_SELL = "cross_sell", _("Cross-sell / up-sell to customers")
    RETENTION = "retention", _("Retention")


class Campaign(WorkspaceScopedModel):
    """A marketing campaign. Its links carry `utm_campaign`; events whose utm_campaign (or, for
    emails, whose mailing campaign) equals it case-insensitively belong to it."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True)
    channel_group = models.CharField(
        _("channel"), max_length=20, choices=ChannelGroup.choices, blank=True
    )
    objective = models.CharField(
        _("objective"), max_length=20, choices=Objective.choices, default=Objective.LEADS
    )
    starts_on = models.DateField(_("start date"), null=True, blank=True)
    ends_on = models.DateField(_("end date"), null=True, blank=True)
    # In the workspace currency.
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    aims_at_customers = models.BooleanField(_("aimed at existing customers"), default=False)
    description = models.TextField(_("description"), blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="campaign_unique_slug"),
            models.UniqueConstraint(
                models.F("workspace"),
                Lower("utm_campaign"),
                condition=~Q(utm_campaign=""),
                name="campaign_unique_utm",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContentKind(models.TextChoices):
    ARTICLE = "article", _("Article")
    WHITE_PAPER = "white_paper", _("White paper")
    WEBINAR = "webinar", _("Webinar")
    VIDEO = "video", _("Video")
    LANDING_PAGE = "landing_page", _("Landing page")
    EMAIL = "email", _("Email")
    AD = "ad", _("Ad")
    OTHER = "other", _("Other")


class ContentAsset(WorkspaceScopedModel):
    """A piece of content. Events link to it by `utm_content`, or by `slug` when they name it
    as their content (a download's `Event.content`), their form (`Event.source == "form:<slug>"`)
    or, for an email asset, their mailing campaign (`Event.campaign`)."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contents",
        verbose_name=_("campaign"),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=ContentKind.choices, default=ContentKind.OTHER
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    utm_content = models.CharField(_("UTM content"), max_length=100, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("content")
        verbose_name_plural = _("contents")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="content_unique_slug"),
        ]
        indexes = [models.Index(fields=["workspace", "campaign"], name="content_ws_campaign")]

    def __str__(self) -> str:
        return self.name


class CostPlatform(models.TextChoices):
    GOOGLE_ADS = "google_ads", _("Google Ads")
    META = "meta", _("Meta Ads")
    LINKEDIN = "linkedin", _("LinkedIn Ads")
    GA4 = "ga4", _("Google Analytics 4")
    GENERIC = "generic", _("Generic file")
    MANUAL = "manual", _("Manual")


class CostKind(models.TextChoices):
    MEDIA = "media", _("Media")
    AGENCY = "agency", _("Agency fees")
    PRINT = "print", _("Print")
    FAIR = "fair", _("Fairs")
    TOOLS = "tools", _("Tools")
    OTHER = "other", _("Other")


class CostEntry(WorkspaceScopedModel):
    """One day's cost of one campaign on one platform, as imported (or entered by hand).

    `campaign_key` is what the row was imported under (the lower-cased UTM campaign, else the
    lower-cased campaign name): (workspace, platform, campaign_key, day, kind) is unique, so
    re-importing the same file replaces its rows instead of doubling them.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="costs"
    )
    utm_campaign = models.CharField(max_length=100, blank=True)
    campaign_name = models.CharField(max_length=200, blank=True)
    campaign_key = models.CharField(max_length=200)
    # where the money went, for spend per channel (budgets' response curves): the campaign's
    # channel group when the row was imported, or the channel column of a weekly spend file
    # (`week;channel;spend`), kept as written there
    channel = models.CharField(_("channel"), max_length=100, blank=True)
    platform = models.CharField(
        _("platform"), max_length=20, choices=CostPlatform.choices, default=CostPlatform.MANUAL
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=CostKind.choices, default=CostKind.MEDIA
    )
    day = models.DateField(_("day"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    impressions = models.BigIntegerField(null=True, blank=True)
    clicks = models.BigIntegerField(null=True, blank=True)
    source_file = models.CharField(max_length=255, blank=True)
    import_id = models.CharField(max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("cost")
        verbose_name_plural = _("costs")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "platform", "campaign_key", "day", "kind"],
                name="cost_unique_platform_campaign_day_kind",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "day"], name="cost_ws_day"),
            models.Index(fields=["workspace", "campaign", "day"], name="cost_ws_campaign_day"),
        ]


class MatchOp(models.TextChoices):
    ANY = "", _("any value")
    EQUALS = "equals", _("equals")
    REGEX = "regex", _("matches the regular expression")


class ChannelRule(WorkspaceScopedModel):
    """One line of a workspace's channel grouping: when every condition set holds, traffic
    belongs to `channel_group`. Rules are tried by `position`; the first that matches wins;
    none matching is Unassigned. Conditions read the lower-cased source, medium and campaign
    (see `volano.campaigns.channels`). A workspace with no rules uses the defaults
    (`channels.DEFAULT_RULES`, GA4's default channel group definitions)."""

    position = models.PositiveIntegerField(default=0)
    channel_group = models.CharField(_("channel"), max_length=20, choices=ChannelGroup.choices)
    source_op = models.CharField(max_length=10, choices=MatchOp.choices, blank=True)
    source_value = models.CharField(_("source"), max_length=500, blank=True)
    medium_op = models.CharField(max_length=10, choices=MatchOp.choices, blank=True)
    medium_value = models.CharField(_("medium"), max_length=500, blank=True)
    campaign_op = models.CharField(max_length=10, choices=MatchOp.choices, blank=True)
    campaign_value = models.CharField(_("campaign"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("channel rule")
        verbose_name_plural = _("channel rules")
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["workspace", "position"], name="channelrule_ws_pos")]


class FirstTouch(WorkspaceScopedModel):
    """Per contact, what the ROI reports of seed 002 ask of its touches, kept ready
    (`volano.campaigns.touches`): its first campaign-linked touch (the campaign that brought
    it, and when), its first content-linked touch (the asset), how many touches asked for more
    (forms, downloads, webinar registrations) and whether it registered to a webinar. Written
    set-based when events are appended (`reactions.py`) and rebuilt when a campaign or an
    asset changes; `volano campaigns first-touches` rebuilds a workspace."""

    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign_at = models.DateTimeField(null=True, blank=True)
    content = models.ForeignKey(
        ContentAsset, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    content_at = models.DateTimeField(null=True, blank=True)
    asks = models.IntegerField(default=0)
    webinar = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["workspace", "content"], name="firsttouch_ws_content")]
