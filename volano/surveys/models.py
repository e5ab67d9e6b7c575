"""Satisfaction surveys (NPS 0–10, CSAT 1–5) and their answers, one per contact and invitation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0–10)")
    CSAT = "csat", _("Customer satisfaction (1–5)")


# the score range of each kind, and where "good" (promoters, satisfied) and "bad"
# (detractors) start: NPS = % of 9–10 − % of 0–6; CSAT = % of 4–5
SCALES = {
    SurveyKind.NPS: {"low": 0, "high": 10, "good_from": 9, "bad_to": 6},
    SurveyKind.CSAT: {"low": 1, "high": 5, "good_from": 4, "bad_to": 2},
}


class Survey(WorkspaceScopedModel):
    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    # the score question as the contact reads it; empty: the kind's standard wording
    question = models.CharField(_("question"), max_length=300, blank=True)
    # optional open questions, asked after the score (answers are free text)
    questions = models.JSONField(_("more questions"), default=list, blank=True)
    subject = models.CharField(_("email subject"), max_length=200, blank=True)
    active = models.BooleanField(_("accepting answers"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="survey_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name


class SurveyResponse(WorkspaceScopedModel):
    """A contact's answer to one invitation of a survey. `wave` is the mailing that carried the
    link (0: a link made on the contact page or by the API): answering the same link again
    updates this row (`revisions` counts the submissions), a new invitation makes a new one."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="survey_responses"
    )
    wave = models.BigIntegerField(default=0)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    answers = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    revisions = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "contact", "wave"], name="surveyresponse_one_per_invitation"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "survey", "answered_at"], name="surveyresp_ws_time")
        ]
