"""Lead-scoring pages: the models and threshold rules, the model editor with its live preview,
the threshold-rule form with its live count, training the predictive model. Parse, call a
selector or a service, render.

In the UI layer: the scoring page composes scoring (models, scores, the predictive model) with
lifecycle (the threshold rules that turn a score into a stage, the stages' names), which sits
above scoring. Templates stay in volano/scoring/templates/scoring/."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.conditions.catalogue import builder_catalogue
from volano.conditions.describe import condition_describe
from volano.conditions.parse import condition_parse
from volano.conditions.selectors import condition_count, condition_names
from volano.conditions.types import ConditionError
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.models import User
from volano.core.permissions import Cap, allows, requires
from volano.lifecycle import selectors as lifecycle_selectors
from volano.lifecycle import services as lifecycle_services
from volano.lifecycle.models import LifecycleStage, ThresholdRule
from volano.scoring import selectors, services
from volano.scoring.models import PREDICTIVE_SLUG, ModelKind, ScoreModel
from volano.scoring.rules import KINDS

DEFAULT_THRESHOLD = 60
DEFAULT_FROM_STAGES = (LifecycleStage.LEAD.value, LifecycleStage.RECYCLED.value)
RULE_PATH = re.compile(r"^rules\[(\d+)\](?:\.(.*))?$")
KIND_LABELS = {
    "fit": gettext_lazy("Fit"),
    "engagement": gettext_lazy("Engagement"),
    "negative": gettext_lazy("Negative"),
}
EXAMPLE_RULE = {
    "kind": "fit",
    "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
    "points": 15,
    "label": "",
}


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _language() -> str:
    return "it" if (get_language() or "it").startswith("it") else "en"


def _product_lines(workspace) -> list[tuple[str, str]]:
    """(slug, name) of the workspace's product lines, for the selects (none: a text box)."""
    try:
        from volano.deals.selectors import product_line_list
    except ImportError:
        return []
    return [(line.slug, line.name) for line in product_line_list(workspace=workspace)]


def _rule_catalogue(workspace, *, scores: bool) -> dict[str, Any]:
    """What the builder offers in scoring and threshold rules: fields, events, consent, the
    stage and (for threshold rules) the scores; no lists or segments, which SCORE_RULES and
    THRESHOLD_RULES refuse."""
    models = selectors.score_models(workspace=workspace) if scores else []
    return builder_catalogue(
        workspace=workspace,
        references=False,
        stages=list(lifecycle_selectors.stage_names(workspace=workspace).items()),
        scores=[(m.slug, m.name) for m in models],
    )


def _describe(workspace, condition: Any) -> str:
    """The condition in words, or "" when it does not parse."""
    try:
        parsed = condition_parse(condition, workspace=workspace)
    except (ConditionError, ApplicationError, TypeError, ValueError, AttributeError):
        return ""
    return condition_describe(parsed, _language(), condition_names(workspace=workspace))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# ---- the models page -------------------------------------------------------------------------


@requires(Cap.VIEW_MARKETING)
def model_list_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    models = list(selectors.score_models(workspace=workspace))
    names = lifecycle_selectors.stage_names(workspace=workspace)
    lines = dict(_product_lines(workspace))
    rules = [
        {
            "rule": rule,
            "from_names": [names.get(stage, stage) for stage in rule.from_stages],
            "to_name": names.get(rule.to_stage, rule.to_stage),
            "description": _describe(workspace, rule.condition),
            "product_line": lines.get(rule.product_line, rule.product_line),
        }
        for rule in lifecycle_selectors.threshold_rules(workspace=workspace)
    ]
    predictive = next((m for m in models if m.kind == ModelKind.PREDICTIVE), None)
    return render(
        request,
        "scoring/model_list.html",
        {
            "models": [
                {
                    "model": model,
                    "rules_count": len(model.rules) if model.kind == ModelKind.RULES else None,
                    "product_line": lines.get(model.product_line, model.product_line),
                }
                for model in models
            ],
            "threshold_rules": rules,
            **_predictive_context(
                request,
                predictive,
                training=_training(workspace, request.GET.get("training", "")),
            ),
        },
    )


