"""Assignment rules: a territory and product lines, and the reps who take its leads in turn.
Saving validates everything at once; a change is recorded in the activity trail."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from volano.core import geography
from volano.core.activity import activity_record, changes_between
from volano.core.errors import NotFound, ValidationFailed
from volano.core.models import Membership, User, Workspace
from volano.deals.models import ProductLine
from volano.handoff.models import AssignmentRule
from volano.handoff.services.common import REP_ROLES, editor_check, members

CAP_RANGE_RE = re.compile(r"^(\d{5})(?:\s*-\s*(\d{5}))?$")
RULE_FIELDS = (
    "name",
    "regions",
    "provinces",
    "cap_ranges",
    "product_lines",
    "reps",
    "position",
    "active",
)


def _text_list(value: Any, field: str, errors: list[dict]) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[,;\n]", value)]
    if not isinstance(value, list):
        errors.append({"field": field, "message": "expected a list"})
        return []
    return [str(item).strip() for item in value if str(item).strip()]


def cap_range_parse(text: str) -> tuple[str, str] | None:
    """ "20100-20199" → ("20100", "20199"); "20121" → ("20121", "20121"); None if malformed."""
    match = CAP_RANGE_RE.match(text.strip())
    if match is None:
        return None
    low, high = match.group(1), match.group(2) or match.group(1)
    return (low, high) if low <= high else None


def _reps_resolve(
    workspace: Workspace, raw: Any, errors: list[dict]
) -> tuple[list[int], list[Membership]]:
    if not isinstance(raw, list) or not raw:
        errors.append({"field": "reps", "message": "choose at least one sales rep"})
        return [], []
    everyone = members(workspace)
    by_id = {m.user_id: m for m in everyone}
    by_email = {m.user.email.lower(): m for m in everyone}
    ids: list[int] = []
    chosen: list[Membership] = []
    for item in raw:
        membership = None
        if isinstance(item, int) and not isinstance(item, bool):
            membership = by_id.get(item)
        elif isinstance(item, str) and item.strip().isdecimal():  # not "³": int() refuses it
            membership = by_id.get(int(item.strip()))
        elif isinstance(item, str):
            membership = by_email.get(item.strip().lower())
        if membership is None:
            errors.append(
                {"field": "reps", "message": f"{item!r} is not a member of this workspace"}
            )
        elif membership.role not in REP_ROLES:
            errors.append(
                {
                    "field": "reps",
                    "message": f"{membership.user.email} is a {membership.role}: "
                    "only sales reps and administrators take leads",
                }
            )
        elif membership.user_id not in ids:
            ids.append(membership.user_id)
            chosen.append(membership)
    return ids, chosen


def assignment_rule_save(
    *, workspace: Workspace, actor: User | None, data: dict, rule: AssignmentRule | None = None
) -> tuple[AssignmentRule, list[dict]]:
    """Create (or replace, with `rule`) an assignment rule. Every error is reported at once and
    nothing is saved then; the warnings (overlaps, reps without the product line) do not stop it."""
    editor_check(workspace, actor)
    if rule is not None and rule.workspace_id != workspace.pk:
        raise NotFound("no such rule")
    errors: list[dict] = []
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append({"field": "name", "message": "is required"})
    elif len(name) > 120:
        errors.append({"field": "name", "message": "at most 120 characters"})
    else:
        clash = AssignmentRule.objects.for_workspace(workspace).filter(name__iexact=name)
        if rule is not None:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            errors.append({"field": "name", "message": f"another rule is called {name!r}"})

    regions = []
    for text in _text_list(data.get("regions"), "regions", errors):
        if region := geography.region_name(text):
            regions.append(region)
        else:
            errors.append({"field": "regions", "message": f"{text!r} is not an Italian region"})
    provinces = []
    for text in _text_list(data.get("provinces"), "provinces", errors):
        code = text.upper()
        if code in geography.provinces():
            provinces.append(code)
        else:
            errors.append(
                {
                    "field": "provinces",
                    "message": f"{text!r} is not an Italian province code (e.g. MI, BG)",
                }
            )
    cap_ranges = []
    for text in _text_list(data.get("cap_ranges"), "cap_ranges", errors):
        parsed = cap_range_parse(text)
        if parsed is None:
            errors.append(
                {
                    "field": "cap_ranges",
                    "message": f"{text!r} is not a CAP or a range of CAPs "
                    "(5 digits, e.g. 20121 or 20100-20199, the lower first)",
                }
            )
        else:
            low, high = parsed
            cap_ranges.append(low if low == high else f"{low}-{high}")
    known_lines = set(ProductLine.objects.for_workspace(workspace).values_list("slug", flat=True))
    product_lines = []
    for slug in _text_list(data.get("product_lines"), "product_lines", errors):
        if slug in known_lines:
            product_lines.append(slug)
        else:
            errors.append(
                {
                    "field": "product_lines",
                    "message": f"{slug!r} is not a product line of this workspace"
                    + (f" (there are: {', '.join(sorted(known_lines))})" if known_lines else ""),
                }
            )
    reps, _memberships = _reps_resolve(workspace, data.get("reps"), errors)

    position = data.get("position")
    if position in (None, ""):
        position = (
            rule.position
            if rule is not None
            else AssignmentRule.objects.for_workspace(workspace).count()
        )
    elif isinstance(position, str) and position.strip().isdecimal():
        position = int(position)
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        errors.append({"field": "position", "message": "expected a whole number ≥ 0"})
    if errors:
        raise ValidationFailed(errors)

    values = {
        "name": name,
        "regions": sorted(set(regions), key=regions.index),
        "provinces": sorted(set(provinces), key=provinces.index),
        "cap_ranges": sorted(set(cap_ranges), key=cap_ranges.index),
        "product_lines": sorted(set(product_lines), key=product_lines.index),
        "reps": reps,
        "position": position,
        "active": bool(data.get("active", True)),
    }
    with transaction.atomic():
        if rule is None:
            rule = AssignmentRule.objects.create(workspace=workspace, **values)
            changes = changes_between({}, values)
        else:
            before = {field: getattr(rule, field) for field in RULE_FIELDS}
            if rule.reps != reps:
                values["next_index"] = 0
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
            changes = changes_between(before, {f: values[f] for f in RULE_FIELDS})
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="assignment_rule.save",
            obj=rule,
            changes=changes,
        )
    from volano.handoff.selectors import assignment_rule_warnings

    return rule, assignment_rule_warnings(workspace=workspace, rule=rule)


def assignment_rule_delete(
    *, workspace: Workspace, actor: User | None, rule: AssignmentRule
) -> None:
    """Delete a rule; the assignments it made stay (their rule becomes empty)."""
    editor_check(workspace, actor)
    if rule.workspace_id != workspace.pk:
        raise NotFound("no such rule")
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="assignment_rule.delete",
            obj=rule,
            changes={"name": [rule.name, None]},
        )
        rule.delete()
