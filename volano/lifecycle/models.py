from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel
from volano.lifecycle.types import LifecycleStage

# The stages of the funnel, in order (disqualified and recycled leave it).
FUNNEL = (
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
)
OPEN_LEAD_STAGES = (
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.RECYCLED,
)


class ChangeSource(models.TextChoices):
    USER = "user", _("A user")
    API = "api", _("The API")
    RULE = "rule", _("A threshold rule")
    DEAL = "deal", _("A deal")
    ORDER = "order", _("An order")
    HANDOFF = "handoff", _("The hand-off to sales")
    IMPORT = "import", _("An import")
    SYSTEM = "system", _("Volano")


class StageName(WorkspaceScopedModel):
    """A workspace's own name for a stage (the default is the stage's label)."""

    stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "stage"], name="stage_name_unique")
        ]


class StageChange(WorkspaceScopedModel):
    """One move of a contact between stages: who or what made it, when and why.

    The funnel report and time-in-stage read this table; the timeline shows the matching
    `lifecycle_changed` event.
    """

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        "lifecycle.ThresholdRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "changed_at"], name="stage_change_ws_time"),
            models.Index(fields=["contact", "changed_at"], name="stage_change_contact"),
        ]


class ThresholdRule(WorkspaceScopedModel):
    """Moves contacts from one of `from_stages` to `to_stage` when `condition` holds.

    The condition is in the condition language and may read scores (`score.<model slug>`).
    Rules run in `position` order after every score update. `product_line` is the interest the
    hand-off routes on when the rule makes a lead SQL.
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    from_stages = models.JSONField(default=list)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    condition = models.JSONField()
    product_line = models.CharField(_("product line"), max_length=60, blank=True)
    active = models.BooleanField(default=True)
    # Why Volano switched the rule off when it could not run (its condition no longer
    # compiles), so the other rules and the scores go on; saving the rule again clears it.
    disabled_reason = models.CharField(_("disabled because"), max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="threshold_rule_unique")
        ]

    def __str__(self) -> str:
        return self.name
