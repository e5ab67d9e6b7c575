"""The workspace's hand-off settings: the fallback owner, the acceptance SLA and the working
day it is counted in. A change is recorded in the activity trail."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from volano.core.activity import activity_record, changes_between
from volano.core.errors import ValidationFailed
from volano.core.models import Role, User, Workspace
from volano.handoff.models import HandoffSettings
from volano.handoff.services.common import editor_check, members


def handoff_settings_get(*, workspace: Workspace) -> HandoffSettings:
    """The workspace's hand-off settings, created with the defaults on first use."""
    found = (
        HandoffSettings.objects.for_workspace(workspace).select_related("fallback_owner").first()
    )
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return HandoffSettings.objects.create(workspace=workspace)
    except IntegrityError:  # created by someone else in the meantime
        return HandoffSettings.objects.for_workspace(workspace).get()


def handoff_settings_save(
    *, workspace: Workspace, actor: User | None, data: dict
) -> HandoffSettings:
    """Fallback owner (a member's id or email, or empty for none), SLA hours (1–240) and working
    hours (start < end, 0–24). Every problem is reported at once."""
    editor_check(workspace, actor)
    current = handoff_settings_get(workspace=workspace)
    errors: list[dict] = []
    fallback_owner = current.fallback_owner
    if "fallback_owner" in data:
        raw = data["fallback_owner"]
        if raw in (None, "", 0):
            fallback_owner = None
        else:
            everyone = members(workspace)
            found = next(
                (
                    m
                    for m in everyone
                    if str(m.user_id) == str(raw).strip()
                    or m.user.email.lower() == str(raw).strip().lower()
                ),
                None,
            )
            if found is None:
                errors.append(
                    {
                        "field": "fallback_owner",
                        "message": f"{raw!r} is not a member of this workspace",
                    }
                )
            elif found.role == Role.VIEWER:
                errors.append(
                    {
                        "field": "fallback_owner",
                        "message": f"{found.user.email} is a viewer and cannot take leads",
                    }
                )
            else:
                fallback_owner = found.user
    numbers: dict[str, int] = {}
    limits = {"sla_hours": (1, 240), "work_start": (0, 23), "work_end": (1, 24)}
    for field, (low, high) in limits.items():
        raw = data.get(field, getattr(current, field))
        try:
            value = int(raw)
            if isinstance(raw, bool) or str(value) != str(raw).strip():
                raise ValueError
        except (TypeError, ValueError):
            errors.append({"field": field, "message": "expected a whole number"})
            continue
        if not low <= value <= high:
            errors.append({"field": field, "message": f"expected a number from {low} to {high}"})
            continue
        numbers[field] = value
    if (
        "work_start" in numbers
        and "work_end" in numbers
        and numbers["work_start"] >= numbers["work_end"]
    ):
        errors.append({"field": "work_end", "message": "the working day must end after it starts"})
    if errors:
        raise ValidationFailed(errors)
    before = {
        "fallback_owner": current.fallback_owner.email if current.fallback_owner else None,
        **{field: getattr(current, field) for field in numbers},
    }
    current.fallback_owner = fallback_owner
    for field, value in numbers.items():
        setattr(current, field, value)
    after = {"fallback_owner": fallback_owner.email if fallback_owner else None, **numbers}
    with transaction.atomic():
        current.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="handoff_settings.save",
            obj=current,
            changes=changes_between(before, after),
        )
    return current
