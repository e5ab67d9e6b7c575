"""What the maturity self-assessment keeps: each time the questionnaire was taken, with its levels."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class Assessment(WorkspaceScopedModel):
    """One taking of the questionnaire (volano.maturity.questionnaire). The answers are kept as
    given (question key -> option key) and the levels as placed then, so a later change to the
    questionnaire does not rewrite the history a workspace reads back."""

    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answers = models.JSONField(default=dict)
    practice_level = models.PositiveSmallIntegerField(_("what you do"))
    competence_level = models.PositiveSmallIntegerField(_("management's competence"))
    people_level = models.PositiveSmallIntegerField(_("people"))
    budget_level = models.PositiveSmallIntegerField(_("budget"))
    factors_level = models.PositiveSmallIntegerField(_("what you can hold"))
    overall = models.PositiveSmallIntegerField(_("overall level"))

    class Meta:
        verbose_name = _("maturity assessment")
        verbose_name_plural = _("maturity assessments")
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-taken_at"], name="assessment_ws_taken")]
