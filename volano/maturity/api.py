"""/api/v1 routes of the digital-maturity self-assessment: the questions, take it, read it back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from volano.core.api_input import ApiInput as Strict
from volano.core.errors import NotFound
from volano.maturity import questionnaire, selectors, services
from volano.maturity.models import Assessment

router = Router(tags=["maturity"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class OptionOut(Schema):
    key: str
    label: str
    level: int


class QuestionOut(Schema):
    key: str
    kind: str
    text: str
    options: list[OptionOut]


class AssessmentIn(Strict):
    """One option key per question key, e.g. {"website": "blog_plan", "budget": "small", …}."""

    answers: dict[str, str]


class StepOut(Schema):
    key: str
    level: int
    title: str
    why: str
    url: str
    in_use: bool


class StepsOut(Schema):
    now: list[StepOut]
    later: list[StepOut]
    in_use: list[StepOut]
    factors: list[StepOut]


class AssessmentOut(Schema):
    id: int
    taken_at: dt.datetime
    answers: dict[str, str]
    overall: int
    overall_name: str
    practice_level: int
    factors_level: int
    factor_levels: dict[str, int]
    reasoning: list[str]
    next_steps: StepsOut


def _out(assessment: Assessment, workspace: Any) -> dict:
    placing = questionnaire.place(assessment.answers)
    return {
        "id": assessment.pk,
        "taken_at": assessment.taken_at,
        "answers": assessment.answers,
        "overall": assessment.overall,
        "overall_name": str(questionnaire.LEVELS[assessment.overall]),
        "practice_level": assessment.practice_level,
        "factors_level": assessment.factors_level,
        "factor_levels": placing.factor_levels,
        "reasoning": questionnaire.reasoning(placing),
        "next_steps": selectors.next_steps(workspace, assessment.overall, placing.factor_levels),
    }


@router.get(
    "/maturity/questions",
    response=list[QuestionOut],
    summary="The digital-maturity questionnaire (seed 000): questions, answers and their levels",
)
def maturity_questions(request: HttpRequest):
    return [
        {
            "key": q.key,
            "kind": q.kind,
            "text": str(q.text),
            "options": [{"key": o.key, "label": str(o.label), "level": o.level} for o in q.options],
        }
        for q in questionnaire.QUESTIONS
    ]


@router.post(
    "/maturity/assessments",
    response={201: AssessmentOut},
    summary="Take the self-assessment: the level per factor and overall, why, and what to do next",
)
def maturity_assessment_take(request: HttpRequest, payload: AssessmentIn):
    workspace = _ws(request)
    assessment = services.assessment_take(
        workspace=workspace,
        answers=payload.answers,
        actor=request.api_token.user,  # type: ignore[attr-defined]
    )
    return 201, _out(assessment, workspace)


@router.get(
    "/maturity/assessments",
    response=list[AssessmentOut],
    summary="Every taking of the self-assessment, newest first (the progress over time)",
)
def maturity_assessments(request: HttpRequest):
    workspace = _ws(request)
    return [_out(a, workspace) for a in selectors.assessment_history(workspace)[::-1]]


@router.get(
    "/maturity/assessments/latest",
    response=AssessmentOut,
    summary="The latest self-assessment",
)
def maturity_assessment_latest(request: HttpRequest):
    workspace = _ws(request)
    latest = selectors.assessment_latest(workspace)
    if latest is None:
        raise NotFound(_("The self-assessment has not been taken yet."))
    return _out(latest, workspace)
