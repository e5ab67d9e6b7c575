"""The rep's task list: the tasks workflows' create_task steps gave them, and "done"."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.workflows import selectors, services


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


@requires(Cap.VIEW_DATA)
def task_list_view(request: HttpRequest) -> HttpResponse:
    tasks = selectors.tasks_open_for(workspace=_ws(request), user=request.user)
    return render(request, "workflows/tasks.html", {"tasks": tasks})


@requires(write=Cap.EDIT_CONTACTS)
def task_done_view(request: HttpRequest, task_id: int) -> HttpResponse:
    services.task_done(workspace=_ws(request), actor=cast(User, request.user), task_id=task_id)
    messages.success(request, _("Task done."))
    return redirect("workflows:tasks")
