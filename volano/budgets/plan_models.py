"""Budget plans (seed 003): a yearly plan of lines per channel, campaign and kind of cost, each
with twelve monthly amounts; the hours people log against its lines; the reviews made of it and
the versions those reviews kept, so a plan's history can be read back.

Imported by `volano.budgets.models` so Django finds the tables."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel

MONTHS = tuple(f"m{n}" for n in range(1, 13))


class CostKind(models.TextChoices):
    """The kinds of cost seed 003 lists (§2, §4, §5, §6, §11) and a reserve."""

    MEDIA = "media", _("Paid media")
    TOOLS = "tools", _("Tools")
    PEOPLE = "people", _("People's time")
    AGENCY = "agency", _("Agencies and freelancers")
    TRAINING = "training", _("Training and events")
    RESERVE = "reserve", _("Reserve")


class CostItem(models.TextChoices):
    """What a line is within its kind: the medium for paid media, the part of the full cost of
    ownership for a tool (§2)."""

    NONE = "", _("—")
    SOCIAL = "social", _("Social")
    SEARCH = "search", _("Search")
    DISPLAY = "display", _("Display")
    OTHER_MEDIA = "other_media", _("Other media (print, radio, fairs)")
    LICENCE = "licence", _("Licence")
    IMPLEMENTATION = "implementation", _("Implementation")
    TOOL_TRAINING = "tool_training", _("Training on the tool")
    HOSTING = "hosting", _("Hosting")
    INTEGRATION = "integration", _("Integration")
    SWITCHING = "switching", _("Switching cost")
    AGENCY = "agency", _("Agency")
    FREELANCE = "freelance", _("Freelancer")
    COURSE = "course", _("Course")
    EVENT = "event", _("Event or fair")


ITEMS_OF_KIND = {
    "media": {"", "social", "search", "display", "other_media"},
    "tools": {
        "",
        "licence",
        "implementation",
        "tool_training",
        "hosting",
        "integration",
        "switching",
    },
    "people": {""},
    "agency": {"", "agency", "freelance"},
    "training": {"", "course", "event"},
    "reserve": {""},
}


class Maturity(models.TextChoices):
    """§10: 70% on what is proven, 20% on what is new and promising, 10% on experiments."""

    PROVEN = "proven", _("Proven")
    NEW = "new", _("New")
    EXPERIMENT = "experiment", _("Experiment")


class Team(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")
    SHARED = "shared", _("Marketing and sales")


class Plan(WorkspaceScopedModel):
    """A yearly budget plan. `version` is the number of the last version a review kept; edits
    made since are the next version's changes."""

    name = models.CharField(_("name"), max_length=200)
    year = models.PositiveIntegerField(_("year"))
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, default=0)
    notes = models.TextField(_("notes"), blank=True)
    template = models.CharField(max_length=40, blank=True)
    source_plan = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("budget plan")
        verbose_name_plural = _("budget plans")
        ordering = ["-year", "name", "pk"]
        indexes = [models.Index(fields=["workspace", "year"], name="budgets_plan_ws_year")]

    def __str__(self) -> str:
        return self.name


class PlanLine(WorkspaceScopedModel):
    """One line of a plan: twelve monthly amounts (m1 = January). A people line is hours ×
    hourly rate: its months hold the cost, `hours` the year's hours."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CostKind.choices)
    item = models.CharField(_("item"), max_length=20, choices=CostItem.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=100, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    maturity = models.CharField(
        _("maturity"), max_length=12, choices=Maturity.choices, default=Maturity.PROVEN
    )
    team = models.CharField(_("team"), max_length=12, choices=Team.choices, default=Team.MARKETING)
    role = models.CharField(_("role"), max_length=100, blank=True)
    activities = models.CharField(_("activities"), max_length=500, blank=True)
    hours = models.DecimalField(_("hours"), max_digits=10, decimal_places=2, default=0)
    hourly_rate = models.DecimalField(_("hourly rate"), max_digits=10, decimal_places=2, default=0)
    committed = models.DecimalField(_("committed"), max_digits=14, decimal_places=2, default=0)
    m1 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m2 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m3 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m4 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m5 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m6 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m7 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m8 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m9 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m10 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m11 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    m12 = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("plan line")
        verbose_name_plural = _("plan lines")
        ordering = ["plan", "position", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_display(self) -> str:
        """The channel group's name for a channel group key, else the channel as imported."""
        from volano.campaigns.models import ChannelGroup

        if self.channel in ChannelGroup.values:
            return str(ChannelGroup(self.channel).label)
        return self.channel

    @property
    def months(self) -> list[Decimal]:
        return [getattr(self, m) for m in MONTHS]

    @property
    def total(self) -> Decimal:
        return sum(self.months, Decimal(0))


class TimeLog(WorkspaceScopedModel):
    """Hours someone spent, on a day, on an activity: the actual cost of people's time (§4) is
    hours × the hourly rate (the log's, else its plan line's)."""

    line = models.ForeignKey(
        PlanLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_logs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    person = models.CharField(_("who"), max_length=200)
    role = models.CharField(_("role"), max_length=100, blank=True)
    day = models.DateField(_("day"))
    hours = models.DecimalField(_("hours"), max_digits=8, decimal_places=2)
    hourly_rate = models.DecimalField(
        _("hourly rate"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    activity = models.CharField(_("activity"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("time log")
        verbose_name_plural = _("time logs")
        ordering = ["-day", "-pk"]
        indexes = [models.Index(fields=["workspace", "day"], name="budgets_time_ws_day")]


class PlanVersion(WorkspaceScopedModel):
    """The plan's lines as they were at one version: version 1 when the plan was made, then one
    per review that changed something. `lines` is the list of line dicts (amounts as strings)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    lines = models.JSONField(default=list)
    budget = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="budgets_version_unique")
        ]


class PlanReview(WorkspaceScopedModel):
    """A review (§1, §14): when, notes, the figures on that day (planned, actual, forecast per
    line and in total) and the changes to the plan since the previous version."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="reviews")
    reviewed_on = models.DateField(_("date"))
    notes = models.TextField(_("notes"), blank=True)
    figures = models.JSONField(default=dict)
    changes = models.JSONField(default=list)
    version_before = models.PositiveIntegerField()
    version_after = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("plan review")
        verbose_name_plural = _("plan reviews")
        ordering = ["plan", "-reviewed_on", "-pk"]
