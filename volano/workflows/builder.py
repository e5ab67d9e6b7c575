"""The visual builder's operations on a draft: find, insert, replace, remove and move steps by
their path in the pinned JSON ("steps[2].then[0]"), and the forms of each step kind and trigger
kind, as registries keyed by kind (a new kind plugs in with `@step_form("kind")`).

Every change makes a new definition and saves it through `services.workflow_update`, the same
service and validation as `PUT /api/v1/workflows/{id}`; a refusal names the step by its path,
which `step_name` turns into words ("Step 3, Send the email “grazie”").
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.core.models import Workspace

_PART = re.compile(r"^(steps|then|else|paths)(?:\[(\d+)\])?$")


class PathError(ValueError):
    pass


# -- paths --------------------------------------------------------------------------------------


def _walk(definition: dict, path: str) -> Any:
    """The node at `path`: "steps" (a list), "steps[2]" (a step), "steps[2].then" (a list),
    "steps[3].paths[1]" (a split's path, a list), "steps[3].paths[1][0]" (a step)."""
    node: Any = definition
    for piece in path.split("."):
        names = re.findall(r"([a-z]+)|\[(\d+)\]", piece)
        for name, index in names:
            try:
                if name:
                    if name not in ("steps", "then", "else", "paths") or not isinstance(node, dict):
                        raise PathError(path)
                    node = node.setdefault(name, []) if name in ("then", "else") else node[name]
                else:
                    node = node[int(index)]
            except (KeyError, IndexError, TypeError):
                raise PathError(path) from None
    return node


def list_at(definition: dict, list_path: str) -> list:
    node = _walk(definition, list_path)
    if not isinstance(node, list) or (node and not all(isinstance(s, dict) for s in node)):
        raise PathError(list_path)
    return node


def split_path(step_path: str) -> tuple[str, int]:
    """ "steps[2].then[0]" → ("steps[2].then", 0)."""
    match = re.match(r"^(.*)\[(\d+)\]$", step_path)
    if not match:
        raise PathError(step_path)
    return match.group(1), int(match.group(2))


def step_at(definition: dict, step_path: str) -> dict:
    list_path, index = split_path(step_path)
    items = list_at(definition, list_path)
    if not 0 <= index < len(items):
        raise PathError(step_path)
    return items[index]


def all_keys(definition: Any) -> set[str]:
    keys: set[str] = set()

    def visit(items: Any) -> None:
        for step in items if isinstance(items, list) else []:
            if isinstance(step, dict):
                if isinstance(step.get("key"), str):
                    keys.add(step["key"])
                visit(step.get("then"))
                visit(step.get("else"))
                for path in step.get("paths") or []:
                    visit(path)

    visit(definition.get("steps") if isinstance(definition, dict) else None)
    return keys


def new_key(definition: dict, kind: str) -> str:
    base = slugify(kind.replace("_", "-"))[:60] or "step"
    used = all_keys(definition)
    n = 1
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def inserted(definition: dict, list_path: str, index: int, step: dict) -> dict:
    changed = copy.deepcopy(definition)
    items = list_at(changed, list_path)
    items.insert(max(0, min(index, len(items))), step)
    return changed


def replaced(definition: dict, step_path: str, step: dict) -> dict:
    changed = copy.deepcopy(definition)
    list_path, index = split_path(step_path)
    items = list_at(changed, list_path)
    if not 0 <= index < len(items):
        raise PathError(step_path)
    items[index] = step
    return changed


def removed(definition: dict, step_path: str) -> dict:
    changed = copy.deepcopy(definition)
    list_path, index = split_path(step_path)
    items = list_at(changed, list_path)
    if not 0 <= index < len(items):
        raise PathError(step_path)
    del items[index]
    return changed


def moved(definition: dict, step_path: str, delta: int) -> dict:
    changed = copy.deepcopy(definition)
    list_path, index = split_path(step_path)
    items = list_at(changed, list_path)
    target = index + delta
    if not (0 <= index < len(items) and 0 <= target < len(items)):
        raise PathError(step_path)
    items[index], items[target] = items[target], items[index]
    return changed


def send_keys(definition: dict) -> list[str]:
    """The keys of the send_email steps, in the definition's order (for "on" branches)."""
    found: list[str] = []

    def visit(items: Any) -> None:
        for step in items if isinstance(items, list) else []:
            if isinstance(step, dict):
                if step.get("kind") == "send_email" and isinstance(step.get("key"), str):
                    found.append(step["key"])
                visit(step.get("then"))
                visit(step.get("else"))
                for path in step.get("paths") or []:
                    visit(path)

    visit(definition.get("steps"))
    return found


def tree(definition: dict) -> list[dict]:
    """The steps as rows to draw, in order: each with its path, depth, and the lists nested in
    it (a branch's "then"/"else", a split's paths), each with its own rows."""

    def rows(items: Any, list_path: str, depth: int) -> list[dict]:
        out = []
        for index, step in enumerate(items if isinstance(items, list) else []):
            path = f"{list_path}[{index}]"
            row: dict[str, Any] = {
                "step": step,
                "key": step.get("key", ""),
                "kind": step.get("kind", ""),
                "path": path,
                "list_path": list_path,
                "index": index,
                "number": index + 1,
                "first": index == 0,
                "last": index == len(items) - 1,
                "depth": depth,
                "lists": [],
            }
            if step.get("kind") == "branch":
                for side, label in (("then", _("If yes")), ("else", _("If no"))):
                    sub = f"{path}.{side}"
                    row["lists"].append(
                        {
                            "label": label,
                            "path": sub,
                            "rows": rows(step.get(side, []), sub, depth + 1),
                            "size": len(step.get(side, []) or []),
                        }
                    )
            elif step.get("kind") == "split":
                for n, items_n in enumerate(step.get("paths") or []):
                    sub = f"{path}.paths[{n}]"
                    weight = (step.get("weights") or [1] * len(step["paths"]))[n]
                    row["lists"].append(
                        {
                            "label": _("Path %(n)s (weight %(w)s)") % {"n": n + 1, "w": weight},
                            "path": sub,
                            "rows": rows(items_n, sub, depth + 1),
                            "size": len(items_n or []),
                        }
                    )
            out.append(row)
        return out

    return rows(definition.get("steps"), "steps", 0)


def error_step_path(field_path: str | None) -> str:
    """The path of the step an error's field names ("steps[2].then[0].template" →
    "steps[2].then[0]"), or "" when it names no step (the trigger, the goal)."""
    match = re.match(
        r"^(steps(?:\[\d+\](?:\.(?:then|else|paths\[\d+\]))?)*\[\d+\])", field_path or ""
    )
    return match.group(1) if match else ""


# -- choices offered by the forms -------------------------------------------------------------


@dataclass
class Choices:
    """What the forms offer, read once per page from the workspace."""

    templates: list[tuple[str, str]] = field(default_factory=list)
    lists: list[tuple[str, str]] = field(default_factory=list)
    segments: list[tuple[str, str]] = field(default_factory=list)
    forms: list[tuple[str, str]] = field(default_factory=list)
    stages: list[tuple[str, str]] = field(default_factory=list)
    scores: list[tuple[str, str]] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)
    workflows: list[tuple[str, str]] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)


