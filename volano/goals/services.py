"""Goals' writes: create, change and delete a SMART goal. Each checks what it is given and says
what is wrong in words, naming the field; each leaves an activity row."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.core.activity import activity_record, changes_between
from volano.core.errors import PermissionDenied, ValidationFailed
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows
from volano.core.tenancy import ensure_in_workspace
from volano.goals import metrics
from volano.goals.models import Goal, GoalScope

GOAL_FIELDS = (
    "name",
    "metric",
    "target",
    "start_on",
    "deadline",
    "start_value",
    "owner",
    "notes",
    "shared",
    "scope",
)
MAX_DAYS = 3700  # ten years and a bit: a longer goal is a typo
MAX_AMOUNT = Decimal("999999999999.99")
THOUSANDS = re.compile(r"-?\d{1,3}(\.\d{3})+")


def _editor_check(workspace: Workspace, actor: User | None) -> None:
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied(_("only administrators and marketers set goals"))


def number_parse(raw: Any) -> Decimal | None:
    """A number as typed in either language ("1.234,5", "1234.5", "€ 1 234"), or None."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        value = Decimal(str(raw))
    else:
        text = str(raw).strip().replace(" ", "").replace("\u00a0", "").replace("€", "")
        text = text.replace("%", "")
        if "," in text or THOUSANDS.fullmatch(text):  # "1.234,5" or "1.200": Italian
            text = text.replace(".", "").replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
    return value if value.is_finite() else None


def _flag(raw: Any) -> bool:
    """A checkbox or a JSON boolean: "on", "1", "true", True."""
    if isinstance(raw, str):
        return raw.strip().lower() in ("on", "1", "true", "yes", "sì", "si")
    return bool(raw)


