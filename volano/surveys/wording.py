"""What the contact reads: the score question and the ends of the scale, by kind."""

from __future__ import annotations

from django.utils.translation import gettext as _

from volano.surveys.models import Survey, SurveyKind


def score_question(survey: Survey) -> str:
    if survey.question:
        return survey.question
    if survey.kind == SurveyKind.NPS:
        return _("How likely are you to recommend us to a friend or colleague?")
    return _("How satisfied are you with what you bought from us?")


def scale_ends(survey: Survey) -> tuple[str, str]:
    if survey.kind == SurveyKind.NPS:
        return _("0 = not at all likely"), _("10 = extremely likely")
    return _("1 = very dissatisfied"), _("5 = very satisfied")