def choices_for(workspace: Workspace, definition: dict, *, exclude_workflow: int = 0) -> Choices:
    from volano.core.models import Membership
    from volano.emails.models import EmailTemplate
    from volano.events.models import Form
    from volano.lifecycle.selectors import stage_names
    from volano.scoring.selectors import score_models
    from volano.segments.models import ContactList, Segment
    from volano.workflows.models import Workflow

    def pairs(queryset: Any, label: str = "name") -> list[tuple[str, str]]:
        return [(slug, f"{name} ({slug})") for slug, name in queryset.values_list("slug", label)]

    return Choices(
        templates=pairs(EmailTemplate.objects.for_workspace(workspace).order_by("name")),
        lists=pairs(ContactList.objects.for_workspace(workspace).order_by("name")),
        segments=pairs(Segment.objects.for_workspace(workspace).order_by("name")),
        forms=pairs(Form.objects.for_workspace(workspace).order_by("name")),
        stages=list(stage_names(workspace=workspace).items()),
        scores=[(m.slug, m.name) for m in score_models(workspace=workspace)],
        members=[
            (email.lower(), email)
            for email in Membership.objects.filter(workspace=workspace)
            .order_by("user__email")
            .values_list("user__email", flat=True)
        ],
        workflows=pairs(
            Workflow.objects.for_workspace(workspace).exclude(pk=exclude_workflow).order_by("name")
        ),
        sends=send_keys(definition),
    )