def _date(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


def _owner(workspace: Workspace, raw: Any, errors: list[dict]) -> User | None:
    if raw in (None, ""):
        errors.append({"field": "owner", "message": _("a goal needs an owner: choose a member")})
        return None
    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    if isinstance(raw, User):
        found = memberships.filter(user=raw).first()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        found = memberships.filter(user_id=raw).first()
    elif isinstance(raw, str) and raw.strip().isdecimal():
        found = memberships.filter(user_id=int(raw.strip())).first()
    elif isinstance(raw, str):
        found = memberships.filter(user__email__iexact=raw.strip()).first()
    else:
        found = None
    if found is None:
        errors.append(
            {
                "field": "owner",
                "message": _("%(owner)s is not a member of this workspace") % {"owner": repr(raw)},
            }
        )
        return None
    return found.user


def _metric_names() -> str:
    return ", ".join(f"{key} ({metric.label})" for key, metric in metrics.METRICS.items())


def _clean(workspace: Workspace, data: dict, goal: Goal | None) -> dict[str, Any]:
    """The fields of `data` checked and converted; for an update only those given."""
    errors: list[dict] = []
    current = goal or Goal(workspace=workspace)
    clean: dict[str, Any] = {}

    def given(name: str) -> bool:
        return goal is None or name in data

    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append({"field": "name", "message": _("a goal needs a name")})
        elif len(name) > 200:
            errors.append({"field": "name", "message": _("the name may be at most 200 characters")})
        clean["name"] = name
    if given("metric"):
        key = str(data.get("metric") or "").strip()
        if key not in metrics.METRICS:
            errors.append(
                {
                    "field": "metric",
                    "message": _(
                        "“%(value)s” is not a metric Volano measures; choose one of: %(choices)s"
                    )
                    % {"value": key, "choices": _metric_names()},
                }
            )
        clean["metric"] = key
    for name, label in (("start_on", _("the start")), ("deadline", _("the deadline"))):
        if given(name):
            day = _date(data.get(name))
            if day is None:
                errors.append(
                    {
                        "field": name,
                        "message": _("%(what)s must be a date as YYYY-MM-DD (given “%(value)s”)")
                        % {"what": label, "value": data.get(name) or ""},
                    }
                )
            clean[name] = day
    start = clean.get("start_on", current.start_on)
    deadline = clean.get("deadline", current.deadline)
    if start and deadline:
        if deadline <= start:
            errors.append(
                {
                    "field": "deadline",
                    "message": _(
                        "the deadline (%(deadline)s) must come after the start (%(start)s)"
                    )
                    % {"deadline": deadline.isoformat(), "start": start.isoformat()},
                }
            )
        elif (deadline - start).days > MAX_DAYS:
            errors.append({"field": "deadline", "message": _("a goal may last at most ten years")})
    metric = metrics.METRICS.get(clean.get("metric", current.metric))
    if given("target") or (goal is not None and "metric" in data):
        raw = data.get("target", current.target if goal is not None else None)
        target = number_parse(raw)
        if target is None:
            errors.append(
                {
                    "field": "target",
                    "message": _("the target must be a number (given “%(value)s”)")
                    % {"value": "" if raw is None else raw},
                }
            )
        elif metric is not None:
            what = metric.label
            if target <= 0:
                errors.append(
                    {
                        "field": "target",
                        "message": _("the target of “%(metric)s” must be more than 0")
                        % {"metric": what},
                    }
                )
            elif metric.unit == "count" and target != target.to_integral_value():
                errors.append(
                    {
                        "field": "target",
                        "message": _("“%(metric)s” is a count: the target must be a whole number")
                        % {"metric": what},
                    }
                )
            elif metric.unit == "percent" and target > 100:
                errors.append(
                    {
                        "field": "target",
                        "message": _("“%(metric)s” is a percentage: the target must be 100 at most")
                        % {"metric": what},
                    }
                )
            elif target > MAX_AMOUNT:
                errors.append({"field": "target", "message": _("the target is too large")})
        clean["target"] = target
    if given("start_value"):
        raw = data.get("start_value")
        if raw in (None, ""):
            clean["start_value"] = None
        else:
            value = number_parse(raw)
            if value is None or value < 0 or value > MAX_AMOUNT:
                errors.append(
                    {
                        "field": "start_value",
                        "message": _("the starting value must be a number of 0 or more"),
                    }
                )
            elif metric is not None and metric.kind == "total" and value != 0:
                errors.append(
                    {
                        "field": "start_value",
                        "message": _(
                            "“%(metric)s” is a total counted from the start: it starts at 0"
                        )
                        % {"metric": metric.label},
                    }
                )
            clean["start_value"] = value
    if given("owner"):
        clean["owner"] = _owner(workspace, data.get("owner"), errors)
    if given("notes"):
        clean["notes"] = str(data.get("notes") or "").strip()[:5000]
    if given("shared"):
        clean["shared"] = _flag(data.get("shared"))
    if given("scope"):
        raw = data.get("scope")
        scope = str(raw or GoalScope.TEAM).strip().lower()
        if scope not in GoalScope.values:
            errors.append(
                {
                    "field": "scope",
                    "message": _(
                        "“%(value)s” is not a scope: “team” counts everyone's figures, "
                        "“owner” only the owner's contacts and deals"
                    )
                    % {"value": raw},
                }
            )
        clean["scope"] = scope
    scope = clean.get("scope", current.scope if goal is not None else GoalScope.TEAM)
    if scope == GoalScope.OWNER and metric is not None and not metric.per_owner:
        errors.append(
            {
                "field": "scope",
                "message": _(
                    "“%(metric)s” is the whole team's (it has no owner): count it for the "
                    "whole team"
                )
                % {"metric": metric.label},
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return clean


def _measured_start(workspace: Workspace, goal: Goal) -> Decimal | None:
    """A rate's value over as many days just before the goal's start: where its line begins."""
    metric = metrics.METRICS[goal.metric]
    if metric.kind == "total":
        return None
    length = goal.deadline - goal.start_on
    value = metrics.metric_value(
        workspace,
        metric,
        goal.start_on - length - dt.timedelta(days=1),
        goal.start_on - dt.timedelta(days=1),
        goal.counted_for,
    )
    return None if value is None else Decimal(str(round(value, 2)))


def _snapshot(goal: Goal) -> dict[str, Any]:
    return {name: getattr(goal, "owner_id" if name == "owner" else name) for name in GOAL_FIELDS}


def goal_create(*, workspace: Workspace, actor: User | None, data: dict) -> Goal:
    """A goal from `data` (name, metric, target, start_on, deadline, owner; start_value and
    notes optional). A rate's starting value, when not given, is measured before the start."""
    _editor_check(workspace, actor)
    clean = _clean(workspace, data, None)
    goal = Goal(workspace=workspace, created_by=actor, **clean)
    if goal.start_value is None:
        goal.start_value = _measured_start(workspace, goal)
    with transaction.atomic():
        goal.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="goals.goal_created",
            obj=goal,
            changes=changes_between({}, _snapshot(goal)),
        )
    return goal


def goal_update(*, workspace: Workspace, actor: User | None, goal: Goal, data: dict) -> Goal:
    """Change the fields given in `data`. A rate whose metric or start moved, and whose starting
    value is not given, has it measured again."""
    _editor_check(workspace, actor)
    ensure_in_workspace(goal, workspace)
    before = _snapshot(goal)
    clean = _clean(workspace, data, goal)
    for name, value in clean.items():
        setattr(goal, name, value)
    moved = any(clean.get(k, before[k]) != before[k] for k in ("metric", "start_on", "deadline"))
    if "start_value" not in data and moved:
        goal.start_value = _measured_start(workspace, goal)
    goal.updated_at = timezone.now()
    with transaction.atomic():
        goal.save()
        changes = changes_between(before, _snapshot(goal))
        if changes:
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="goals.goal_updated",
                obj=goal,
                changes=changes,
            )
    return goal


def goal_delete(*, workspace: Workspace, actor: User | None, goal: Goal) -> None:
    _editor_check(workspace, actor)
    ensure_in_workspace(goal, workspace)
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="goals.goal_deleted",
            obj=goal,
            changes={"name": [goal.name, None]},
        )
        goal.delete()
