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
    """The keys of the send_email and send_survey steps, in the definition's order (for "on"
    branches)."""
    found: list[str] = []

    def visit(items: Any) -> None:
        for step in items if isinstance(items, list) else []:
            if isinstance(step, dict):
                if step.get("kind") in ("send_email", "send_survey") and isinstance(
                    step.get("key"), str
                ):
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
            if step.get("kind") in ("branch", "wait_for"):
                sides = (
                    (("then", _("If yes")), ("else", _("If no")))
                    if step.get("kind") == "branch"
                    else (("then", _("If it happened")), ("else", _("If not, when time ran out")))
                )
                for side, label in sides:
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
    surveys: list[tuple[str, str]] = field(default_factory=list)
    lists: list[tuple[str, str]] = field(default_factory=list)
    segments: list[tuple[str, str]] = field(default_factory=list)
    forms: list[tuple[str, str]] = field(default_factory=list)
    stages: list[tuple[str, str]] = field(default_factory=list)
    scores: list[tuple[str, str]] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)
    workflows: list[tuple[str, str]] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)
    date_fields: list[tuple[str, str]] = field(default_factory=list)
    custom_fields: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)


def choices_for(workspace: Workspace, definition: dict, *, exclude_workflow: int = 0) -> Choices:
    from volano.conditions.catalogue import HIDDEN_EVENTS
    from volano.contacts.selectors import custom_fields
    from volano.core.models import Membership
    from volano.emails.models import EmailTemplate
    from volano.events.models import EventType, Form
    from volano.lifecycle.selectors import stage_names
    from volano.scoring.selectors import score_models
    from volano.segments.models import ContactList, Segment
    from volano.surveys.models import Survey
    from volano.workflows.models import Workflow

    custom = custom_fields(workspace=workspace).order_by("label")

    def pairs(queryset: Any, label: str = "name") -> list[tuple[str, str]]:
        return [(slug, f"{name} ({slug})") for slug, name in queryset.values_list("slug", label)]

    return Choices(
        templates=pairs(EmailTemplate.objects.for_workspace(workspace).order_by("name")),
        surveys=pairs(Survey.objects.for_workspace(workspace).filter(active=True).order_by("name")),
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
        date_fields=[("created_at", _("Date added (created_at)"))]
        + [
            (f"custom.{key}", f"{label} (custom.{key})")
            for key, label in custom.filter(type="date").values_list("key", "label")
        ],
        custom_fields=[
            (f"custom.{key}", f"{label} (custom.{key})")
            for key, label in custom.filter(type="text").values_list("key", "label")
        ],
        events=[
            (value, str(label)) for value, label in EventType.choices if value not in HIDDEN_EVENTS
        ],
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
    # fields drawn as a group of radio buttons or check boxes, and as a condition builder
    grouped: ClassVar[tuple[str, ...]] = ("mode", "on_steps", "weekdays")
    conditions: ClassVar[tuple[str, ...]] = ("when",)
    # the fields that belong to one choice of `mode` only (shown for it by builder.js)
    modes: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, choices: Choices, step: dict | None = None, **kwargs: Any):
        self.choices = choices
        self.step = step or {}
        if step is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(step)
        super().__init__(*args, **kwargs)
        for name, modes in self.modes.items():
            _fields(self)[name].widget.attrs["data-modes"] = modes
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


