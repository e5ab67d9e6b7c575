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


# The dashboards' tables (volano/reports/dashboards/models.py), registered with this app.
from volano.reports.dashboards.models import (  # noqa: E402, F401
    AccountHealth,
    DailyFigure,
    Dashboard,
    HealthWeights,
)
