"""A workflow's definition: the pinned JSON of issue 15, validated into a normalised graph.

    {"name": "…",
     "trigger": {"kind": "manual"} | {"kind": "event", "when": <condition>} | …,
     "steps": [{"key": "k", "kind": "wait", "days": 7}, …],
     "goal": <condition>}            (optional)

`definition_parse` checks the shape and every reference (templates, lists, segments, workflows,
the conditions with the condition language) and returns the graph the engine runs:

    {"start": "k1", "trigger": {…}, "goal": <condition> | None,
     "steps": {"k1": {"kind": "send_email", "template": "grazie", "next": "k2", "path": "steps[0]"},
               "b": {"kind": "branch", "when": …, "then": "k3", "else": "k4", …}, …}}

A branch's `then` / `else` lists run after it and then rejoin the step that follows the branch
(`next` None: the enrolment completes). Every error is an ApplicationError whose `field` is the
path of the bad node ("steps[2].then[0].template"), so the API's 422 and the UI name the step.
Nested lists cannot jump backwards, so a definition of this form has no cycle; a key used twice
would be the only way to make one, and it is refused.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from volano.conditions.selectors import condition_check
from volano.conditions.types import ConditionError
from volano.core.errors import ApplicationError
from volano.core.models import Workspace

MAX_STEPS = 200
MAX_DEPTH = 10
MAX_WAIT_DAYS = 3650
KEY_LENGTH = 80

TRIGGER_KINDS = (
    "manual",
    "event",
    "form_submitted",
    "segment_entered",
    "segment_left",
    "stage_changed",
    "score_crossed",
    "date_property",
)
STEP_KINDS = (
    "wait",
    "send_email",
    "send_survey",
    "update_property",
    "branch",
    "exit",
    "add_to_list",
    "remove_from_list",
    "change_stage",
    "notify",
    "enrol_in_workflow",
    "split",
    "wait_until",
    "wait_for",
    "create_task",
    "webhook",
    "set_top_section",
    "adjust_score",
)
MAX_ADJUST_POINTS = 1000
WEEKDAYS = 7
MAX_OFFSET_DAYS = 3650
MAX_SECTIONS = 20
WEBHOOK_SECRET_LENGTH = 16
MAX_SPLIT_PATHS = 10
EMAIL_REACTIONS = ("opened", "clicked")


class DefinitionError(ApplicationError):
    status_code = 422


def _fail(message: str, path: str) -> DefinitionError:
    return DefinitionError(message, field=path)


def _only(data: dict, allowed: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(_("unknown key %(key)s") % {"key": repr(key)}, f"{path}.{key}")


def _text(data: dict, key: str, path: str, *, length: int = 200) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(_("expected a non-empty text"), f"{path}.{key}")
    if "\x00" in value or len(value) > length:
        raise _fail(
            _("expected a text of at most %(n)s characters, without NUL") % {"n": length},
            f"{path}.{key}",
        )
    return value.strip()


def _whole(data: dict, key: str, path: str, *, minimum: int, maximum: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(
            _("expected a whole number from %(low)s to %(high)s")
            % {"low": minimum, "high": maximum},
            f"{path}.{key}",
        )
    return value


class _Parser:
    def __init__(self, workspace: Workspace, *, check_references: bool):
        self.workspace = workspace
        self.check_references = check_references
        self.steps: dict[str, dict] = {}
        # the send_email and send_survey keys seen so far (for "on" branches)
        self.sends: set[str] = set()

    # -- conditions and references ------------------------------------------------------------

    def condition(self, definition: Any, path: str) -> Any:
        from volano.segments.resolver import SegmentResolver, definition_normalise

        if not isinstance(definition, dict | list) or not definition:
            raise _fail(_("expected a condition"), path)
        definition = definition_normalise(definition)
        try:
            condition_check(
                workspace=self.workspace,
                definition=definition,
                resolver=SegmentResolver(self.workspace),
            )
        except ConditionError as error:
            node = (error.field or "").removeprefix("conditions")
            raise _fail(error.message, path + node) from None
        return definition

    def reference(self, kind: str, slug: str, path: str) -> None:
        if not self.check_references:
            return
        from volano.emails.models import EmailTemplate
        from volano.segments.models import ContactList, Segment
        from volano.workflows.models import Workflow

        model: Any = {
            "template": EmailTemplate,
            "list": ContactList,
            "segment": Segment,
            "workflow": Workflow,
        }[kind]
        if not model.objects.for_workspace(self.workspace).filter(slug=slug).exists():
            messages = {
                "template": _("no email template %(slug)s in this workspace"),
                "list": _("no list %(slug)s in this workspace"),
                "segment": _("no segment %(slug)s in this workspace"),
                "workflow": _("no workflow %(slug)s in this workspace"),
            }
            raise _fail(messages[kind] % {"slug": repr(slug)}, path)

    def survey(self, step: dict, path: str) -> None:
        """A send_survey step's survey exists and takes answers; its template, when it has
        one, exists and carries that survey's link (`{{ survey_link('slug') }}`), or the email
        would ask for an answer with nothing to answer on."""
        if not self.check_references:
            return
        from volano.emails.models import EmailTemplate
        from volano.emails.templating.check import template_calls
        from volano.surveys.models import Survey

        survey = Survey.objects.for_workspace(self.workspace).filter(slug=step["survey"]).first()
        if survey is None:
            raise _fail(
                _("no survey %(slug)s in this workspace") % {"slug": repr(step["survey"])},
                f"{path}.survey",
            )
        if not survey.active:
            raise _fail(
                _("the survey %(slug)s does not accept answers") % {"slug": repr(survey.slug)},
                f"{path}.survey",
            )
        if "template" not in step:
            return
        self.reference("template", step["template"], f"{path}.template")
        template = EmailTemplate.objects.for_workspace(self.workspace).get(slug=step["template"])
        if [survey.slug] not in template_calls(template, "survey_link"):
            raise _fail(
                _(
                    "the template %(template)s carries no link to the survey: put "
                    "{{ survey_link('%(survey)s') }} in it, or leave the template out to send "
                    "the survey's own email"
                )
                % {"template": repr(template.slug), "survey": survey.slug},
                f"{path}.template",
            )

    # -- the trigger ----------------------------------------------------------------------------

    def trigger(self, data: Any) -> dict:
        path = "trigger"
        if not isinstance(data, dict):
            raise _fail(_("expected an object with a kind"), path)
        kind = data.get("kind")
        if kind not in TRIGGER_KINDS:
            raise _fail(
                _("unknown trigger %(kind)s; use one of: %(kinds)s")
                % {"kind": repr(kind), "kinds": ", ".join(TRIGGER_KINDS)},
                f"{path}.kind",
            )
        if kind == "manual":
            _only(data, ("kind",), path)
            return {"kind": kind}
        if kind == "event":
            _only(data, ("kind", "when"), path)
            return {"kind": kind, "when": self.condition(data.get("when"), f"{path}.when")}
        if kind == "form_submitted":
            _only(data, ("kind", "form"), path)
            form = data.get("form")
            if form is not None:
                form = _text(data, "form", path, length=80)
            return {"kind": kind, "form": form}
        if kind in ("segment_entered", "segment_left"):
            _only(data, ("kind", "segment"), path)
            slug = _text(data, "segment", path, length=80)
            self.reference("segment", slug, f"{path}.segment")
            return {"kind": kind, "segment": slug}
        if kind == "stage_changed":
            _only(data, ("kind", "stage"), path)
            stage = _text(data, "stage", path, length=20)
            self.condition(
                {"field": "lifecycle_stage", "op": "eq", "value": stage}, f"{path}.stage"
            )
            return {"kind": kind, "stage": stage}
        if kind == "date_property":
            _only(data, ("kind", "field", "offset_days"), path)
            field = self.date_field(data, path)
            offset = (
                _whole(data, "offset_days", path, minimum=-MAX_OFFSET_DAYS, maximum=MAX_OFFSET_DAYS)
                if "offset_days" in data
                else 0
            )
            return {"kind": kind, "field": field, "offset_days": offset}
        _only(data, ("kind", "model", "threshold"), path)
        model = _text(data, "model", path, length=80)
        threshold = data.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise _fail(_("expected a number"), f"{path}.threshold")
        self.condition(
            {"field": f"score.{model}", "op": "gte", "value": threshold}, f"{path}.model"
        )
        return {"kind": kind, "model": model, "threshold": threshold}

    def date_field(self, data: dict, path: str) -> str:
        """A date or datetime field of the contact (`custom.<key>` or a contact field)."""
        field = _text(data, "field", path, length=120)
        # only date fields take a relative day operator: the condition language says which
        self.condition({"field": field, "op": "within_last_days", "value": 1}, f"{path}.field")
        return field

    def time_of_day(self, data: dict, path: str) -> str:
        value = data.get("time", "09:00")
        try:
            hours, minutes = (int(part) for part in str(value).split(":"))
        except ValueError:
            hours = minutes = -1
        if not (0 <= hours < 24 and 0 <= minutes < 60) or len(str(value)) != 5:
            raise _fail(_("expected a time of day as HH:MM"), f"{path}.time")
        return str(value)

    def timeout(self, data: dict, path: str) -> int:
        if ("timeout_minutes" in data) == ("timeout_days" in data):
            raise _fail(
                _("waiting for an event needs a timeout: timeout_days or timeout_minutes"), path
            )
        if "timeout_days" in data:
            return 24 * 60 * _whole(data, "timeout_days", path, minimum=1, maximum=MAX_WAIT_DAYS)
        return _whole(data, "timeout_minutes", path, minimum=1, maximum=MAX_WAIT_DAYS * 24 * 60)

    # -- steps ----------------------------------------------------------------------------------

    def sequence(self, items: Any, path: str, after: str | None, depth: int) -> str | None:
        """Parse a list of steps that continue to `after`; returns the first key (or `after`
        for an empty list)."""
        if depth > MAX_DEPTH:
            raise _fail(_("branches are nested more than %(n)s deep") % {"n": MAX_DEPTH}, path)
        if not isinstance(items, list):
            raise _fail(_("expected a list of steps"), path)
        keys: list[str] = []
        parsed: list[tuple[str, dict, str]] = []
        for index, item in enumerate(items):
            step_path = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise _fail(_("expected a step object"), step_path)
            key = _text(item, "key", step_path, length=KEY_LENGTH)
            if key in self.steps or key in keys:
                raise _fail(_("the key %(key)s is used twice") % {"key": repr(key)}, step_path)
            if len(self.steps) + len(keys) >= MAX_STEPS:
                raise _fail(_("more than %(n)s steps") % {"n": MAX_STEPS}, step_path)
            keys.append(key)
            self.steps[key] = {}  # reserved: nested keys may not reuse it
            parsed.append((key, item, step_path))
        for position, (key, item, step_path) in enumerate(parsed):
            following = keys[position + 1] if position + 1 < len(keys) else after
            self.steps[key] = self.step(key, item, step_path, following, depth)
        return keys[0] if keys else after

    def step(self, key: str, data: dict, path: str, following: str | None, depth: int) -> dict:
        kind = data.get("kind")
        if kind not in STEP_KINDS:
            raise _fail(
                _("unknown step kind %(kind)s; use one of: %(kinds)s")
                % {"kind": repr(kind), "kinds": ", ".join(STEP_KINDS)},
                f"{path}.kind",
            )
        step: dict[str, Any] = {"kind": kind, "path": path, "next": following}
        if kind == "wait":
            _only(data, ("key", "kind", "minutes", "days"), path)
            if ("minutes" in data) == ("days" in data):
                raise _fail(_("a wait needs either minutes or days"), path)
            if "days" in data:
                days = _whole(data, "days", path, minimum=0, maximum=MAX_WAIT_DAYS)
                step["minutes"] = days * 24 * 60
            else:
                step["minutes"] = _whole(
                    data, "minutes", path, minimum=0, maximum=MAX_WAIT_DAYS * 24 * 60
                )
        elif kind == "send_email":
            _only(data, ("key", "kind", "template", "subject"), path)
            step["template"] = _text(data, "template", path, length=80)
            self.reference("template", step["template"], f"{path}.template")
            if "subject" in data:
                step["subject"] = _text(data, "subject", path, length=300)
            self.sends.add(key)
        elif kind == "send_survey":
            _only(data, ("key", "kind", "survey", "template"), path)
            step["survey"] = _text(data, "survey", path, length=60)
            if "template" in data:
                step["template"] = _text(data, "template", path, length=80)
            self.survey(step, path)
            self.sends.add(key)
        elif kind == "update_property":
            _only(data, ("key", "kind", "field", "value"), path)
            field = _text(data, "field", path, length=120)
            if "value" not in data:
                raise _fail(_("an update needs a value"), f"{path}.value")
            from volano.contacts.services import contact_field_check
            from volano.core.errors import ValidationFailed

            try:
                contact_field_check(workspace=self.workspace, field=field, value=data["value"])
            except ValidationFailed as error:
                raise _fail(error.message, f"{path}.field") from None
            step["field"], step["value"] = field, data["value"]
        elif kind == "branch":
            _only(data, ("key", "kind", "when", "on", "then", "else"), path)
            if ("when" in data) == ("on" in data):
                raise _fail(_("a branch needs either a condition (when) or on"), path)
            if "else" not in data:
                raise _fail(_("a branch needs a default path (else, may be empty)"), path)
            if "when" in data:
                step["when"] = self.condition(data["when"], f"{path}.when")
            else:
                step["on"] = self.email_reaction(data["on"], f"{path}.on")
            step["then"] = self.sequence(data.get("then", []), f"{path}.then", following, depth + 1)
            step["else"] = self.sequence(data["else"], f"{path}.else", following, depth + 1)
        elif kind == "split":
            _only(data, ("key", "kind", "paths", "weights"), path)
            paths = data.get("paths")
            if not isinstance(paths, list) or not 2 <= len(paths) <= MAX_SPLIT_PATHS:
                raise _fail(
                    _("a split needs from 2 to %(n)s paths (lists of steps)")
                    % {"n": MAX_SPLIT_PATHS},
                    f"{path}.paths",
                )
            weights = data.get("weights", [1] * len(paths))
            if (
                not isinstance(weights, list)
                or len(weights) != len(paths)
                or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in weights)
            ):
                raise _fail(
                    _("weights: one whole number of at least 1 per path"), f"{path}.weights"
                )
            step["weights"] = weights
            step["paths"] = [
                self.sequence(items, f"{path}.paths[{index}]", following, depth + 1)
                for index, items in enumerate(paths)
            ]
        elif kind == "wait_until":
            _only(data, ("key", "kind", "weekdays", "time", "field", "offset_days"), path)
            step["time"] = self.time_of_day(data, path)
            if "field" in data:
                if "weekdays" in data:
                    raise _fail(_("wait until either weekdays or a date field"), path)
                step["field"] = self.date_field(data, path)
                step["offset_days"] = (
                    _whole(
                        data, "offset_days", path,
                        minimum=-MAX_OFFSET_DAYS, maximum=MAX_OFFSET_DAYS,
                    )
                    if "offset_days" in data
                    else 0
                )  # fmt: skip
            else:
                weekdays = data.get("weekdays", list(range(WEEKDAYS)))
                if (
                    not isinstance(weekdays, list)
                    or not weekdays
                    or any(
                        isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < WEEKDAYS
                        for d in weekdays
                    )
                ):
                    raise _fail(
                        _("weekdays: a list of days from 0 (Monday) to 6 (Sunday)"),
                        f"{path}.weekdays",
                    )
                step["weekdays"] = sorted(set(weekdays))
        elif kind == "wait_for":
            _only(
                data,
                ("key", "kind", "on", "event", "when", "timeout_days", "timeout_minutes",
                 "then", "else"),
                path,
            )  # fmt: skip
            if sum(name in data for name in ("on", "event", "when")) != 1:
                raise _fail(
                    _("wait for one thing: on (an email of this workflow), event or when"), path
                )
            if "on" in data:
                step["on"] = self.email_reaction(data["on"], f"{path}.on")
            elif "event" in data:
                if not isinstance(data["event"], dict) or "event" not in data["event"]:
                    raise _fail(
                        _('expected an event condition ({"event": type, …})'), f"{path}.event"
                    )
                step["event"] = self.condition(data["event"], f"{path}.event")
            else:
                step["when"] = self.condition(data["when"], f"{path}.when")
            step["timeout_minutes"] = self.timeout(data, path)
            if "else" not in data:
                raise _fail(_("waiting for an event needs the timeout's path (else)"), path)
            step["then"] = self.sequence(data.get("then", []), f"{path}.then", following, depth + 1)
            step["else"] = self.sequence(data["else"], f"{path}.else", following, depth + 1)
        elif kind == "create_task":
            _only(data, ("key", "kind", "to", "title", "body", "due_days"), path)
            step["to"] = self.member(data, path)
            step["title"] = _text(data, "title", path)
            step["body"] = data.get("body") and _text(data, "body", path, length=2000)
            step["due_days"] = (
                _whole(data, "due_days", path, minimum=0, maximum=365)
                if "due_days" in data
                else None
            )
        elif kind == "webhook":
            _only(data, ("key", "kind", "url", "secret", "payload"), path)
            url = _text(data, "url", path, length=500)
            if not url.startswith(("https://", "http://")) or " " in url:
                raise _fail(_("expected an http(s) address"), f"{path}.url")
            secret = data.get("secret")
            if not isinstance(secret, str) or len(secret) < WEBHOOK_SECRET_LENGTH:
                raise _fail(
                    _("expected a signing secret of at least %(n)s characters")
                    % {"n": WEBHOOK_SECRET_LENGTH},
                    f"{path}.secret",
                )
            payload = data.get("payload", {})
            if not isinstance(payload, dict):
                raise _fail(_("expected an object"), f"{path}.payload")
            step["url"], step["secret"], step["payload"] = url, secret, payload
        elif kind == "set_top_section":
            _only(data, ("key", "kind", "field", "sections", "default", "within_days"), path)
            field = _text(data, "field", path, length=120)
            if not field.startswith("custom."):
                raise _fail(_("expected a custom field (custom.<key>)"), f"{path}.field")
            if self.check_references:
                from volano.contacts.services import contact_field_check
                from volano.core.errors import ValidationFailed

                try:
                    contact_field_check(workspace=self.workspace, field=field, value="x")
                except ValidationFailed as error:
                    raise _fail(error.message, f"{path}.field") from None
            sections = data.get("sections")
            if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
                raise _fail(
                    _("from 1 to %(n)s sections, each with url_contains and value")
                    % {"n": MAX_SECTIONS},
                    f"{path}.sections",
                )
            clean = []
            for index, section in enumerate(sections):
                where = f"{path}.sections[{index}]"
                if not isinstance(section, dict):
                    raise _fail(_("expected an object with url_contains and value"), where)
                _only(section, ("url_contains", "value"), where)
                clean.append(
                    {
                        "url_contains": _text(section, "url_contains", where).lower(),
                        "value": _text(section, "value", where, length=500),
                    }
                )
            step["field"], step["sections"] = field, clean
            step["default"] = data.get("default") and _text(data, "default", path, length=500)
            step["within_days"] = (
                _whole(data, "within_days", path, minimum=1, maximum=3650)
                if "within_days" in data
                else 30
            )
        elif kind == "adjust_score":
            _only(data, ("key", "kind", "model", "points"), path)
            step["model"] = _text(data, "model", path, length=80)
            points = data.get("points")
            if (
                isinstance(points, bool)
                or not isinstance(points, int | float)
                or not points
                or abs(points) > MAX_ADJUST_POINTS
            ):
                raise _fail(
                    _("expected points other than 0, from −%(n)s to %(n)s")
                    % {"n": MAX_ADJUST_POINTS},
                    f"{path}.points",
                )
            step["points"] = points
            if self.check_references:
                from volano.scoring.models import ModelKind, ScoreModel

                if (
                    not ScoreModel.objects.for_workspace(self.workspace)
                    .filter(slug=step["model"], kind=ModelKind.RULES)
                    .exists()
                ):
                    raise _fail(
                        _("no rules score model %(slug)s in this workspace")
                        % {"slug": repr(step["model"])},
                        f"{path}.model",
                    )
        elif kind == "exit":
            _only(data, ("key", "kind", "reason"), path)
            step["reason"] = data.get("reason") and _text(data, "reason", path)
            step["next"] = None
        elif kind in ("add_to_list", "remove_from_list"):
            _only(data, ("key", "kind", "list"), path)
            step["list"] = _text(data, "list", path, length=80)
            self.reference("list", step["list"], f"{path}.list")
        elif kind == "change_stage":
            _only(data, ("key", "kind", "stage"), path)
            step["stage"] = _text(data, "stage", path, length=20)
            self.condition(
                {"field": "lifecycle_stage", "op": "eq", "value": step["stage"]}, f"{path}.stage"
            )
        elif kind == "notify":
            _only(data, ("key", "kind", "to", "title", "body"), path)
            step["to"] = self.member(data, path)
            step["title"] = _text(data, "title", path)
            step["body"] = data.get("body") and _text(data, "body", path, length=2000)
        elif kind == "enrol_in_workflow":
            _only(data, ("key", "kind", "workflow"), path)
            step["workflow"] = _text(data, "workflow", path, length=80)
            self.reference("workflow", step["workflow"], f"{path}.workflow")
        return step

    def member(self, data: dict, path: str) -> str:
        to = data.get("to", "owner")
        if not isinstance(to, str) or not to.strip():
            raise _fail(_("expected owner or a member's email"), f"{path}.to")
        to = to.strip().lower()
        if to != "owner" and self.check_references:
            from volano.core.models import Membership

            if not Membership.objects.filter(
                workspace=self.workspace, user__email__iexact=to
            ).exists():
                raise _fail(_("not a member of this workspace"), f"{path}.to")
        return to

    def email_reaction(self, data: Any, path: str) -> dict:
        """`{"step": k | "steps": [k, …], "did": "opened" | "clicked"}`: what the contact did
        with the email of an earlier send step of this workflow."""
        if not isinstance(data, dict):
            raise _fail(_("expected an object with step(s) and did"), path)
        _only(data, ("step", "steps", "did"), path)
        steps = data.get("steps", [data.get("step")] if "step" in data else None)
        if not isinstance(steps, list) or not steps:
            raise _fail(_("name the send step(s) of this workflow"), f"{path}.steps")
        for index, key in enumerate(steps):
            if key not in self.sends:
                raise _fail(
                    _("%(key)s is not an earlier send_email step of this workflow")
                    % {"key": repr(key)},
                    f"{path}.steps[{index}]",
                )
        did = data.get("did")
        if did not in EMAIL_REACTIONS:
            raise _fail(_("use opened or clicked"), f"{path}.did")
        return {"steps": steps, "did": did}


def definition_parse(
    definition: Any, *, workspace: Workspace, check_references: bool = True
) -> dict:
    """The normalised graph of a definition, or DefinitionError naming the bad node.
    `check_references` False accepts a draft whose templates or lists do not exist yet;
    publishing always checks them."""
    if not isinstance(definition, dict):
        raise _fail(_("expected an object with name, trigger and steps"), "definition")
    _only(
        definition,
        ("name", "trigger", "steps", "goal", "category", "suppress_while_in"),
        "definition",
    )
    _text(definition, "name", "definition")
    category = ""
    if definition.get("category") is not None:
        category = _slug(definition.get("category"), "category")
    suppress = definition.get("suppress_while_in", [])
    if not isinstance(suppress, list) or len(suppress) > 20:
        raise _fail(_("expected a list of workflow categories"), "suppress_while_in")
    suppress = [_slug(item, f"suppress_while_in[{i}]") for i, item in enumerate(suppress)]
    parser = _Parser(workspace, check_references=check_references)
    trigger = parser.trigger(definition.get("trigger"))
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _fail(_("a workflow needs at least one step"), "steps")
    start = parser.sequence(steps, "steps", None, 1)
    goal = None
    if definition.get("goal") is not None:
        goal = parser.condition(definition["goal"], "goal")
    _reachable_check(start, parser.steps)
    return {
        "start": start,
        "trigger": trigger,
        "goal": goal,
        "steps": parser.steps,
        "category": category,
        "suppress_while_in": suppress,
    }


def _slug(value: Any, path: str) -> str:
    from django.utils.text import slugify

    if (
        not isinstance(value, str)
        or not value.strip()
        or slugify(value) != value
        or len(value) > 40
    ):
        raise _fail(_("expected a short slug (lower-case letters, digits, dashes)"), path)
    return value


def _reachable_check(start: str | None, steps: dict[str, dict]) -> None:
    """Every step can be reached from the first (a step listed after an exit cannot)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        key = todo.pop()
        if key is None or key in seen:
            continue
        seen.add(key)
        step = steps[key]
        todo.extend([step.get("next"), step.get("then"), step.get("else"), *step.get("paths", [])])
    for key, step in steps.items():
        if key not in seen:
            raise _fail(
                _("the step %(key)s can never be reached (it follows an exit)")
                % {"key": repr(key)},
                step["path"],
            )


def graph_order(graph: dict) -> list[str]:
    """The step keys in the order the definition lists them (branches after their parent)."""
    return sorted(graph["steps"], key=lambda key: _path_key(graph["steps"][key]["path"]))


def _path_key(path: str) -> list:
    parts: list = []
    for piece in path.replace("]", "").split("["):
        for part in piece.split("."):
            if part:
                # a branch's "then" path before its "else" path
                order = {"then": "0", "else": "1"}.get(part, part)
                parts.append((0, int(part)) if part.isdigit() else (1, order))
    return parts
