"""The visual builder's pages: a new workflow (name and trigger), and the vertical builder of a
draft (steps added, edited, moved and removed with a form per kind, the trigger and the goal),
with publish and pause, live counts per step and the replay panel.

The page works without JavaScript (each link and form is a plain GET or POST that comes back to
the builder); with HTMX the builder column is swapped in place (`hx-boost`). Every change is
saved through `services.workflow_update`, as `PUT /api/v1/workflows/{id}` is.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core.errors import ApplicationError
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.workflows import builder, selectors, services
from volano.workflows.definition import definition_parse
from volano.workflows.views import step_label, trigger_label


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _language() -> str:
    return "it" if (get_language() or "").startswith("it") else "en"


def _catalogue(workspace: Any) -> dict[str, Any]:
    from volano.conditions.catalogue import builder_catalogue
    from volano.lifecycle.selectors import stage_names
    from volano.scoring.selectors import score_models
    from volano.segments.models import ContactList, Segment

    return builder_catalogue(
        workspace=workspace,
        lists=list(
            ContactList.objects.for_workspace(workspace)
            .order_by("name")
            .values_list("slug", "name")
        ),
        segments=list(
            Segment.objects.for_workspace(workspace)
            .filter(kind="segment")
            .order_by("name")
            .values_list("slug", "name")
        ),
        personas=list(
            Segment.objects.for_workspace(workspace)
            .filter(kind="persona")
            .order_by("name")
            .values_list("slug", "name")
        ),
        stages=list(stage_names(workspace=workspace).items()),
        scores=[(m.slug, m.name) for m in score_models(workspace=workspace)],
    )


def _wait_id(key: str) -> str:
    return "wait-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def _builder_url(workflow_id: int, **params: Any) -> str:
    url = reverse("workflows:builder", args=[workflow_id])
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


class _Open:
    """What the page has open: a step form (editing `path`, or adding at `list_path`/`index`),
    the kind chooser, the trigger or the goal form."""

    def __init__(self, params: Any):
        self.edit = params.get("edit", "")
        self.add = params.get("add", "")
        self.at = params.get("at", "")
        self.kind = params.get("kind", "")
        self.trigger = params.get("trigger", "")
        self.goal = params.get("goal", "")


def _labels(workspace: Any, draft: dict) -> dict[str, str]:
    try:
        graph = definition_parse(draft, workspace=workspace, check_references=False)
    except ApplicationError:
        return {}
    language = _language()
    out = {}
    for key, step in graph["steps"].items():
        try:
            out[key] = step_label(step, workspace, language)
        except Exception:  # a condition that no longer parses still shows its kind
            out[key] = step["kind"]
    return out


def _label_of(workspace: Any, draft: dict) -> Any:
    labels = _labels(workspace, draft)
    return lambda step: labels.get(step.get("key", ""), step.get("kind", ""))


def _context(
    request: HttpRequest,
    workflow: Any,
    *,
    open_: _Open,
    form: Any = None,
    error: ApplicationError | None = None,
    draft: dict | None = None,
) -> dict[str, Any]:
    workspace = _ws(request)
    draft = draft if draft is not None else workflow.draft
    choices = builder.choices_for(workspace, draft, exclude_workflow=workflow.pk)
    labels = _labels(workspace, draft)

    # the publish check: references too, naming the step at fault
    check: dict[str, Any] = {"ok": True}
    try:
        definition_parse(draft, workspace=workspace, check_references=True)
    except ApplicationError as refused:
        step_path = builder.error_step_path(refused.field)
        check = {
            "ok": False,
            "message": refused.message,
            "field": refused.field or "",
            "step_path": step_path,
            "where": builder.step_name(draft, step_path, _label_of(workspace, draft))
            if step_path
            else (refused.field or ""),
        }

    waiting: dict[str, int] = {}
    published_keys: set[str] = set()
    if workflow.published_version is not None:
        for row in selectors.workflow_step_counts(workspace=workspace, workflow=workflow):
            waiting[row["key"]] = row["waiting"]
            published_keys.add(row["key"])

    def decorate(rows: list[dict]) -> list[dict]:
        for row in rows:
            row["label"] = labels.get(row["key"], row["kind"])
            row["wait_id"] = _wait_id(row["key"])
            row["published"] = row["key"] in published_keys
            row["waiting"] = waiting.get(row["key"], 0)
            row["error"] = check["message"] if check.get("step_path") == row["path"] else ""
            row["editing"] = open_.edit == row["path"]
            row["edit_url"] = (
                _builder_url(workflow.pk, edit=row["path"]) + "#s-" + slugify(row["path"])
            )
            row["form"] = None
            if row["editing"]:
                cls = builder.STEP_FORMS.get(row["kind"])
                row["form"] = form or (cls(choices=choices, step=row["step"]) if cls else None)
            row["form_error"] = error if row["editing"] else None
            for sub in row["lists"]:
                decorate(sub["rows"])
                sub["add_url"] = _builder_url(workflow.pk, add=sub["path"], at=sub["size"])
                sub["adding"] = open_.add == sub["path"]
        return rows

    rows = decorate(builder.tree(draft))
    trigger = draft.get("trigger") or {}
    trigger_form = None
    if open_.trigger:
        kind = open_.kind or trigger.get("kind", "manual")
        cls = builder.TRIGGER_FORMS.get(kind, builder.ManualTrigger)
        trigger_form = form or cls(
            choices=choices, trigger=trigger if kind == trigger.get("kind") else {}
        )
    goal_form = None
    if open_.goal:
        goal_form = form or builder.GoalForm(initial={"goal": draft.get("goal")})
    add_form = None
    if open_.add and open_.kind in builder.STEP_FORMS and form is not None and not open_.edit:
        add_form = form
    elif open_.add and open_.kind in builder.STEP_FORMS:
        add_form = builder.STEP_FORMS[open_.kind](choices=choices)
    return {
        "workflow": workflow,
        "draft": draft,
        "rows": rows,
        "open": open_,
        "add_form": add_form,
        "add_error": error if open_.add else None,
        "add_kind_label": builder.STEP_FORMS[open_.kind].label
        if open_.kind in builder.STEP_FORMS
        else "",
        "kinds": builder.step_kinds(),
        "trigger_kinds": [(k, cls.label) for k, cls in builder.TRIGGER_FORMS.items()],
        "trigger_label": trigger_label(workflow) if draft is workflow.draft else "",
        "trigger_form": trigger_form,
        "trigger_error": error if open_.trigger else None,
        "goal_form": goal_form,
        "goal_error": error if open_.goal else None,
        "goal_text": _goal_text(workspace, draft.get("goal")),
        "check": check,
        "catalogue": _catalogue(workspace),
        "stats": selectors.workflow_stats(workspace=workspace, workflow=workflow),
        "builder_url": _builder_url(workflow.pk),
        # the flash messages are shown inside the builder column, which HTMX swaps (the base
        # template's place for them is outside it)
        "notices": list(messages.get_messages(request)),
        "messages": [],
    }


def _goal_text(workspace: Any, goal: Any) -> str:
    if not goal:
        return ""
    from volano.conditions.describe import condition_describe
    from volano.conditions.parse import condition_parse
    from volano.conditions.selectors import condition_names

    try:
        condition = condition_parse(goal, workspace=workspace)
        return condition_describe(condition, _language(), condition_names(workspace=workspace))
    except Exception:
        return str(goal)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def workflow_new_view(request: HttpRequest) -> HttpResponse:
    """A new draft: its name and what starts it (the trigger's fields follow the kind)."""
    workspace = _ws(request)
    data = request.POST if request.method == "POST" else None
    kind = (data or request.GET).get("kind") or "form_submitted"
    cls = builder.TRIGGER_FORMS.get(kind, builder.FormTrigger)
    choices = builder.choices_for(workspace, {})
    form = builder.NewWorkflowForm(data, initial={"kind": cls.kind})
    trigger_form = cls(data if data is not None and "create" in data else None, choices=choices)
    error = None
    if data is not None and "create" in data and form.is_valid() and trigger_form.is_valid():
        definition = {
            "name": form.cleaned_data["name"],
            "trigger": trigger_form.to_trigger(),
            # a workflow has at least one step: the first one, to change or replace
            "steps": [{"key": "wait-1", "kind": "wait", "days": 1}],
        }
        try:
            workflow = services.workflow_create(
                workspace=workspace, actor=_actor(request), definition=definition
            )
        except ApplicationError as refused:
            error = refused
        else:
            messages.success(request, _("Draft created. Add its steps below."))
            return redirect("workflows:builder", workflow_id=workflow.pk)
    return render(
        request,
        "workflows/builder/new.html",
        {
            "form": form,
            "trigger_form": trigger_form,
            "kind": cls.kind,
            "error": error,
            "catalogue": _catalogue(workspace),
        },
        status=422 if error else 200,
    )


@requires(Cap.EDIT_MARKETING)
def workflow_templates_view(request: HttpRequest) -> HttpResponse:
    """The ready templates (seed 004), each with what it does and a button to fill it in."""
    return render(
        request,
        "workflows/builder/templates.html",
        {"templates": selectors.workflow_templates()},
    )


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def workflow_from_template_view(request: HttpRequest, slug: str) -> HttpResponse:
    """One template's parameters as a form; creating it is the service of
    `POST /api/v1/workflows {"template", "parameters"}`: a draft, opened in the builder."""
    from django.http import Http404

    workspace = _ws(request)
    chosen = next((t for t in selectors.workflow_templates() if t["slug"] == slug), None)
    if chosen is None:
        raise Http404
    choices = builder.choices_for(workspace, {})
    data = request.POST if request.method == "POST" else None
    form = builder.TemplateParametersForm(data, schema=chosen["parameters"], choices=choices)
    error = None
    where = ""
    if data is not None and form.is_valid():
        try:
            workflow = services.workflow_create_from_template(
                workspace=workspace,
                actor=_actor(request),
                template=slug,
                parameters=form.parameters(),
            )
        except ApplicationError as refused:
            error = refused
            # "parameters.sections[0].material_url" → the sections field, named in words
            key = (refused.field or "").removeprefix("parameters.").split(".")[0].split("[")[0]
            labels = {p["key"]: p["label"] for p in chosen["parameters"]}
            where = labels.get(key, refused.field or "")
            detail = (refused.field or "").removeprefix(f"parameters.{key}")
            if key in form.fields:
                form.add_error(key, f"{detail.lstrip('.')}: {refused.message}".lstrip(": "))
        else:
            messages.success(
                request,
                _("Draft created from the template “%(name)s”. Replay it, then publish.")
                % {"name": chosen["name"]},
            )
            return redirect("workflows:builder", workflow_id=workflow.pk)
    return render(
        request,
        "workflows/builder/from_template.html",
        {"template": chosen, "form": form, "error": error, "where": where},
        status=422 if (error or (data is not None and form.errors)) else 200,
    )


@requires(Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def workflow_builder_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    if request.method == "POST":
        return _change(request, workflow)
    return render(
        request,
        "workflows/builder/page.html",
        _context(request, workflow, open_=_Open(request.GET)),
    )


def _change(request: HttpRequest, workflow: Any) -> HttpResponse:
    """One change of the draft (the form's `action`), saved through workflow_update; a
    refusal re-renders the form with the error naming the step."""
    workspace = _ws(request)
    post = request.POST
    action = post.get("action", "")
    draft = workflow.draft
    choices = builder.choices_for(workspace, draft, exclude_workflow=workflow.pk)
    open_ = _Open(post)
    form: Any = None
    try:
        if action == "save_step":
            if open_.edit:
                old = builder.step_at(draft, open_.edit)
                cls = builder.STEP_FORMS[old.get("kind", "")]
                form = cls(post, choices=choices, step=old)
                if not form.is_valid():
                    return _again(request, workflow, open_, form, None)
                changed = builder.replaced(draft, open_.edit, form.to_step(old["key"]))
            else:
                cls = builder.STEP_FORMS[open_.kind]
                form = cls(post, choices=choices)
                if not form.is_valid():
                    return _again(request, workflow, open_, form, None)
                step = form.to_step(builder.new_key(draft, open_.kind))
                changed = builder.inserted(draft, open_.add, int(open_.at or 0), step)
        elif action == "remove":
            changed = builder.removed(draft, post.get("path", ""))
        elif action in ("up", "down"):
            changed = builder.moved(draft, post.get("path", ""), -1 if action == "up" else 1)
        elif action == "trigger":
            trigger_cls = builder.TRIGGER_FORMS.get(open_.kind) or builder.ManualTrigger
            form = trigger_cls(post, choices=choices)
            if not form.is_valid():
                return _again(request, workflow, open_, form, None)
            changed = {**draft, "trigger": form.to_trigger()}
        elif action == "goal":
            form = builder.GoalForm(post)
            if not form.is_valid():
                return _again(request, workflow, open_, form, None)
            changed = {k: v for k, v in draft.items() if k != "goal"}
            if form.cleaned_data["goal"]:
                changed["goal"] = form.cleaned_data["goal"]
        else:
            messages.error(request, _("Unknown change."))
            return redirect("workflows:builder", workflow_id=workflow.pk)
    except (builder.PathError, KeyError, ValueError):
        messages.error(request, _("That step is no longer there: the draft changed meanwhile."))
        return redirect("workflows:builder", workflow_id=workflow.pk)
    try:
        services.workflow_update(
            workspace=workspace, actor=_actor(request), workflow=workflow, definition=changed
        )
    except ApplicationError as refused:
        if form is None:
            step_path = builder.error_step_path(refused.field)
            where = builder.step_name(changed, step_path, _label_of(workspace, changed))
            messages.error(
                request,
                _("Not saved: %(where)s: %(message)s")
                % {"where": where or refused.field, "message": refused.message},
            )
            return redirect("workflows:builder", workflow_id=workflow.pk)
        return _again(request, workflow, open_, form, refused, changed)
    messages.success(request, _("Draft saved."))
    return redirect("workflows:builder", workflow_id=workflow.pk)


def _again(
    request: HttpRequest,
    workflow: Any,
    open_: _Open,
    form: Any,
    error: ApplicationError | None,
    changed: dict | None = None,
) -> HttpResponse:
    context = _context(request, workflow, open_=open_, form=form, error=error)
    if error is not None and changed is not None:
        step_path = builder.error_step_path(error.field)
        context["error_where"] = (
            builder.step_name(changed, step_path, _label_of(_ws(request), changed))
            if step_path
            else (error.field or "")
        )
    # HTMX swaps only 2xx answers: the form with its errors is a normal page
    status = 200 if request.headers.get("HX-Request") else 422
    return render(request, "workflows/builder/page.html", context, status=status)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def workflow_builder_publish_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    try:
        workflow = services.workflow_publish(
            workspace=workspace, actor=_actor(request), workflow=workflow
        )
    except ApplicationError as refused:
        step_path = builder.error_step_path(refused.field)
        where = (
            builder.step_name(workflow.draft, step_path, _label_of(workspace, workflow.draft))
            if step_path
            else (refused.field or "definition")
        )
        messages.error(
            request,
            _("Not published: %(where)s: %(message)s")
            % {"where": where, "message": refused.message},
        )
    else:
        number = workflow.published_version.number if workflow.published_version else 0
        messages.success(request, _("Published as version %(n)s.") % {"n": number})
    return redirect("workflows:builder", workflow_id=workflow.pk)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def workflow_builder_pause_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    try:
        services.workflow_pause(workspace=workspace, actor=_actor(request), workflow=workflow)
    except ApplicationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Paused: no one enters and no step runs until you publish."))
    return redirect("workflows:builder", workflow_id=workflow.pk)


@requires(Cap.VIEW_MARKETING)
def workflow_builder_counts_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The live "waiting here" counts, as out-of-band swaps (the page polls every 10 s)."""
    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    rows = [
        {"wait_id": _wait_id(row["key"]), "waiting": row["waiting"]}
        for row in selectors.workflow_step_counts(workspace=workspace, workflow=workflow)
    ]
    return render(request, "workflows/builder/_counts.html", {"rows": rows})


@requires(write=Cap.PREVIEW)  # a read-only preview, like a segment's count
@require_POST
def workflow_builder_replay_view(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The replay panel: the draft over the last N days, read-only."""
    from volano.workflows.replay import workflow_replay

    workspace = _ws(request)
    workflow = selectors.workflow_get(workspace=workspace, workflow_id=workflow_id)
    context: dict[str, Any] = {"workflow": workflow}
    try:
        days = int(request.POST.get("days") or 90)
        result = workflow_replay(workspace=workspace, workflow=workflow, days=days)
    except ValueError:
        context["error"] = _("days: a whole number from 1 to 365")
    except ApplicationError as refused:
        context["error"] = refused.message
    else:
        labels = _labels(workspace, workflow.draft)
        for row in result["steps"]:
            row["label"] = labels.get(row["key"], row["kind"])
            row["depth"] = min(row["path"].count("."), 6)
        context["result"] = result
    return render(request, "workflows/builder/_replay.html", context)
