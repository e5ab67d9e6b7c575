"""SMART goals: a metric Volano measures on the workspace's own data, a target, a start, a
deadline and an owner. Progress is read, never stored (`volano.goals.selectors`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class GoalScope(models.TextChoices):
    """Whose figures a goal counts: the whole team's, or only its owner's contacts and deals
    (a rep's won deals, the SQLs handed to them; `volano.goals.metrics`)."""

    TEAM = "team", _("Whole team")
    OWNER = "owner", _("Only the owner's")


class Goal(WorkspaceScopedModel):
    """`metric` is a key of `volano.goals.metrics.METRICS`. `start_value` is where the straight
    line to the target begins: 0 for a total (SQLs, revenue…); for a rate or a cost per customer
    the value measured over as many days just before the start, unless the owner gave one.
    A sales rep reads the goals they own and those `shared` with sales, and changes none.
    `scope` "owner" counts only the owner's contacts and deals, "team" everyone's."""

    name = models.CharField(_("name"), max_length=200)
    metric = models.CharField(_("metric"), max_length=40)
    target = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    start_on = models.DateField(_("start"))
    deadline = models.DateField(_("deadline"))
    start_value = models.DecimalField(
        _("starting value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    scope = models.CharField(
        _("counts"), max_length=10, choices=GoalScope.choices, default=GoalScope.TEAM
    )
    notes = models.TextField(_("why it matters"), blank=True)
    # a sales rep sees the goals they own and the shared ones; everyone else sees them all
    shared = models.BooleanField(_("shared with sales"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["deadline", "pk"]
        indexes = [models.Index(fields=["workspace", "deadline"], name="goal_ws_deadline")]

    def __str__(self) -> str:
        return self.name

    @property
    def counted_for(self) -> int | None:
        """The user id whose contacts and deals the goal counts, or None for the whole team. An
        owner-only goal whose owner has left the workspace counts nobody's (0 is no user)."""
        if self.scope != GoalScope.OWNER:
            return None
        return self.owner_id or 0