@step_form("send_survey")
class SendSurveyForm(StepForm):
    label = gettext_lazy("Send a survey")
    description = gettext_lazy(
        "An NPS or CSAT survey by email, with each contact's own answer link; the answer is a "
        "“survey_answered” event a later step can wait for."
    )
    survey = forms.ChoiceField(label=gettext_lazy("Survey"))
    template = forms.ChoiceField(
        label=gettext_lazy("Email template (optional)"),
        required=False,
        help_text=gettext_lazy(
            "Empty: the survey's own email with the score buttons. A template of yours must "
            "carry the link: {{ survey_link('code') }}."
        ),
    )

    def setup(self) -> None:
        _fields(self)["survey"].choices = _select(
            self.choices.surveys, self.step.get("survey"), blank=_("Choose a survey")
        )
        _fields(self)["template"].choices = _select(
            self.choices.templates, self.step.get("template"), blank=_("The survey's own email")
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
        initial="when",
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

    modes = {"when": "when", "on_steps": "on", "did": "on"}

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


_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_WEEKDAYS = [
    (str(n), label)
    for n, label in enumerate(
        (
            gettext_lazy("Monday"),
            gettext_lazy("Tuesday"),
            gettext_lazy("Wednesday"),
            gettext_lazy("Thursday"),
            gettext_lazy("Friday"),
            gettext_lazy("Saturday"),
            gettext_lazy("Sunday"),
        )
    )
]


def _hhmm(value: Any) -> str:
    return value.strftime("%H:%M") if hasattr(value, "strftime") else str(value or "09:00")


@step_form("wait_until")
class WaitUntilForm(StepForm):
    label = gettext_lazy("Wait until a day and time")
    description = gettext_lazy(
        "Until the next chosen weekday at a time, or until a date of the contact (± days)."
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Wait until"),
        widget=forms.RadioSelect,
        initial="weekdays",
        choices=[
            ("weekdays", gettext_lazy("The next of these weekdays")),
            ("field", gettext_lazy("A date of the contact")),
        ],
    )
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("Weekdays"),
        required=False,
        choices=_WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
    )
    field = forms.ChoiceField(label=gettext_lazy("Date field"), required=False)
    offset_days = forms.IntegerField(
        label=gettext_lazy("Days from that date"),
        required=False,
        min_value=-3650,
        max_value=3650,
        help_text=gettext_lazy("−30 is thirty days before the date, 1 the day after; 0 the day."),
    )
    time = forms.TimeField(
        label=gettext_lazy("At (time)"), widget=_TIME, input_formats=["%H:%M"], initial="09:00"
    )

    modes = {"weekdays": "weekdays", "field": "field", "offset_days": "field"}

    def setup(self) -> None:
        _fields(self)["field"].choices = _select(
            self.choices.date_fields, self.step.get("field"), blank=_("Choose a date field")
        )

    def initial_from(self, step: dict) -> dict:
        if "field" in step:
            return {
                "mode": "field",
                "field": step["field"],
                "offset_days": step.get("offset_days", 0),
                "time": step.get("time", "09:00"),
            }
        weekdays = step.get("weekdays", list(range(7)))
        return {
            "mode": "weekdays",
            "weekdays": [str(d) for d in weekdays],
            "time": step.get("time", "09:00"),
        }

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("mode") == "field" and not data.get("field"):
            self.add_error("field", _("choose a date field"))
        if data.get("mode") == "weekdays" and not data.get("weekdays"):
            self.add_error("weekdays", _("choose at least one day"))
        return data

    def to_step(self, key: str) -> dict:
        data = self.cleaned_data
        step: dict[str, Any] = {"key": key, "kind": "wait_until"}
        if data["mode"] == "field":
            step["field"] = data["field"]
            step["offset_days"] = data.get("offset_days") or 0
        else:
            step["weekdays"] = sorted(int(d) for d in data["weekdays"])
        step["time"] = _hhmm(data["time"])
        return step


