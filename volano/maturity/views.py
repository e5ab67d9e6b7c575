"""Pages of the digital-maturity self-assessment: take it, read where you are and what to do next."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from volano.core.permissions import Cap, requires
from volano.maturity import questionnaire, selectors, services
from volano.maturity.forms import AssessmentForm
from volano.maturity.models import Assessment


def _placing(assessment: Assessment) -> questionnaire.Placing:
    return questionnaire.place(assessment.answers)


def _chart(history: list[Assessment], placing: questionnaire.Placing) -> dict:
    dimensions = [
        {"name": str(q.text), "level": placing.levels[q.key], "kind": q.kind}
        for q in questionnaire.QUESTIONS
    ]
    return {
        "dimensions": dimensions,
        "history": [
            {
                "date": a.taken_at.date().isoformat(),
                "overall": a.overall,
                "practice": a.practice_level,
                "factors": a.factors_level,
            }
            for a in history
        ],
        "labels": {
            "level": _("Level"),
            "overall": _("Overall"),
            "practice": _("What you do"),
            "factors": _("What you can hold"),
        },
    }


@requires(read=Cap.VIEW_DATA)
def maturity_page(request: HttpRequest) -> HttpResponse:
    """Where the company stands (the latest assessment), why, what to switch on next, progress."""
    workspace = request.workspace  # type: ignore[attr-defined]
    latest = selectors.assessment_latest(workspace)
    if latest is None:
        return redirect("maturity:take")
    placing = _placing(latest)
    history = selectors.assessment_history(workspace)
    context = {
        "assessment": latest,
        "placing": placing,
        "level_name": questionnaire.LEVELS[latest.overall],
        "level_summary": questionnaire.LEVEL_SUMMARIES[latest.overall],
        "levels": [
            (n, questionnaire.LEVELS[n], questionnaire.LEVEL_SUMMARIES[n])
            for n in questionnaire.LEVELS
        ],
        "factors": [
            (questionnaire.BY_KEY[key].text, level) for key, level in placing.factor_levels.items()
        ],
        "reasoning": questionnaire.reasoning(placing),
        "steps": selectors.next_steps(workspace, latest.overall, placing.factor_levels),
        "history": history,
        "chart": _chart(history, placing),
    }
    return render(request, "maturity/result.html", context)


@requires(read=Cap.VIEW_DATA, write=Cap.EDIT_MARKETING)
def maturity_take(request: HttpRequest) -> HttpResponse:
    """The questionnaire: nine questions, a few minutes; the previous answers are the default."""
    workspace = request.workspace  # type: ignore[attr-defined]
    latest = selectors.assessment_latest(workspace)
    if request.method == "POST":
        form = AssessmentForm(request.POST)
        if form.is_valid():
            services.assessment_take(
                workspace=workspace,
                answers=form.cleaned_data,
                actor=request.user,  # type: ignore[arg-type]
            )
            messages.success(request, _("Assessment saved."))
            return redirect("maturity:page")
    else:
        form = AssessmentForm(initial=latest.answers if latest else None)
    return render(
        request,
        "maturity/take.html",
        {
            "form": form,
            "latest": latest,
            "levels": [
                (n, questionnaire.LEVELS[n], questionnaire.LEVEL_SUMMARIES[n])
                for n in questionnaire.LEVELS
            ],
        },
    )
