"""Writes of the maturity self-assessment: taking the questionnaire."""

from __future__ import annotations

from django.db import transaction

from volano.core.activity import activity_record
from volano.core.models import User, Workspace
from volano.maturity import questionnaire
from volano.maturity.models import Assessment


def assessment_take(
    *, workspace: Workspace, answers: object, actor: User | None = None
) -> Assessment:
    """Check the answers, place the company and keep the result. Raises
    questionnaire.AnswersInvalid naming every question left out or answered wrongly."""
    clean = questionnaire.answers_clean(answers)
    placing = questionnaire.place(clean)
    with transaction.atomic():
        assessment = Assessment.objects.create(
            workspace=workspace,
            taken_by=actor,
            answers=clean,
            practice_level=placing.practice_level,
            competence_level=placing.factor_levels["competence"],
            people_level=placing.factor_levels["people"],
            budget_level=placing.factor_levels["budget"],
            factors_level=placing.factors_level,
            overall=placing.overall,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="maturity.assessment_take",
            obj=assessment,
            changes={"overall": placing.overall},
        )
    return assessment