def _predictive_context(
    request: HttpRequest,
    model: ScoreModel | None,
    error: str = "",
    training: dict | None = None,
) -> dict[str, Any]:
    report = dict(model.report) if model is not None and model.report else {}
    calibration = [
        {
            "predicted": 100 * float(row[0]),
            "observed": 100 * float(row[1]),
            "count": int(row[2]) if len(row) > 2 else None,
        }
        for row in report.get("calibration") or []
        if isinstance(row, list | tuple) and len(row) >= 2
    ]
    features = []
    if report.get("top_features"):
        try:
            from volano.scoring.predictive import feature_label
        except ImportError:
            feature_label = str  # type: ignore[assignment]
        features = [
            {"label": feature_label(f["feature"]), "weight": f["weight"]}
            for f in report["top_features"][:5]
        ]
    membership = request.membership  # type: ignore[attr-defined]
    status = training["status"] if training else ""
    return {
        "predictive": model,
        "report": report,
        "calibration": calibration,
        "top_features": features,
        "train_error": error,
        "can_train": allows(membership.role, Cap.EDIT_MARKETING),
        "training": training,
        "training_busy": status in ("queued", "running"),
        "just_trained": status == "done",
    }


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def predictive_train_view(request: HttpRequest) -> HttpResponse:
    """Queue the training on the workspace's history (then the scoring of the open leads); the
    card polls the job's status until it is done or failed."""
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        import volano.scoring.predictive  # noqa: F401  (numpy and friends are installed)
    except ImportError:
        error = _("Predictive scoring is not available in this installation yet.")
        if not _is_htmx(request):
            messages.error(request, error)
            return redirect(reverse("scoring:models") + "#predictive-title")
        return _predictive_card(request, error=error)
    job = services.predictive_train_later(workspace=workspace, actor=_actor(request))
    if not _is_htmx(request):
        messages.info(request, _("Training started: this card shows the result when it is done."))
        return redirect(reverse("scoring:models") + f"?training={job}#predictive-title")
    return _predictive_card(request, job=job)


@requires(Cap.VIEW_MARKETING)
def predictive_train_status_view(request: HttpRequest, job: str) -> HttpResponse:
    """The predictive card with the training job's status (HTMX polls it while it runs)."""
    return _predictive_card(request, job=job)


def _predictive_card(request: HttpRequest, *, job: str = "", error: str = "") -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    training = _training(workspace, job)
    if training and training["status"] == "failed":
        error = training["reason"]
    model = ScoreModel.objects.for_workspace(workspace).filter(slug=PREDICTIVE_SLUG).first()
    context = _predictive_context(request, model, error, training)
    return render(request, "scoring/_predictive_card.html", context)


def _training(workspace, job: str) -> dict | None:
    if not job:
        return None
    try:
        return selectors.training_status(workspace=workspace, job_id=job)
    except NotFound:
        return None


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def scores_recompute_view(request: HttpRequest) -> HttpResponse:
    from volano.scoring.tasks import scores_recompute_task

    workspace_id = request.workspace.pk  # type: ignore[attr-defined]
    transaction.on_commit(lambda: scores_recompute_task.enqueue(workspace_id))
    messages.success(
        request,
        _(
            "Recomputing every score is queued: it runs in the background and the numbers "
            "update in a few minutes."
        ),
    )
    return redirect("scoring:models")


# ---- the model editor ------------------------------------------------------------------------


def _get_model(request: HttpRequest, slug: str) -> ScoreModel:
    try:
        return selectors.score_model_get(workspace=request.workspace, slug=slug)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404("no such score model") from None


def _model_data(model: ScoreModel | None) -> dict[str, Any]:
    if model is None:
        return {"slug": "", "name": "", "product_line": "", "active": True, "rules": [EXAMPLE_RULE]}
    return {
        "slug": model.slug,
        "name": model.name,
        "product_line": model.product_line,
        "active": model.active,
        "rules": model.rules,
    }


def _split_errors(errors: list[dict]) -> tuple[list[dict], dict[int, list[dict]]]:
    """Errors about the model itself, and those of each rule by its index (0-based)."""
    general: list[dict] = []
    by_rule: dict[int, list[dict]] = {}
    for error in errors:
        found = RULE_PATH.match(str(error.get("field") or ""))
        if found:
            field = found.group(2) or ""
            # where the rule's condition builder shows it: its paths start at "conditions"
            inside = field == "when" or field.startswith(("when.", "when["))
            by_rule.setdefault(int(found.group(1)), []).append(
                {
                    "field": field,
                    "message": error["message"],
                    "builder_path": "conditions" + field.removeprefix("when") if inside else "",
                }
            )
        else:
            general.append(error)
    return general, by_rule