def _timeout_initial(minutes: int) -> dict:
    if minutes and minutes % 1440 == 0:
        return {"timeout": minutes // 1440, "timeout_unit": "days"}
    return {"timeout": minutes, "timeout_unit": "minutes"}


@step_form("wait_for")
class WaitForForm(StepForm):
    label = gettext_lazy("Wait for something to happen")
    description = gettext_lazy(
        "A click or open of an earlier email, a page visit, a form, a survey answer… with a "
        "time limit: “If it happened” and “If not” paths."
    )
    modes = {
        "on_steps": "on",
        "did": "on",
        "event": "event",
        "event_form": "event",
        "event_url": "event",
        "when": "when",
    }
    mode = forms.ChoiceField(
        label=gettext_lazy("Wait for"),
        widget=forms.RadioSelect,
        initial="on",
        choices=[
            ("on", gettext_lazy("What they do with an earlier email of this workflow")),
            ("event", gettext_lazy("An event (a page visit, a form, a survey answer…)")),
            ("when", gettext_lazy("A condition on the contact to hold")),
        ],
    )
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
    event = forms.ChoiceField(label=gettext_lazy("Event"), required=False)
    event_form = forms.ChoiceField(label=gettext_lazy("Of the form (optional)"), required=False)
    event_url = forms.CharField(
        label=gettext_lazy("Page address contains (optional)"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("For a page visit: part of the address, e.g. /prezzi."),
    )
    when = ConditionField(label=gettext_lazy("Condition"), required=False)
    timeout = forms.IntegerField(
        label=gettext_lazy("Wait at most"), min_value=1, max_value=3650 * 1440, initial=7
    )
    timeout_unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=[("days", gettext_lazy("days")), ("minutes", gettext_lazy("minutes"))],
    )

    def setup(self) -> None:
        fields = _fields(self)
        fields["on_steps"].choices = [(k, k) for k in self.choices.sends]
        fields["event"].choices = _select(
            self.choices.events,
            (self.step.get("event") or {}).get("event"),
            blank=_("Choose an event"),
        )
        fields["event_form"].choices = _select(
            self.choices.forms,
            ((self.step.get("event") or {}).get("where") or {}).get("form"),
            blank=_("Any form"),
        )

    def initial_from(self, step: dict) -> dict:
        minutes = step.get("timeout_minutes") or 1440 * step.get("timeout_days", 7)
        out: dict[str, Any] = _timeout_initial(minutes)
        if "on" in step:
            on = step["on"] if isinstance(step["on"], dict) else {}
            steps = on.get("steps") or ([on["step"]] if "step" in on else [])
            out.update(mode="on", on_steps=steps, did=on.get("did", "clicked"))
        elif "event" in step:
            event = step["event"] if isinstance(step["event"], dict) else {}
            where = event.get("where") or {}
            url = where.get("url")
            out.update(
                mode="event",
                event=event.get("event", ""),
                event_form=where.get("form", ""),
                event_url=url.get("contains", "") if isinstance(url, dict) else (url or ""),
            )
        else:
            out.update(mode="when", when=step.get("when"))
        return out

    def clean(self) -> dict:
        data = super().clean() or {}
        mode = data.get("mode")
        if mode == "on" and not data.get("on_steps"):
            self.add_error("on_steps", _("choose at least one send step"))
        if mode == "event" and not data.get("event"):
            self.add_error("event", _("choose an event"))
        if mode == "when" and not data.get("when"):
            self.add_error("when", _("build the condition first"))
        return data

    def to_step(self, key: str) -> dict:
        data = self.cleaned_data
        step: dict[str, Any] = {"key": key, "kind": "wait_for"}
        if data["mode"] == "on":
            step["on"] = {"steps": data["on_steps"], "did": data["did"] or "clicked"}
        elif data["mode"] == "event":
            event: dict[str, Any] = {"event": data["event"]}
            old: dict = self.step.get("event") or {}
            if not isinstance(old, dict):
                old = {}
            where = dict(old.get("where") or {}) if old.get("event") == data["event"] else {}
            where.pop("form", None)
            where.pop("url", None)
            if data.get("event_form"):
                where["form"] = data["event_form"]
            if data.get("event_url"):
                where["url"] = {"contains": data["event_url"]}
            if where:
                event["where"] = where
            step["event"] = event
        else:
            step["when"] = data["when"]
        step[f"timeout_{data['timeout_unit']}"] = data["timeout"]
        step["then"] = self.step.get("then", [])
        step["else"] = self.step.get("else", [])
        return step


@step_form("create_task")
class CreateTaskForm(StepForm):
    label = gettext_lazy("Create a task for a rep")
    description = gettext_lazy("A task on the rep's “My tasks”, linking the contact.")
    to = forms.ChoiceField(label=gettext_lazy("For"))
    title = forms.CharField(label=gettext_lazy("Task"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Details (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea,
    )
    due_days = forms.IntegerField(
        label=gettext_lazy("Due in days (optional)"), required=False, min_value=0, max_value=365
    )

    def setup(self) -> None:
        _fields(self)["to"].choices = _select(
            [("owner", _("The contact's owner")), *self.choices.members], self.step.get("to")
        )


def _lines(text: str, name: str) -> list[tuple[str, str]]:
    """ "left | right" lines (blank lines skipped) as pairs, or a ValidationError naming the
    line."""
    pairs = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        left, bar, right = line.partition("|")
        if not bar or not left.strip() or not right.strip():
            raise forms.ValidationError(
                _("line %(n)s: write “%(name)s | value”") % {"n": number, "name": name}
            )
        pairs.append((left.strip(), right.strip()))
    return pairs


@step_form("webhook")
class WebhookForm(StepForm):
    label = gettext_lazy("Call a webhook")
    description = gettext_lazy(
        "Posts the contact to another system, signed (HMAC-SHA256), retried until it answers."
    )
    url = forms.URLField(label=gettext_lazy("Address"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=gettext_lazy("Signing secret"),
        min_length=16,
        max_length=200,
        help_text=gettext_lazy(
            "At least 16 characters; the receiving system checks the X-Volano-Signature "
            "header with it."
        ),
    )
    payload = forms.CharField(
        label=gettext_lazy("Extra fields (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line: name | value. Sent beside the contact."),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("secret"):
            import secrets

            self.initial["secret"] = secrets.token_urlsafe(24)

    def initial_from(self, step: dict) -> dict:
        payload = step.get("payload") or {}
        return {
            "url": step.get("url", ""),
            "secret": step.get("secret", ""),
            "payload": "\n".join(f"{k} | {v}" for k, v in payload.items())
            if isinstance(payload, dict)
            else "",
        }

    def clean_payload(self) -> dict:
        pairs = _lines(self.cleaned_data.get("payload", ""), _("name"))
        old: dict = self.step.get("payload") or {}
        if not isinstance(old, dict):
            old = {}
        # a value that was not text (a number, a list) is kept as it was when unchanged
        return {k: old[k] if str(old.get(k)) == v else v for k, v in pairs}

    def to_step(self, key: str) -> dict:
        step: dict[str, Any] = {
            "key": key,
            "kind": "webhook",
            "url": self.cleaned_data["url"],
            "secret": self.cleaned_data["secret"],
        }
        if self.cleaned_data["payload"]:
            step["payload"] = self.cleaned_data["payload"]
        return step


@step_form("set_top_section")
class TopSectionForm(StepForm):
    label = gettext_lazy("Remember the section read longest")
    description = gettext_lazy(
        "Writes to a field the value of the site section on which the contact spent most time; "
        "an email then links it."
    )
    field = forms.ChoiceField(label=gettext_lazy("Field to write (a text custom field)"))
    sections = forms.CharField(
        label=gettext_lazy("Sections"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One per line: part of the pages' address | the value to write, e.g. "
            "/report/export | https://www.example.it/export.pdf"
        ),
    )
    default = forms.CharField(
        label=gettext_lazy("Value when they read none (optional)"), required=False, max_length=500
    )
    within_days = forms.IntegerField(
        label=gettext_lazy("Reading time of the last days"),
        min_value=1,
        max_value=3650,
        initial=30,
    )

    def setup(self) -> None:
        _fields(self)["field"].choices = _select(
            self.choices.custom_fields, self.step.get("field"), blank=_("Choose a field")
        )

    def initial_from(self, step: dict) -> dict:
        return {
            "field": step.get("field", ""),
            "sections": "\n".join(
                f"{s.get('url_contains', '')} | {s.get('value', '')}"
                for s in step.get("sections") or []
                if isinstance(s, dict)
            ),
            "default": step.get("default") or "",
            "within_days": step.get("within_days", 30),
        }

    def clean_sections(self) -> list[dict]:
        pairs = _lines(self.cleaned_data.get("sections", ""), _("address part"))
        if not pairs:
            raise forms.ValidationError(_("write at least one section"))
        return [{"url_contains": left, "value": right} for left, right in pairs]

    def to_step(self, key: str) -> dict:
        data = self.cleaned_data
        step: dict[str, Any] = {
            "key": key,
            "kind": "set_top_section",
            "field": data["field"],
            "sections": data["sections"],
        }
        if data.get("default"):
            step["default"] = data["default"]
        if data["within_days"] != 30 or "within_days" in self.step:
            step["within_days"] = data["within_days"]
        return step


@step_form("adjust_score")
class AdjustScoreForm(StepForm):
    label = gettext_lazy("Adjust a score")
    description = gettext_lazy("Adds or takes away points on a score model (−10 takes ten).")
    model = forms.ChoiceField(label=gettext_lazy("Score model"))
    points = forms.FloatField(
        label=gettext_lazy("Points"),
        min_value=-1000,
        max_value=1000,
        help_text=gettext_lazy("Positive adds, negative takes away."),
    )

    def setup(self) -> None:
        _fields(self)["model"].choices = _select(
            self.choices.scores, self.step.get("model"), blank=_("Choose a score model")
        )

    def clean_points(self) -> float | int:
        value = self.cleaned_data["points"]
        if not value:
            raise forms.ValidationError(_("a number other than 0"))
        return int(value) if float(value).is_integer() else value

    def to_step(self, key: str) -> dict:
        return {
            "key": key,
            "kind": "adjust_score",
            "model": self.cleaned_data["model"],
            "points": self.cleaned_data["points"],
        }


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


@trigger_form("date_property")
class DatePropertyTrigger(TriggerForm):
    label = gettext_lazy("A date of the contact comes (e.g. a contract's expiry)")
    field = forms.ChoiceField(label=gettext_lazy("Date field"))
    offset_days = forms.IntegerField(
        label=gettext_lazy("Days from that date"),
        min_value=-3650,
        max_value=3650,
        initial=0,
        help_text=gettext_lazy(
            "−30 enrols thirty days before the date, 1 the day after; 0 on the day. Checked "
            "once a day."
        ),
    )

    def setup(self) -> None:
        _fields(self)["field"].choices = _select(
            self.choices.date_fields, self.trigger.get("field"), blank=_("Choose a date field")
        )

    def to_trigger(self) -> dict:
        return {
            "kind": "date_property",
            "field": self.cleaned_data["field"],
            "offset_days": self.cleaned_data.get("offset_days") or 0,
        }


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


# -- new from a ready template (seed 004) -----------------------------------------------------

# which list of the workspace a template's slug parameter names, by the parameter's key
_TEMPLATE_REFERENCES = {
    "form": "forms",
    "feedback_form": "forms",
    "questionnaire_form": "forms",
    "segment": "segments",
    "score_model": "scores",
    "fallback_workflow": "workflows",
    "nurture_workflow": "workflows",
    "lost_stage": "stages",
    "expiry_field": "date_fields",
}


def _section_lines(text: str) -> list[dict]:
    """ "address part | material | second material (optional)" lines as the sections
    parameter; the service checks the addresses and names the bad one."""
    sections = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise forms.ValidationError(
                _("line %(n)s: write “address part | material address | second (optional)”")
                % {"n": number}
            )
        section: dict[str, Any] = {"url_contains": parts[0], "material_url": parts[1]}
        if len(parts) == 3 and parts[2]:
            section["second_url"] = parts[2]
        sections.append(section)
    return sections


class TemplateParametersForm(forms.Form):
    """A form drawn from a ready template's parameter schema (selectors.workflow_templates):
    slugs of forms, segments, models, workflows and stages are choices of the workspace, the
    sections are lines, nothing is JSON."""

    def __init__(self, *args: Any, schema: list[dict], choices: Choices, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.schema = schema
        fields = _fields(self)
        for param in schema:
            key, kind = param["key"], param["type"]
            common: dict[str, Any] = {
                "label": param["label"],
                "required": param["required"],
                "help_text": param["help"],
            }
            field: forms.Field
            if key == "task_to":
                field = forms.ChoiceField(
                    choices=[("owner", _("The contact's owner")), *choices.members], **common
                )
            elif key in _TEMPLATE_REFERENCES:
                blank = _("(none)") if not param["required"] else _("Choose")
                if key == "form":
                    blank = _("Any form")
                elif key in ("feedback_form", "questionnaire_form"):
                    blank = _("Any survey answer")
                field = forms.ChoiceField(
                    choices=[("", blank), *getattr(choices, _TEMPLATE_REFERENCES[key])], **common
                )
            elif kind == "sections":
                common["help_text"] = _(
                    "One section per line: part of its pages' address | the material to link | "
                    "a second material (optional), e.g. /report/export | "
                    "https://www.example.it/export.pdf"
                )
                field = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
            elif kind == "url":
                field = forms.CharField(
                    max_length=500,
                    widget=forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false"}),
                    **common,
                )
            elif kind == "number":
                field = forms.FloatField(**common)
            elif kind == "integer":
                field = forms.IntegerField(min_value=-3650, max_value=3650, **common)
            else:
                field = forms.CharField(max_length=200, **common)
            if param["default"] is not None:
                field.initial = param["default"]
            fields[key] = field

    def parameters(self) -> dict:
        out: dict[str, Any] = {}
        for param in self.schema:
            value = self.cleaned_data.get(param["key"])
            if value in ("", None):
                continue
            if param["type"] == "sections":
                value = _section_lines(value)
            elif param["type"] == "number" and float(value).is_integer():
                value = int(value)
            out[param["key"]] = value
        return out

    def clean(self) -> dict:
        data = super().clean() or {}
        for param in self.schema:
            if param["type"] == "sections" and data.get(param["key"]):
                try:
                    _section_lines(data[param["key"]])
                except forms.ValidationError as error:
                    self.add_error(param["key"], error)
        return data
