"""The workspace's sending policy for marketing email: a frequency cap and quiet hours.

One row per workspace, created with the defaults on first use (`volano.emails.policy`). It
applies to every marketing mailing (broadcasts and workflows) at claim time; transactional mail
and test sends ignore it. docs/emails.md ("Sending policy").
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel

DEFAULT_CAP_MESSAGES = 3
DEFAULT_CAP_DAYS = 7
DEFAULT_QUIET_START = dt.time(21, 0)
DEFAULT_QUIET_END = dt.time(8, 0)


class EmailPolicy(WorkspaceScopedModel):
    """At most `cap_messages` marketing emails per contact in `cap_days` days, and nothing
    between `quiet_start` and `quiet_end` in the workspace's time zone (held, not dropped)."""

    cap_enabled = models.BooleanField(_("frequency cap on"), default=True)
    cap_messages = models.PositiveSmallIntegerField(
        _("at most (emails)"), default=DEFAULT_CAP_MESSAGES
    )
    cap_days = models.PositiveSmallIntegerField(_("in (days)"), default=DEFAULT_CAP_DAYS)
    quiet_enabled = models.BooleanField(_("quiet hours on"), default=True)
    quiet_start = models.TimeField(_("quiet from"), default=DEFAULT_QUIET_START)
    quiet_end = models.TimeField(_("quiet until"), default=DEFAULT_QUIET_END)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")
        constraints = [models.UniqueConstraint(fields=["workspace"], name="email_policy_one")]

    def __str__(self) -> str:
        return f"sending policy of workspace {self.workspace_id}"