def _select(options: list[tuple[str, str]], current: Any, *, blank: str | None = None) -> list:
    out = [("", blank)] if blank is not None else []
    out += list(options)
    if current and current not in {value for value, _label in out}:
        out.append((current, _("%(slug)s (missing)") % {"slug": current}))
    return out


def _fields(form: forms.Form) -> dict[str, Any]:
    """The form's fields, typed loosely (the choices of a ChoiceField are set per workspace)."""
    return cast(dict[str, Any], form.fields)


class ConditionField(forms.CharField):
    """A condition, kept as JSON in a hidden input that the condition builder edits."""

    widget = forms.HiddenInput

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not value:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            raise forms.ValidationError(_("the condition is not complete")) from None
        if not isinstance(parsed, dict | list) or not parsed:
            raise forms.ValidationError(_("build the condition first"))
        return parsed

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value


# -- step forms ---------------------------------------------------------------------------------


class StepForm(forms.Form):
    """One kind's form: `initial_from` reads a step into the form, `to_step` writes it back
    (keeping what the form does not edit, such as a branch's nested steps)."""

    kind: ClassVar[str] = ""
    label: ClassVar[Any] = ""
    description: ClassVar[Any] = ""

    def __init__(self, *args: Any, choices: Choices, step: dict | None = None, **kwargs: Any):
        self.choices = choices
        self.step = step or {}
        if step is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(step)
        super().__init__(*args, **kwargs)
        self.setup()

    def setup(self) -> None:
        pass

    def initial_from(self, step: dict) -> dict:
        return {name: step.get(name) for name in self.base_fields}

    def to_step(self, key: str) -> dict:
        data = {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}
        return {"key": key, "kind": self.kind, **data}


STEP_FORMS: dict[str, type[StepForm]] = {}


def step_form(kind: str) -> Callable[[type[StepForm]], type[StepForm]]:
    def register(cls: type[StepForm]) -> type[StepForm]:
        cls.kind = kind
        STEP_FORMS[kind] = cls
        return cls

    return register


@step_form("send_email")
class SendEmailForm(StepForm):
    label = gettext_lazy("Send an email")
    description = gettext_lazy("A saved email template, its blocks chosen per contact.")
    template = forms.ChoiceField(label=gettext_lazy("Email template"))
    subject = forms.CharField(
        label=gettext_lazy("Subject (optional)"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Leave empty to use the template's subject."),
    )

    def setup(self) -> None:
        _fields(self)["template"].choices = _select(
            self.choices.templates, self.step.get("template"), blank=_("Choose a template")
        )


@step_form("wait")
class WaitForm(StepForm):
    label = gettext_lazy("Wait")
    description = gettext_lazy("Minutes or days, counted from the moment the step runs.")
    amount = forms.IntegerField(label=gettext_lazy("How long"), min_value=0, max_value=3650 * 1440)
    unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=[("days", gettext_lazy("days")), ("minutes", gettext_lazy("minutes"))],
    )

    def initial_from(self, step: dict) -> dict:
        if "minutes" in step:
            return {"amount": step["minutes"], "unit": "minutes"}
        return {"amount": step.get("days", 1), "unit": "days"}

    def to_step(self, key: str) -> dict:
        return {"key": key, "kind": "wait", self.cleaned_data["unit"]: self.cleaned_data["amount"]}


@step_form("update_property")
class UpdatePropertyForm(StepForm):
    label = gettext_lazy("Update a property")
    description = gettext_lazy("Writes a value on the contact, checked like a form.")
    field = forms.CharField(
        label=gettext_lazy("Property"),
        max_length=120,
        help_text=gettext_lazy("A contact field (city, job_title…) or custom.<key>."),
    )
    value = forms.CharField(label=gettext_lazy("Value"), max_length=500, required=False)

    def to_step(self, key: str) -> dict:
        return {
            "key": key,
            "kind": "update_property",
            "field": self.cleaned_data["field"],
            "value": self.cleaned_data["value"],
        }


