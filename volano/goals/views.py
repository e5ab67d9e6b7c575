"""Goal pages: the list (with the form to set one) and a goal's page (its progress chart, the
form to change it, delete). Thin: selectors read, services write."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.goals import metrics, selectors, services
from volano.goals.forms import GoalForm
from volano.goals.models import Goal


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _errors_to_form(form: GoalForm, failure: ApplicationError) -> None:
    errors = getattr(failure, "errors", None) or [
        {"field": failure.field, "message": failure.message}
    ]
    for error in errors:
        field = error.get("field")
        form.add_error(field if field in form.fields else None, error["message"])


def _rows(goals: list[Goal]) -> list[dict]:
    return [
        {"goal": g, "metric": metrics.METRICS[g.metric], "progress": selectors.goal_progress(g)}
        for g in goals
    ]


@requires(read=Cap.VIEW_DATA, write=Cap.EDIT_MARKETING)
def goal_list(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = GoalForm(workspace=workspace, initial={"owner": str(request.user.pk)})
    status = 200
    if request.method == "POST":
        form = GoalForm(request.POST, workspace=workspace)
        try:
            goal = services.goal_create(
                workspace=workspace, actor=_actor(request), data=form.service_data()
            )
        except ApplicationError as failure:
            _errors_to_form(form, failure)
            status = 422
        else:
            messages.success(request, _("Goal “%(name)s” set.") % {"name": goal.name})
            return redirect("goals:detail", goal_id=goal.pk)
    rows = _rows(list(selectors.goal_list(workspace=workspace, viewer=_actor(request))))
    return render(
        request,
        "goals/list.html",
        {"rows": rows, "form": form, "metrics": list(metrics.METRICS.values())},
        status=status,
    )


def _chart(goal: Goal, metric: metrics.Metric, progress: selectors.Progress) -> dict:
    return {
        "unit": metric.unit,
        "series": progress.series,
        "line": progress.line,
        "today": [progress.as_of.isoformat(), progress.expected],
        "labels": {
            "value": str(metric.label),
            "line": _("Straight line to the target"),
            "today": _("expected today"),
            "target": _("target"),
        },
    }


@requires(read=Cap.VIEW_DATA, write=Cap.EDIT_MARKETING)
def goal_detail(request: HttpRequest, goal_id: int) -> HttpResponse:
    workspace = _ws(request)
    goal = selectors.goal_get(workspace=workspace, goal_id=goal_id, viewer=_actor(request))
    form = GoalForm(workspace=workspace, initial=GoalForm.initial_of(goal))
    status = 200
    if request.method == "POST":
        form = GoalForm(request.POST, workspace=workspace)
        try:
            goal = services.goal_update(
                workspace=workspace, actor=_actor(request), goal=goal, data=form.service_data()
            )
        except ApplicationError as failure:
            _errors_to_form(form, failure)
            status = 422
            goal.refresh_from_db()
        else:
            messages.success(request, _("Goal saved."))
            return redirect("goals:detail", goal_id=goal.pk)
    metric = metrics.METRICS[goal.metric]
    progress = selectors.goal_progress(goal)
    return render(
        request,
        "goals/detail.html",
        {
            "goal": goal,
            "metric": metric,
            "progress": progress,
            "chart": _chart(goal, metric, progress),
            "form": form,
        },
        status=status,
    )


@requires(read=Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def goal_delete(request: HttpRequest, goal_id: int) -> HttpResponse:
    workspace = _ws(request)
    goal = selectors.goal_get(workspace=workspace, goal_id=goal_id)
    if request.method != "POST":
        return redirect("goals:detail", goal_id=goal.pk)
    services.goal_delete(workspace=workspace, actor=_actor(request), goal=goal)
    messages.success(request, _("Goal “%(name)s” deleted.") % {"name": goal.name})
    return redirect("goals:list")
