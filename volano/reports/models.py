"""What the reports keep between requests: the customer-value model fitted as of a date."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class ValueModel(WorkspaceScopedModel):
    """BG/NBD and Gamma-Gamma parameters fitted on the workspace's orders up to `as_of`
    (volano.reports.clv). One per workspace and date: refitting the same date replaces it, so a
    page or the API reads a fit instead of refitting on every view."""

    as_of = models.DateField(_("as of"))
    r = models.FloatField()
    alpha = models.FloatField()
    a = models.FloatField()
    b = models.FloatField()
    p = models.FloatField()
    q = models.FloatField()
    gamma = models.FloatField()
    customers = models.PositiveIntegerField(_("customers"))
    repeat_customers = models.PositiveIntegerField(_("customers who bought again"))
    currency = models.CharField(max_length=3, default="EUR")
    seconds = models.FloatField(default=0)
    fitted_at = models.DateTimeField(default=timezone.now)
    fitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("customer value model")
        verbose_name_plural = _("customer value models")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "as_of"], name="valuemodel_ws_as_of")
        ]


class ReportFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Every month, for the month before")
    QUARTERLY = "quarterly", _("Every quarter, for the quarter before")


class ReportSchedule(WorkspaceScopedModel):
    """The stakeholder report sent by email on a schedule: on the first day of each month (or
    quarter) after `next_run_at`, for the period that just ended, to `recipients`. The sweeper
    claims a due schedule by moving `next_run_at` on in one UPDATE, so two sweepers never send
    the same period twice (and the report kept for a period is unique besides)."""

    name = models.CharField(_("name"), max_length=120)
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=ReportFrequency.choices, default="monthly"
    )
    language = models.CharField(_("language"), max_length=5, default="it")
    recipients = models.JSONField(_("recipients"), default=list)
    next_run_at = models.DateTimeField(_("next report"))
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("report schedule")
        verbose_name_plural = _("report schedules")
        indexes = [models.Index(fields=["active", "next_run_at"], name="reportschedule_due")]


class StakeholderReport(WorkspaceScopedModel):
    """A stakeholder report kept: its period, the figures as they were then (the next report
    compares with them: "what changed since the previous report") and, for a scheduled one, who
    it was sent to and when."""

    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    language = models.CharField(max_length=5, default="it")
    figures = models.JSONField(default=dict)
    schedule = models.ForeignKey(
        ReportSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_to = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("stakeholder report")
        verbose_name_plural = _("stakeholder reports")
        ordering = ["-end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "start", "end"], name="stakeholderreport_schedule_period"
            )
        ]


# The dashboards' tables (volano/reports/dashboards/models.py), registered with this app.
from volano.reports.dashboards.models import (  # noqa: E402, F401
    AccountHealth,
    DailyFigure,
    Dashboard,
    HealthWeights,
)