def _summary(general: list[dict], by_rule: dict[int, list[dict]]) -> list[dict]:
    """Every error once, rule errors saying which rule ("Rule 2 · when.field")."""
    rows = [{"where": e.get("field") or "", "message": e["message"], "anchor": ""} for e in general]
    for index in sorted(by_rule):
        for error in by_rule[index]:
            where = _("Rule %(n)s") % {"n": index + 1}
            if error["field"]:
                where = f"{where} · {error['field']}"
            rows.append({"where": where, "message": error["message"], "anchor": f"rule-{index}"})
    return rows


def _rule_rows(workspace, rules: Any, by_rule: dict[int, list[dict]]) -> list[dict]:
    rows = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        rule = rule if isinstance(rule, dict) else {"when": rule}
        when = rule.get("when")
        errors = by_rule.get(index, [])
        rows.append(
            {
                "index": index,
                "kind": rule.get("kind", "fit"),
                "points": rule.get("points", ""),
                "max_times": rule.get("max_times", ""),
                "half_life_days": rule.get("half_life_days", ""),
                "label": rule.get("label", ""),
                "when_json": json.dumps(when, ensure_ascii=False) if when is not None else "",
                "errors": errors,
                "description": "" if errors else _describe(workspace, when),
            }
        )
    return rows


