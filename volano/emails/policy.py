"""The workspace's sending policy (frequency cap, quiet hours): read, save, and the two
questions the claim asks of it — "is it quiet now, and until when?" and "since when do sent
messages count towards the cap?". docs/emails.md ("Sending policy")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.core.activity import activity_record, changes_between
from volano.core.errors import PermissionDenied, ValidationFailed
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows
from volano.emails.models import EmailPolicy

CAP_MESSAGES_MAX = 100
CAP_DAYS_MAX = 365
FIELDS = ("cap_enabled", "cap_messages", "cap_days", "quiet_enabled", "quiet_start", "quiet_end")


def email_policy_get(*, workspace: Workspace | int) -> EmailPolicy:
    """The workspace's sending policy, created with the defaults (3 emails in 7 days, quiet
    21:00–08:00; settings.VOLANO_EMAIL_POLICY_DEFAULTS overrides them) on first use."""
    found = EmailPolicy.objects.for_workspace(workspace).first()
    if found is not None:
        return found
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    try:
        with transaction.atomic():
            return EmailPolicy.objects.create(
                workspace_id=workspace_id, **getattr(settings, "VOLANO_EMAIL_POLICY_DEFAULTS", {})
            )
    except IntegrityError:  # created by another worker in the meantime
        return EmailPolicy.objects.for_workspace(workspace).get()


def _whole(raw: object, field: str, low: int, high: int, errors: list[dict]) -> int | None:
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors.append({"field": field, "message": _("expected a whole number")})
        return None
    if not low <= value <= high:
        errors.append(
            {
                "field": field,
                "message": _("expected a number from %(low)s to %(high)s")
                % {"low": low, "high": high},
            }
        )
        return None
    return value


def _time(raw: object, field: str, errors: list[dict]) -> dt.time | None:
    if isinstance(raw, dt.time):
        return raw.replace(second=0, microsecond=0, tzinfo=None)
    text = str(raw or "").strip()
    try:
        hours, minutes = text.split(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
            raise ValueError
        return dt.time(int(hours), int(minutes))
    except ValueError:
        errors.append({"field": field, "message": _("expected a time such as 21:00")})
        return None


def _flag(raw: object) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "on", "yes"}
    return bool(raw)


def email_policy_save(*, workspace: Workspace, actor: User | None, data: dict) -> EmailPolicy:
    """Change the policy: `cap_enabled`, `cap_messages` (1–100), `cap_days` (1–365),
    `quiet_enabled`, `quiet_start`, `quiet_end` ("HH:MM", not equal). Fields left out keep their
    value; every problem is reported at once; the change is recorded in the activity trail."""
    if actor is not None:
        membership = Membership.objects.filter(workspace=workspace, user=actor).first()
        if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
            raise PermissionDenied(_("only administrators and marketers change the sending policy"))
    current = email_policy_get(workspace=workspace)
    errors: list[dict] = []
    values: dict = {}
    for field in ("cap_enabled", "quiet_enabled"):
        values[field] = _flag(data[field]) if field in data else getattr(current, field)
    for field, high in (("cap_messages", CAP_MESSAGES_MAX), ("cap_days", CAP_DAYS_MAX)):
        value = _whole(data.get(field, getattr(current, field)), field, 1, high, errors)
        if value is not None:
            values[field] = value
    for field in ("quiet_start", "quiet_end"):
        moment = _time(data.get(field, getattr(current, field)), field, errors)
        if moment is not None:
            values[field] = moment
    if values.get("quiet_start") is not None and values.get("quiet_start") == values.get(
        "quiet_end"
    ):
        errors.append(
            {
                "field": "quiet_end",
                "message": _("quiet hours must end at another time than they start"),
            }
        )
    if errors:
        raise ValidationFailed(errors)
    before = {field: getattr(current, field) for field in FIELDS}
    for field, value in values.items():
        setattr(current, field, value)
    current.updated_at = timezone.now()
    with transaction.atomic():
        current.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="email_policy.save",
            obj=current,
            changes=changes_between(
                {k: _plain(v) for k, v in before.items()},
                {k: _plain(v) for k, v in values.items()},
            ),
        )
    return current


def _plain(value: object) -> object:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else value


def workspace_zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _at(day: dt.date, moment: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first instant the local clock reads `moment` (or later) on `day`: the first of a
    repeated hour when clocks go back; when clocks go forward over `moment`, the change itself."""
    wall = dt.datetime.combine(day, moment)
    instant = wall.replace(tzinfo=zone).astimezone(dt.UTC)  # fold=0
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # a time that does not exist: fold=0 read it with the offset from before the change, which
    # lands after the gap by its length; walk from the other reading to the change
    step = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    while step < instant and step.astimezone(zone).replace(tzinfo=None) < wall:
        step += dt.timedelta(minutes=1)
    return step


def quiet_until(
    *, start: dt.time, end: dt.time, time_zone: str, now: dt.datetime
) -> dt.datetime | None:
    """When `now` falls in the quiet hours [start, end) of the workspace's time zone, the
    instant (UTC) they end; None otherwise. A window with start > end runs across midnight
    (21:00–08:00 is quiet from 21:00 to 08:00 the next morning)."""
    if start == end:
        return None
    zone = workspace_zone(time_zone)
    local = now.astimezone(zone)
    today = local.date()
    clock = local.time().replace(tzinfo=None)
    if start < end:  # within one day, e.g. 12:00–14:00
        if start <= clock < end:
            return _at(today, end, zone)
        return None
    if clock >= start:  # the evening part: ends tomorrow morning
        return _at(today + dt.timedelta(days=1), end, zone)
    if clock < end:  # the morning part: ends this morning
        return _at(today, end, zone)
    return None


def policy_quiet_until(
    policy: EmailPolicy, *, time_zone: str, now: dt.datetime
) -> dt.datetime | None:
    if not policy.quiet_enabled:
        return None
    return quiet_until(start=policy.quiet_start, end=policy.quiet_end, time_zone=time_zone, now=now)
