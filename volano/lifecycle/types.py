"""The lifecycle stages: a value other domains may import (a contact's `lifecycle_stage`, the
outcomes predictive scoring learns from, a won deal's stage) without importing lifecycle."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["LifecycleStage"]


class LifecycleStage(models.TextChoices):
    """The stages every workspace has; a workspace may rename them (StageName)."""

    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing qualified lead")
    SQL = "sql", _("Sales qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    LOST_CUSTOMER = "lost_customer", _("Lost customer")
    DISQUALIFIED = "disqualified", _("Disqualified")
    RECYCLED = "recycled", _("Recycled (back to nurturing)")
