"""Budgets' tables. A fitted media-mix model is kept as one row, so the pages and the optimiser
read it instead of refitting on every view."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class Outcome(models.TextChoices):
    REVENUE = "revenue", _("Revenue")
    LEADS = "leads", _("Leads")


class ResponseModel(WorkspaceScopedModel):
    """One fit of the media-mix model (`volano.budgets.mmm`) on the workspace's weekly data.

    `fit` holds what the optimiser and the pages need, in JSON: the channels' keys, each draw's
    curve parameters (the point estimate first, then the bootstrap draws), baselines and
    contributions, today's spend, and the weekly series the fit was made on."""

    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    weeks = models.PositiveIntegerField()
    r2 = models.FloatField()
    fit = models.JSONField(default=dict)
    seconds = models.FloatField(default=0)
    fitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("response model")
        verbose_name_plural = _("response models")
        ordering = ["-fitted_at", "-pk"]
        indexes = [
            models.Index(fields=["workspace", "outcome", "fitted_at"], name="budgets_model_ws_out")
        ]


# The plans' tables (issue 17, seed 003) live in their own module.
from volano.budgets.plan_models import (  # noqa: E402, F401
    Plan,
    PlanLine,
    PlanReview,
    PlanVersion,
    TimeLog,
)