def _model_form_view(request: HttpRequest, model: ScoreModel | None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    errors: list[dict] = []
    status = 200
    if request.method == "POST":
        raw = request.POST.get("model_json", "")
        try:
            data = json.loads(raw)
        except ValueError as problem:
            data = None
            errors = [{"field": "json", "message": _("not valid JSON: %(e)s") % {"e": problem}}]
        if data is not None and not isinstance(data, dict):
            errors = [{"field": "json", "message": _("expected a JSON object")}]
        if not errors:
            if model is not None:
                data["slug"] = model.slug
            elif data.get("slug") in selectors.score_model_slugs(workspace=workspace):
                errors = [{"field": "slug", "message": _("another model has this slug")}]
        if not errors:
            try:
                saved = services.score_model_save(
                    workspace=workspace, actor=_actor(request), data=data
                )
            except ValidationFailed as failure:
                errors = failure.extra["errors"]
            except ApplicationError as problem:
                errors = [{"field": problem.field or "", "message": problem.message}]
            else:
                messages.success(
                    request,
                    _("“%(name)s” saved; its scores are being recomputed.") % {"name": saved.name},
                )
                return redirect("scoring:model_edit", slug=saved.slug)
        status = 422
        shown = data if isinstance(data, dict) else _model_data(model)
        model_json = raw
    else:
        shown = _model_data(model)
        model_json = _pretty(shown)
    general, by_rule = _split_errors(errors)
    field_errors = {e.get("field") or "": e["message"] for e in general}
    return render(
        request,
        "scoring/model_form.html",
        {
            "model": model,
            "data": shown,
            "model_json": model_json,
            "rows": _rule_rows(workspace, shown.get("rules"), by_rule),
            "blank_row": {"index": "__i__", "kind": "fit", "points": "", "when_json": ""},
            "catalogue": _rule_catalogue(workspace, scores=False),
            "kinds": [(kind, KIND_LABELS[kind]) for kind in KINDS],
            "summary": _summary(general, by_rule),
            "field_errors": field_errors,
            "product_lines": _product_lines(workspace),
            "stages": [
                (value, name)
                for value, name in lifecycle_selectors.stage_names(workspace=workspace).items()
                if value != LifecycleStage.MQL
            ],
            "from_stages": DEFAULT_FROM_STAGES,
            "threshold": DEFAULT_THRESHOLD,
        },
        status=status,
    )


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def model_create_view(request: HttpRequest) -> HttpResponse:
    return _model_form_view(request, None)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def model_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    model = _get_model(request, slug)
    if model.kind == ModelKind.PREDICTIVE:
        return redirect(reverse("scoring:models") + "#predictive-title")
    return _model_form_view(request, model)


def _threshold(value: str | None) -> float:
    try:
        return float((value or "").replace(",", "."))
    except ValueError:
        return float(DEFAULT_THRESHOLD)


@requires(write=Cap.PREVIEW)
@require_POST
def model_preview_view(request: HttpRequest) -> HttpResponse:
    """What the model being edited (not saved) gives today: the count of contacts a
    "score ≥ threshold → MQL" rule would move now, how many score anything, the spread."""
    workspace = request.workspace  # type: ignore[attr-defined]
    threshold = _threshold(request.POST.get("threshold"))
    from_stages = tuple(
        s for s in request.POST.getlist("from_stages") if s in LifecycleStage.values
    )
    context: dict[str, Any] = {"threshold": threshold, "errors": [], "notes": []}
    try:
        data = json.loads(request.POST.get("model_json") or "null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        context["errors"] = [{"where": "JSON", "message": _("not valid JSON yet"), "anchor": ""}]
        return render(request, "scoring/_model_preview.html", context)
    # The preview is about the rules: a model without a name or slug yet still counts.
    draft = {**data, "slug": data.get("slug") or "draft", "name": data.get("name") or "draft"}
    general: list[dict] = []
    by_rule: dict[int, list[dict]] = {}
    if not from_stages:
        general = [{"field": "from_stages", "message": _("pick at least one stage")}]
    else:
        try:
            preview = selectors.score_model_preview(
                workspace=workspace, data=draft, threshold=threshold, from_stages=from_stages
            )
        except ValidationFailed as failure:
            general, by_rule = _split_errors(failure.extra["errors"])
        except ApplicationError as problem:
            general = [{"field": problem.field or "", "message": problem.message}]
        else:
            top = max(preview["spread"].values() or [0]) or 1
            context.update(
                {
                    "preview": preview,
                    "spread": [
                        {"label": label, "count": n, "width": round(100 * n / top, 1)}
                        for label, n in preview["spread"].items()
                    ],
                }
            )
    context["errors"] = _summary(general, by_rule)
    context["notes"] = _rule_rows(workspace, data.get("rules"), by_rule)
    slug = data.get("slug")
    if slug and "preview" in context and slug in selectors.score_model_slugs(workspace=workspace):
        context["slug"] = slug
        context["rule_link"] = (
            reverse("scoring:rule_new") + f"?model={slug}&threshold={threshold:g}"
        )
    return render(request, "scoring/_model_preview.html", context)


# ---- threshold rules -------------------------------------------------------------------------


class ThresholdRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    from_stages = forms.MultipleChoiceField(
        label=gettext_lazy("From stages"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    to_stage = forms.ChoiceField(label=gettext_lazy("To stage"))
    product_line = forms.CharField(
        label=gettext_lazy("Product line"),
        required=False,
        help_text=gettext_lazy("When the rule makes a lead SQL, the hand-off routes on it."),
    )
    # counted from 1 as the rules list numbers them (the service counts from 0)
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": gettext_lazy("last")}),
        help_text=gettext_lazy("Rules run in this order, lowest first; empty puts it last."),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)
    condition = forms.CharField(
        label=gettext_lazy("The condition as JSON"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text=gettext_lazy(
            "The same condition as the builder above, in the condition language: "
            "editing one changes the other."
        ),
    )

    def __init__(self, *args: Any, stages: list[tuple[str, str]], lines: list, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["from_stages"].choices = stages  # type: ignore[attr-defined]
        self.fields["to_stage"].choices = stages  # type: ignore[attr-defined]
        if lines:
            self.fields["product_line"] = forms.ChoiceField(
                label=self.fields["product_line"].label,
                required=False,
                choices=[("", _("Any product line")), *lines],
                help_text=self.fields["product_line"].help_text,
            )

    def clean_condition(self) -> Any:
        try:
            return json.loads(self.cleaned_data["condition"])
        except ValueError as problem:
            raise forms.ValidationError(_("not valid JSON: %(e)s") % {"e": problem}) from None


RULE_FORM_FIELDS = ("name", "from_stages", "to_stage", "product_line", "position", "active")


def _rule_form_field(field: str) -> str:
    """The form field a service error names ("from_stages[1]" → from_stages; a path inside the
    condition → condition)."""
    base = field.split("[", 1)[0].split(".", 1)[0]
    return base if base in RULE_FORM_FIELDS else "condition"


def _get_rule(request: HttpRequest, rule_id: int) -> ThresholdRule:
    try:
        return lifecycle_selectors.threshold_rule_get(
            workspace=request.workspace,  # type: ignore[attr-defined]
            rule_id=rule_id,
        )
    except NotFound:
        raise Http404("no such threshold rule") from None


def _rule_initial(request: HttpRequest) -> dict[str, Any]:
    """A new rule; from the model editor's link, "score.<slug> ≥ threshold → MQL"."""
    workspace = request.workspace  # type: ignore[attr-defined]
    slug = request.GET.get("model", "")
    model = ScoreModel.objects.for_workspace(workspace).filter(slug=slug).first() if slug else None
    threshold = _threshold(request.GET.get("threshold"))
    value: int | float = int(threshold) if threshold.is_integer() else threshold
    field = f"score.{model.slug}" if model else "score.ricambi"
    return {
        "name": f"{model.name} ≥ {value:g} → MQL" if model else "",
        "from_stages": list(DEFAULT_FROM_STAGES),
        "to_stage": LifecycleStage.MQL.value,
        "product_line": model.product_line if model else "",
        "active": True,
        "condition": _pretty({"field": field, "op": "gte", "value": value}),
    }


def _rule_form_view(request: HttpRequest, rule: ThresholdRule | None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    stages = list(lifecycle_selectors.stage_names(workspace=workspace).items())
    lines = _product_lines(workspace)
    status = 200
    builder_error: dict[str, str] | None = None
    if request.method == "POST":
        form = ThresholdRuleForm(request.POST, stages=stages, lines=lines)
        if form.is_valid():
            data = dict(form.cleaned_data)
            if data["position"] is None:
                data.pop("position")
            else:
                data["position"] -= 1  # the form counts from 1, the service from 0
            try:
                saved = lifecycle_services.threshold_rule_save(
                    workspace=workspace, actor=_actor(request), data=data, rule=rule
                )
            except ValidationFailed as failure:
                for error in failure.extra["errors"]:
                    message = error["message"]
                    if _rule_form_field(error["field"]) == "condition" and error["field"]:
                        message = f"{error['field']}: {message}"
                        # the builder shows it next to the row its path names
                        builder_error = builder_error or error
                    form.add_error(_rule_form_field(error["field"]), message)  # type: ignore[arg-type]
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                return redirect("scoring:models")
        status = 422
    elif rule is not None:
        form = ThresholdRuleForm(
            initial={
                "name": rule.name,
                "from_stages": rule.from_stages,
                "to_stage": rule.to_stage,
                "product_line": rule.product_line,
                "position": rule.position + 1,
                # a rule Volano switched off is switched on again by saving it fixed
                "active": rule.active or bool(rule.disabled_reason),
                "condition": _pretty(rule.condition),
            },
            stages=stages,
            lines=lines,
        )
    else:
        form = ThresholdRuleForm(initial=_rule_initial(request), stages=stages, lines=lines)
    return render(
        request,
        "scoring/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "catalogue": _rule_catalogue(workspace, scores=True),
            "builder_error": builder_error,
        },
        status=status,
    )


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def rule_create_view(request: HttpRequest) -> HttpResponse:
    return _rule_form_view(request, None)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def rule_edit_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_form_view(request, _get_rule(request, rule_id))


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def rule_delete_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _get_rule(request, rule_id)
    lifecycle_services.threshold_rule_delete(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        rule=rule,
    )
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("scoring:models")


@requires(write=Cap.PREVIEW)
@require_POST
def rule_preview_view(request: HttpRequest) -> HttpResponse:
    """How many contacts the rule being edited would move now: the condition AND a stage
    among the from stages."""
    workspace = request.workspace  # type: ignore[attr-defined]
    from_stages = [s for s in request.POST.getlist("from_stages") if s in LifecycleStage.values]
    context: dict[str, Any] = {"count": None, "description": "", "error": "", "error_path": ""}
    try:
        condition = json.loads(request.POST.get("condition") or "null")
    except ValueError as problem:
        context["error"] = _("not valid JSON: %(e)s") % {"e": problem}
        return render(request, "scoring/_rule_preview.html", context)
    if not condition:
        context["error"] = _("write the condition first")
    elif not from_stages:
        context["error"] = _("pick at least one stage to move from")
    else:
        try:
            parsed = condition_parse(
                {
                    "all": [
                        condition,
                        {"field": "lifecycle_stage", "op": "in", "value": from_stages},
                    ]
                },
                workspace=workspace,
            )
            context["count"] = condition_count(
                workspace=workspace,
                condition=parsed,
                resolver=lifecycle_services.THRESHOLD_RULES,
            )
            context["description"] = _describe(workspace, condition)
        except ApplicationError as problem:
            # The builder's paths start at the condition ("conditions"), inside the stage test.
            field = problem.field or ""
            if field.startswith("conditions.all[0]"):
                context["error_path"] = "conditions" + field.removeprefix("conditions.all[0]")
            where = field.replace("conditions.all[0]", "condition", 1)
            context["error"] = f"{where}: {problem.message}" if where else problem.message
    return render(request, "scoring/_rule_preview.html", context)
