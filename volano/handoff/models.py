from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class AssignmentRule(WorkspaceScopedModel):
    """A territory and product lines, and the reps who take its leads in turn.

    A lead matches when its region, province or CAP falls in the territory (an empty territory
    is all of Italy) and its product line is one of `product_lines` (empty: any). Rules are tried
    in `position` order; `next_index` is the round-robin pointer among `reps` (user ids).
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    regions = models.JSONField(default=list, blank=True)
    provinces = models.JSONField(default=list, blank=True)
    cap_ranges = models.JSONField(default=list, blank=True)
    product_lines = models.JSONField(default=list, blank=True)
    reps = models.JSONField(default=list)
    next_index = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="assignment_rule_unique")
        ]

    def __str__(self) -> str:
        return self.name


class HandoffSettings(WorkspaceScopedModel):
    """One row per workspace: who gets a lead nobody else can take, and the acceptance SLA."""

    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sla_hours = models.PositiveIntegerField(_("accept within (working hours)"), default=8)
    work_start = models.PositiveSmallIntegerField(default=9)
    work_end = models.PositiveSmallIntegerField(default=18)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="handoff_settings_one")]


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the rep")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Not accepted in time")
    CLOSED = "closed", _("Closed")


class Assignment(WorkspaceScopedModel):
    """A lead handed to a rep. At most one open (pending or accepted) per contact: the database
    refuses a second, so two workers can never give one lead to two reps."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="assignments"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    rule = models.ForeignKey(AssignmentRule, on_delete=models.SET_NULL, null=True, blank=True)
    product_line = models.CharField(max_length=60, blank=True)
    status = models.CharField(
        max_length=10, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    why = models.CharField(max_length=300, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    escalated = models.BooleanField(default=False)
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(status__in=["pending", "accepted"]),
                name="assignment_one_open_per_contact",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "due_at"], name="assignment_ws_status"),
            models.Index(fields=["rep", "status"], name="assignment_rep_status"),
            models.Index(fields=["workspace", "assigned_at"], name="assignment_ws_time"),
        ]