@step_form("branch")
class BranchForm(StepForm):
    label = gettext_lazy("If / else branch")
    description = gettext_lazy(
        "Takes “If yes” or “If no”; both continue with the step after the branch."
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Decide on"),
        widget=forms.RadioSelect,
        choices=[
            ("when", gettext_lazy("A condition on the contact")),
            ("on", gettext_lazy("What they did with an earlier email of this workflow")),
        ],
    )
    when = ConditionField(label=gettext_lazy("Condition"), required=False)
    on_steps = forms.MultipleChoiceField(
        label=gettext_lazy("Emails of the steps"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    did = forms.ChoiceField(
        label=gettext_lazy("They"),
        required=False,
        choices=[("clicked", gettext_lazy("clicked")), ("opened", gettext_lazy("opened"))],
    )

    def setup(self) -> None:
        _fields(self)["on_steps"].choices = [(k, k) for k in self.choices.sends]

    def initial_from(self, step: dict) -> dict:
        if "on" in step:
            on = step["on"] if isinstance(step["on"], dict) else {}
            steps = on.get("steps") or ([on["step"]] if "step" in on else [])
            return {"mode": "on", "on_steps": steps, "did": on.get("did", "clicked")}
        return {"mode": "when", "when": step.get("when")}

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("mode") == "when" and not data.get("when"):
            self.add_error("when", _("build the condition first"))
        if data.get("mode") == "on" and not data.get("on_steps"):
            self.add_error("on_steps", _("choose at least one send step"))
        return data

    def to_step(self, key: str) -> dict:
        step: dict[str, Any] = {"key": key, "kind": "branch"}
        if self.cleaned_data["mode"] == "when":
            step["when"] = self.cleaned_data["when"]
        else:
            step["on"] = {
                "steps": self.cleaned_data["on_steps"],
                "did": self.cleaned_data["did"] or "clicked",
            }
        step["then"] = self.step.get("then", [])
        step["else"] = self.step.get("else", [])
        return step


@step_form("split")
class SplitForm(StepForm):
    label = gettext_lazy("Random split (A/B)")
    description = gettext_lazy("Each contact takes one path, the same one every time.")
    paths = forms.IntegerField(label=gettext_lazy("Paths"), min_value=2, max_value=10)
    weights = forms.CharField(
        label=gettext_lazy("Weights (optional)"),
        required=False,
        help_text=gettext_lazy("One whole number per path, separated by commas: 70, 30."),
    )

    def initial_from(self, step: dict) -> dict:
        paths = step.get("paths") or [[], []]
        weights = step.get("weights")
        return {"paths": len(paths), "weights": ", ".join(map(str, weights)) if weights else ""}

    def clean_weights(self) -> list[int] | None:
        text = (self.cleaned_data.get("weights") or "").strip()
        if not text:
            return None
        try:
            return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("whole numbers separated by commas")) from None

    def to_step(self, key: str) -> dict:
        existing = list(self.step.get("paths") or [])
        count = self.cleaned_data["paths"]
        paths = (existing + [[] for _ in range(count)])[:count]
        step: dict[str, Any] = {"key": key, "kind": "split", "paths": paths}
        if self.cleaned_data.get("weights"):
            step["weights"] = self.cleaned_data["weights"]
        return step


class _ListForm(StepForm):
    list = forms.ChoiceField(label=gettext_lazy("List"))

    def setup(self) -> None:
        _fields(self)["list"].choices = _select(
            self.choices.lists, self.step.get("list"), blank=_("Choose a list")
        )


@step_form("add_to_list")
class AddToListForm(_ListForm):
    label = gettext_lazy("Add to a list")


@step_form("remove_from_list")
class RemoveFromListForm(_ListForm):
    label = gettext_lazy("Remove from a list")


@step_form("change_stage")
class ChangeStageForm(StepForm):
    label = gettext_lazy("Change the lifecycle stage")
    stage = forms.ChoiceField(label=gettext_lazy("Stage"))

    def setup(self) -> None:
        _fields(self)["stage"].choices = _select(self.choices.stages, self.step.get("stage"))


@step_form("notify")
class NotifyForm(StepForm):
    label = gettext_lazy("Notify a colleague")
    description = gettext_lazy("An in-app notification and its email, linking the contact.")
    to = forms.ChoiceField(label=gettext_lazy("Who"))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Text (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea,
    )

    def setup(self) -> None:
        _fields(self)["to"].choices = _select(
            [("owner", _("The contact's owner")), *self.choices.members], self.step.get("to")
        )


@step_form("enrol_in_workflow")
class EnrolForm(StepForm):
    label = gettext_lazy("Move to another workflow")
    workflow = forms.ChoiceField(label=gettext_lazy("Workflow"))

    def setup(self) -> None:
        _fields(self)["workflow"].choices = _select(
            self.choices.workflows, self.step.get("workflow"), blank=_("Choose a workflow")
        )


@step_form("exit")
class ExitForm(StepForm):
    label = gettext_lazy("Exit the workflow")
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"), required=False, max_length=200
    )


