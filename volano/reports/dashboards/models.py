"""What the dashboards keep: the daily figures rolled up for fast reads, saved dashboards, the
health score's weights and each account's health components (refreshed once a day)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class DailyFigure(WorkspaceScopedModel):
    """One additive figure of one closed day (workspace time): events of a kind, stage
    crossings, revenue… computed by `figures.day_figures`, the same statement that answers a
    filtered dashboard live. Today is never stored: it is always read live."""

    day = models.DateField()
    figure = models.CharField(max_length=40)
    value = models.FloatField(default=0)
    rolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "figure"], name="dailyfigure_ws_day_fig"
            )
        ]


class Dashboard(WorkspaceScopedModel):
    """A custom dashboard: the widgets picked and the filters, saved for its owner or shared in
    the workspace."""

    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    shared = models.BooleanField(_("shared with the workspace"), default=False)
    widgets = models.JSONField(default=list)
    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product_line = models.CharField(_("product line"), max_length=60, blank=True)
    territory = models.CharField(_("territory (region)"), max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]


class HealthWeights(WorkspaceScopedModel):
    """The account health score's weights (any non-negative numbers: each part counts its share
    of their sum) and the score under which an account is at risk."""

    workspace = models.OneToOneField(
        "core.Workspace", on_delete=models.CASCADE, related_name="health_weights"
    )
    recency = models.PositiveSmallIntegerField(_("recency of orders"), default=25)
    frequency = models.PositiveSmallIntegerField(_("frequency of orders"), default=15)
    value = models.PositiveSmallIntegerField(_("value of orders"), default=15)
    engagement = models.PositiveSmallIntegerField(_("engagement"), default=15)
    tickets = models.PositiveSmallIntegerField(_("open support tickets"), default=15)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction answers"), default=15)
    at_risk_below = models.PositiveSmallIntegerField(_("at risk below"), default=40)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )


class AccountHealth(WorkspaceScopedModel):
    """One account's health parts as of `computed_on`: a company (its contacts together) or a
    customer with no company. Each part is 0–100 (null: nothing to judge by, left out of the
    score); the score is the weighted mean with the workspace's current weights (`scored`
    computes it; `score` keeps it, rewritten by one UPDATE when a weight changes)."""

    company = models.ForeignKey(
        "contacts.Company", on_delete=models.CASCADE, null=True, related_name="+"
    )
    # a plain id, not a foreign key: the whole table is rebuilt each day, so a merged or
    # deleted contact's row lives at most until then, and no merge reaction is needed
    contact_id = models.IntegerField(null=True)
    name = models.CharField(max_length=200)
    days_since_order = models.IntegerField(null=True)
    orders_12m = models.IntegerField(default=0)
    value_12m = models.FloatField(default=0)
    engagement_90d = models.IntegerField(default=0)
    open_tickets = models.IntegerField(default=0)
    satisfaction_last = models.FloatField(null=True)  # 0–100, the latest answer scaled
    recency = models.FloatField(null=True)
    frequency = models.FloatField(null=True)
    value = models.FloatField(null=True)
    engagement = models.FloatField(null=True)
    tickets = models.FloatField(null=True)
    satisfaction = models.FloatField(null=True)
    computed_on = models.DateField()
    # the weighted mean of the parts with the workspace's weights, written when the parts are
    # computed and again when a weight changes (`health.scores_write`): the at-risk list and
    # its counts read it through the index
    score = models.FloatField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "computed_on"], name="accounthealth_ws_day"),
            models.Index(fields=["workspace", "score"], name="accounthealth_ws_score"),
        ]
