"""Workflow pages: the list with numbers, a workflow's steps with live counts, publish and pause.
The builder (new workflows, editing a draft) is in builder_views.py."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.workflows import selectors, services


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


@requires(Cap.VIEW_MARKETING)
def workflow_list_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    rows = [
        {"workflow": w, "stats": selectors.workflow_stats(workspace=workspace, workflow=w)}
        for w in selectors.workflow_list(workspace=workspace).select_related("published_version")
    ]
    return render(request, "workflows/workflow_list.html", {"rows": rows})


def _detail_context(request: HttpRequest, workflow_id: int) -> dict[str, Any]:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    language = "it" if (get_language() or "").startswith("it") else "en"
    steps = selectors.workflow_step_counts(workspace=workspace, workflow=workflow)
    for row in steps:
        row["label"] = step_label(row["step"], workspace, language)
        row["depth_class"] = f"depth-{min(row['depth'], 6)}"
    from volano.segments.selectors import segment_list

    return {
        "workflow": workflow,
        "segments": segment_list(workspace=workspace) if workflow.published_version else [],
        "trigger_segment": (
            (workflow.published_version.graph.get("trigger") or {}).get("segment", "")
            if workflow.published_version
            else ""
        ),
        "stats": selectors.workflow_stats(workspace=workspace, workflow=workflow),
        "steps": steps,
        "trigger": trigger_label(workflow),
        "conversion": selectors.workflow_path_conversion(workspace=workspace, workflow=workflow),
    }


def trigger_label(workflow: Any) -> str:
    version = workflow.published_version
    trigger = (version.graph if version else {}).get("trigger") or workflow.draft.get("trigger")
    kind = (trigger or {}).get("kind", "")
    labels = {
        "manual": _("Enrolment by hand or through the API"),
        "event": _("An event matching the trigger's condition"),
        "form_submitted": (
            _("The form “%(form)s” submitted")
            if (trigger or {}).get("form")
            else _("A form submitted")
        ),
        "segment_entered": _("Entering the segment “%(segment)s”"),
        "segment_left": _("Leaving the segment “%(segment)s”"),
        "stage_changed": _("Moving to the stage %(stage)s"),
        "score_crossed": _("The score %(model)s reaching %(threshold)s"),
        "date_property": _("The date in %(field)s, %(offset_days)s days from it (checked daily)"),
    }
    label = labels.get(kind, kind)
    try:
        return label % {k: v for k, v in (trigger or {}).items() if k != "kind"}
    except (KeyError, TypeError):
        return label


@requires(Cap.VIEW_MARKETING)
def workflow_detail_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    return render(request, "workflows/workflow_detail.html", _detail_context(request, workflow_id))


@requires(Cap.VIEW_MARKETING)
def workflow_counts_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The steps with their counts, polled by the page (HTMX) so they stay live."""
    return render(request, "workflows/_steps.html", _detail_context(request, workflow_id))


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def workflow_publish_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    try:
        workflow = services.workflow_publish(
            workspace=workspace, actor=_actor(request), workflow=workflow
        )
    except ApplicationError as error:
        messages.error(
            request,
            _("Not published: %(where)s: %(message)s")
            % {"where": error.field or "definition", "message": error.message},
        )
    else:
        number = workflow.published_version.number if workflow.published_version else 0
        messages.success(request, _("Published as version %(n)s.") % {"n": number})
    return redirect("workflows:detail", workflow_id=workflow.pk)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def workflow_pause_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    try:
        services.workflow_pause(workspace=workspace, actor=_actor(request), workflow=workflow)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Paused: no one enters and no step runs until you publish."))
    return redirect("workflows:detail", workflow_id=workflow.pk)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def workflow_enrol_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Enrol a segment's current members by hand (a segment-entered trigger only takes who
    enters from now on; the members already there come in this way, or through the API)."""
    from volano.core.errors import NotFound
    from volano.segments.selectors import segment_get, segment_members

    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    slug = (request.POST.get("segment") or "").strip()
    try:
        if not slug:
            raise ApplicationError(_("choose a segment"), field="segment")
        try:
            segment = segment_get(workspace=workspace, slug_or_id=slug)
        except NotFound as error:
            raise ApplicationError(
                _("no segment %(slug)s in this workspace") % {"slug": repr(slug[:100])},
                field="segment",
            ) from error
        count = services.workflow_enrol(
            workspace=workspace,
            actor=_actor(request),
            workflow=workflow,
            contacts=segment_members(workspace=workspace, segment=segment),
            source="manual",
        )
    except ApplicationError as error:
        messages.error(request, _("Not enrolled: %(message)s") % {"message": error.message})
    else:
        messages.success(
            request,
            ngettext(
                "%(n)s contact of “%(segment)s” enrolled; the first step runs within seconds.",
                "%(n)s contacts of “%(segment)s” enrolled; the first step runs within seconds.",
                count,
            )
            % {"n": count, "segment": segment.name},
        )
    return redirect("workflows:detail", workflow_id=workflow.pk)


def step_label(step: dict, workspace: Any, language: str) -> str:
    """The step in words ("Wait 7 days", "Send the email «grazie»", "If …")."""
    kind = step["kind"]
    if kind == "wait":
        minutes = step["minutes"]
        if minutes and minutes % (24 * 60) == 0:
            days = minutes // (24 * 60)
            return ngettext("Wait %(n)s day", "Wait %(n)s days", days) % {"n": days}
        return ngettext("Wait %(n)s minute", "Wait %(n)s minutes", minutes) % {"n": minutes}
    if kind == "send_email":
        return _("Send the email “%(template)s”") % {"template": step["template"]}
    if kind == "send_survey":
        if step.get("template"):
            return _("Send the survey “%(survey)s” with the email “%(template)s”") % {
                "survey": step["survey"], "template": step["template"],
            }  # fmt: skip
        return _("Send the survey “%(survey)s”") % {"survey": step["survey"]}
    if kind == "update_property":
        return _("Set %(field)s to “%(value)s”") % {"field": step["field"], "value": step["value"]}
    if kind == "branch":
        if "on" in step:
            steps = ", ".join(step["on"]["steps"])
            if step["on"]["did"] == "clicked":
                return _("If they clicked the email of step %(steps)s") % {"steps": steps}
            return _("If they opened the email of step %(steps)s") % {"steps": steps}
        from volano.conditions.describe import condition_describe
        from volano.conditions.parse import condition_parse
        from volano.conditions.selectors import condition_names

        condition = condition_parse(step["when"], workspace=workspace)
        sentence = condition_describe(condition, language, condition_names(workspace=workspace))
        return _("If: %(condition)s") % {"condition": sentence}
    if kind == "split":
        return ngettext(
            "Split at random into %(n)s path",
            "Split at random into %(n)s paths",
            len(step["paths"]),
        ) % {"n": len(step["paths"])}
    if kind == "exit":
        return _("Exit the workflow")
    if kind == "add_to_list":
        return _("Add to the list “%(list)s”") % {"list": step["list"]}
    if kind == "remove_from_list":
        return _("Remove from the list “%(list)s”") % {"list": step["list"]}
    if kind == "change_stage":
        return _("Move to the stage %(stage)s") % {"stage": step["stage"]}
    if kind == "notify":
        to = _("the owner") if step["to"] == "owner" else step["to"]
        return _("Notify %(to)s: %(title)s") % {"to": to, "title": step["title"]}
    if kind == "enrol_in_workflow":
        return _("Move to the workflow “%(workflow)s”") % {"workflow": step["workflow"]}
    if kind == "wait_until":
        if "field" in step:
            return _("Wait until %(field)s %(offset)+d days, at %(time)s") % {
                "field": step["field"], "offset": step["offset_days"], "time": step["time"],
            }  # fmt: skip
        days = ", ".join(str(WEEKDAY_NAMES[d]) for d in step["weekdays"])
        return _("Wait until %(days)s at %(time)s") % {"days": days, "time": step["time"]}
    if kind == "wait_for":
        hours = step["timeout_minutes"] // 60
        timeout = (
            ngettext("%(n)s day", "%(n)s days", hours // 24) % {"n": hours // 24}
            if hours and hours % 24 == 0
            else ngettext("%(n)s minute", "%(n)s minutes", step["timeout_minutes"])
            % {"n": step["timeout_minutes"]}
        )
        if "on" in step:
            what = (
                _("a click on the email of step %(steps)s")
                if step["on"]["did"] == "clicked"
                else _("an open of the email of step %(steps)s")
            ) % {"steps": ", ".join(step["on"]["steps"])}
        elif "event" in step:
            what = _("the event %(event)s") % {"event": step["event"].get("event", "")}
        else:  # the condition in words ("il consenso a email di marketing è concesso")
            from volano.conditions.describe import condition_describe
            from volano.conditions.parse import condition_parse
            from volano.conditions.selectors import condition_names

            condition = condition_parse(step["when"], workspace=workspace)
            sentence = condition_describe(condition, language, condition_names(workspace=workspace))
            return _("Wait until %(condition)s, at most %(timeout)s") % {
                "condition": sentence, "timeout": timeout,
            }  # fmt: skip
        return _("Wait for %(what)s, at most %(timeout)s") % {"what": what, "timeout": timeout}
    if kind == "create_task":
        to = _("the owner") if step["to"] == "owner" else step["to"]
        return _("Task for %(to)s: %(title)s") % {"to": to, "title": step["title"]}
    if kind == "webhook":
        return _("Call the webhook %(url)s") % {"url": step["url"]}
    if kind == "set_top_section":
        return _("Set %(field)s from the section read longest") % {"field": step["field"]}
    if kind == "adjust_score":
        if step["points"] < 0:
            return _("Take %(points)s points off the score “%(model)s”") % {
                "points": _number(-step["points"]), "model": step["model"],
            }  # fmt: skip
        return _("Add %(points)s points to the score “%(model)s”") % {
            "points": _number(step["points"]), "model": step["model"],
        }  # fmt: skip
    return kind


def _number(value: float) -> str:
    from django.utils.formats import number_format

    return number_format(value, decimal_pos=None if float(value).is_integer() else 1)


WEEKDAY_NAMES = (
    _lazy("Monday"), _lazy("Tuesday"), _lazy("Wednesday"), _lazy("Thursday"),
    _lazy("Friday"), _lazy("Saturday"), _lazy("Sunday"),
)  # fmt: skip