def step_kinds() -> list[tuple[str, Any, Any]]:
    """(kind, label, description) of every kind the builder can add."""
    return [(kind, cls.label, cls.description) for kind, cls in STEP_FORMS.items()]


# -- trigger forms ------------------------------------------------------------------------------


class TriggerForm(forms.Form):
    kind: ClassVar[str] = ""
    label: ClassVar[Any] = ""

    def __init__(self, *args: Any, choices: Choices, trigger: dict | None = None, **kwargs: Any):
        self.choices = choices
        self.trigger = trigger or {}
        if trigger is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: trigger.get(name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.setup()

    def setup(self) -> None:
        pass

    def to_trigger(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}
        return {"kind": self.kind, **data}


TRIGGER_FORMS: dict[str, type[TriggerForm]] = {}


def trigger_form(kind: str) -> Callable[[type[TriggerForm]], type[TriggerForm]]:
    def register(cls: type[TriggerForm]) -> type[TriggerForm]:
        cls.kind = kind
        TRIGGER_FORMS[kind] = cls
        return cls

    return register


@trigger_form("form_submitted")
class FormTrigger(TriggerForm):
    label = gettext_lazy("A form is submitted")
    form = forms.ChoiceField(label=gettext_lazy("Form"), required=False)

    def setup(self) -> None:
        _fields(self)["form"].choices = _select(
            self.choices.forms, self.trigger.get("form"), blank=_("Any form")
        )


@trigger_form("event")
class EventTrigger(TriggerForm):
    label = gettext_lazy("An event matching a condition")
    when = ConditionField(label=gettext_lazy("Condition"))


class _SegmentTrigger(TriggerForm):
    segment = forms.ChoiceField(label=gettext_lazy("Segment"))

    def setup(self) -> None:
        _fields(self)["segment"].choices = _select(
            self.choices.segments, self.trigger.get("segment"), blank=_("Choose a segment")
        )


@trigger_form("segment_entered")
class SegmentEnteredTrigger(_SegmentTrigger):
    label = gettext_lazy("The contact enters a segment")


@trigger_form("segment_left")
class SegmentLeftTrigger(_SegmentTrigger):
    label = gettext_lazy("The contact leaves a segment")


@trigger_form("stage_changed")
class StageTrigger(TriggerForm):
    label = gettext_lazy("The contact moves to a lifecycle stage")
    stage = forms.ChoiceField(label=gettext_lazy("Stage"))

    def setup(self) -> None:
        _fields(self)["stage"].choices = _select(self.choices.stages, self.trigger.get("stage"))


@trigger_form("score_crossed")
class ScoreTrigger(TriggerForm):
    label = gettext_lazy("A score reaches a threshold")
    model = forms.ChoiceField(label=gettext_lazy("Score model"))
    threshold = forms.IntegerField(label=gettext_lazy("Threshold"))

    def setup(self) -> None:
        _fields(self)["model"].choices = _select(self.choices.scores, self.trigger.get("model"))


@trigger_form("manual")
class ManualTrigger(TriggerForm):
    label = gettext_lazy("By hand or through the API")


class GoalForm(forms.Form):
    goal = ConditionField(label=gettext_lazy("Goal"), required=False)


class NewWorkflowForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Starts when"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _fields(self)["kind"].choices = [(k, cls.label) for k, cls in TRIGGER_FORMS.items()]


def step_name(definition: dict, step_path: str, label: Callable[[dict], str]) -> str:
    """ "Step 3 (“grazie”): Send the email …" for an error's step path."""
    try:
        step = step_at(definition, step_path)
    except PathError:
        return step_path
    number = int(split_path(step_path)[1]) + 1
    try:
        words = label(step)
    except Exception:  # a step that does not parse yet has no sentence
        words = str(step.get("kind", ""))
    return _("Step %(n)s “%(key)s” (%(what)s)") % {
        "n": number,
        "key": step.get("key", ""),
        "what": words,
    }
