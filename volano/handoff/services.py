"""Writes for the hand-off to sales: rules, settings, assigning a new SQL, answers, the SLA sweep,
notifications and their emails.

A lead is assigned once: `lead_assign` locks the contact row, looks for an open assignment, then
locks the rule row to move its round-robin pointer; the database's partial unique constraint
(one open assignment per contact) is the last word when two workers still race. Emails and
enqueues leave only after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core import geography
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from volano.core.facts import ContactsChanged, LeadAssigned
from volano.core.mail import workspace_headers
from volano.core.models import Membership, Role, User, Workspace
from volano.core.permissions import Cap, allows
from volano.core.reactions import announce
from volano.deals.models import ProductLine
from volano.events.models import Channel, EventType
from volano.events.services import system_event_append
from volano.handoff.models import (
    Assignment,
    AssignmentRule,
    AssignmentStatus,
    HandoffSettings,
    Notification,
)
from volano.lifecycle.models import ChangeSource, LifecycleStage

OPEN = (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED)
REP_ROLES = (Role.SALES, Role.ADMIN)
CAP_RANGE_RE = re.compile(r"^(\d{5})(?:\s*-\s*(\d{5}))?$")
SWEEP_BATCH = 500
LAST_INTERACTIONS = 5
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


# -- rules -----------------------------------------------------------------------------------


def _editor_check(workspace: Workspace, actor: User | None) -> None:
    """Rules and settings decide who gets leads: administrators and marketers change them."""
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied("only administrators and marketers change the hand-off rules")


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


def _members(workspace: Workspace) -> list[Membership]:
    return list(Membership.objects.filter(workspace=workspace).select_related("user"))


def _reps_resolve(
    workspace: Workspace, raw: Any, errors: list[dict]
) -> tuple[list[int], list[Membership]]:
    if not isinstance(raw, list) or not raw:
        errors.append({"field": "reps", "message": "choose at least one sales rep"})
        return [], []
    members = _members(workspace)
    by_id = {m.user_id: m for m in members}
    by_email = {m.user.email.lower(): m for m in members}
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
    _editor_check(workspace, actor)
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
        else:
            if rule.reps != reps:
                values["next_index"] = 0
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
    from volano.handoff.selectors import assignment_rule_warnings

    return rule, assignment_rule_warnings(workspace=workspace, rule=rule)


def assignment_rule_delete(
    *, workspace: Workspace, actor: User | None, rule: AssignmentRule
) -> None:
    """Delete a rule; the assignments it made stay (their rule becomes empty)."""
    _editor_check(workspace, actor)
    if rule.workspace_id != workspace.pk:
        raise NotFound("no such rule")
    rule.delete()


# -- settings --------------------------------------------------------------------------------


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
    _editor_check(workspace, actor)
    current = handoff_settings_get(workspace=workspace)
    errors: list[dict] = []
    fallback_owner = current.fallback_owner
    if "fallback_owner" in data:
        raw = data["fallback_owner"]
        if raw in (None, "", 0):
            fallback_owner = None
        else:
            members = _members(workspace)
            found = next(
                (
                    m
                    for m in members
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
    current.fallback_owner = fallback_owner
    for field, value in numbers.items():
        setattr(current, field, value)
    current.save()
    return current


# -- working hours ---------------------------------------------------------------------------


def working_hours_add(
    *, start: dt.datetime, hours: float, time_zone: str, work_start: int, work_end: int
) -> dt.datetime:
    """`start` plus `hours` counted only Monday to Friday between work_start and work_end (local
    time of the workspace). Public holidays are not skipped."""
    zone = ZoneInfo(time_zone)
    remaining = dt.timedelta(hours=hours)
    current = timezone.localtime(start, zone)

    def at(day: dt.date, hour: int) -> dt.datetime:
        if hour >= 24:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)

    while True:
        day = current.date()
        if day.weekday() >= 5 or current >= at(day, work_end):
            current = at(day + dt.timedelta(days=1), work_start)
            continue
        if current < at(day, work_start):
            current = at(day, work_start)
        left_today = at(day, work_end) - current
        if remaining <= left_today:
            return current + remaining
        remaining -= left_today
        current = at(day + dt.timedelta(days=1), work_start)


# -- assigning -------------------------------------------------------------------------------


def _cap_in(cap: str, ranges: Sequence[str]) -> bool:
    if not cap:
        return False
    for text in ranges:
        parsed = cap_range_parse(text)
        if parsed and parsed[0] <= cap <= parsed[1]:
            return True
    return False


def rule_matches(rule: AssignmentRule, contact: Contact, product_line: str) -> bool:
    """The contact is in the rule's territory (empty: everywhere) and the product line is one of
    the rule's (empty: any)."""
    if rule.product_lines and product_line not in rule.product_lines:
        return False
    if not (rule.regions or rule.provinces or rule.cap_ranges):
        return True
    return (
        (bool(contact.region) and contact.region in rule.regions)
        or (bool(contact.province) and contact.province in rule.provinces)
        or _cap_in(contact.postal_code.strip(), rule.cap_ranges)
    )


def _is_away(membership: Membership, today: dt.date) -> bool:
    if membership.away_from is None and membership.away_until is None:
        return False
    after_start = membership.away_from is None or membership.away_from <= today
    before_end = membership.away_until is None or today <= membership.away_until
    return after_start and before_end


def _next_rep(
    workspace: Workspace,
    rule: AssignmentRule,
    today: dt.date,
    exclude: Iterable[int | None] = (),
) -> User | None:
    """The next rep of the rule in turn who is here today and under capacity; advances the
    pointer. The caller holds the rule row locked."""
    reps = [int(r) for r in rule.reps]
    if not reps:
        return None
    skip = set(exclude)
    members = {
        m.user_id: m
        for m in Membership.objects.filter(
            workspace=workspace, user_id__in=reps, role__in=REP_ROLES, user__is_active=True
        ).select_related("user")
    }
    open_counts = dict(
        Assignment.objects.for_workspace(workspace)
        .filter(rep_id__in=reps, status__in=OPEN)
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    for step in range(len(reps)):
        index = (rule.next_index + step) % len(reps)
        membership = members.get(reps[index])
        if membership is None or membership.user_id in skip or _is_away(membership, today):
            continue
        capacity = membership.lead_capacity
        if capacity is not None and open_counts.get(membership.user_id, 0) >= capacity:
            continue
        rule.next_index = (index + 1) % len(reps)
        rule.save(update_fields=["next_index"])
        return membership.user
    return None


def _fallback(workspace: Workspace, handoff: HandoffSettings) -> User | None:
    owner = handoff.fallback_owner
    if owner is None or not owner.is_active:
        return None
    if not Membership.objects.filter(workspace=workspace, user=owner).exists():
        return None
    return owner


def _language_of(user: User, workspace: Workspace) -> str:
    return user.language or workspace.language or settings.LANGUAGE_CODE


def _line_name(workspace: Workspace, slug: str) -> str:
    if not slug:
        return ""
    found = ProductLine.objects.for_workspace(workspace).filter(slug=slug).first()
    return found.name if found else slug


def _contact_name(contact: Contact) -> str:
    return contact.full_name or contact.email or f"#{contact.pk}"


def _contact_path(contact_id: int) -> str:
    return reverse("contacts:detail", args=[contact_id])


def _notify(
    *,
    workspace: Workspace,
    user: User,
    title: str,
    body: str = "",
    url: str = "",
    assignment: Assignment | None = None,
) -> Notification:
    """An in-app notification, emailed after commit."""
    notification = Notification.objects.create(
        workspace=workspace,
        user=user,
        title=title[:200],
        body=body,
        url=url,
        assignment=assignment,
    )
    from volano.handoff.tasks import notification_email_task

    transaction.on_commit(functools.partial(notification_email_task.enqueue, notification.pk))
    return notification


def _admins_notify_unassigned(
    *, workspace: Workspace, contact: Contact, product_line: str, reason_code: str, rule_name: str
) -> None:
    admins = User.objects.filter(
        memberships__workspace=workspace, memberships__role=Role.ADMIN, is_active=True
    )
    where = " / ".join(p for p in (contact.region, contact.province, contact.postal_code) if p)
    for admin in admins:
        with translation.override(_language_of(admin, workspace)):
            title = _("Lead could not be assigned: %(name)s") % {"name": _contact_name(contact)}
            if reason_code == "no_rule":
                reason = _(
                    "No active assignment rule covers %(where)s for product line “%(line)s”."
                ) % {"where": where or _("an unknown place"), "line": product_line or "—"}
            elif reason_code == "no_rep":
                reason = _(
                    "Rule “%(rule)s” matches, but none of its reps can take the lead "
                    "(away, at capacity or no longer in the team)."
                ) % {"rule": rule_name}
            else:
                reason = _("Nobody accepted it in time and there is no one to escalate it to.")
            body = f"{reason} " + _(
                "Set a fallback owner in the hand-off settings, or assign it by hand."
            )
        _notify(
            workspace=workspace,
            user=admin,
            title=title,
            body=body,
            url=_contact_path(contact.pk),
        )


def _assignment_create(
    *,
    workspace: Workspace,
    contact: Contact,
    rep: User,
    rule: AssignmentRule | None,
    product_line: str,
    why: str,
    handoff: HandoffSettings,
    now: dt.datetime,
    previous: Assignment | None = None,
    escalated: bool = False,
) -> Assignment:
    """The assignment, the contact's owner, the timeline event and the rep's notification. Runs
    inside the caller's transaction; raises IntegrityError if the contact has an open one."""
    due_at = working_hours_add(
        start=now,
        hours=handoff.sla_hours,
        time_zone=workspace.time_zone,
        work_start=handoff.work_start,
        work_end=handoff.work_end,
    )
    with transaction.atomic():
        assignment = Assignment.objects.create(
            workspace=workspace,
            contact=contact,
            rep=rep,
            rule=rule,
            product_line=product_line,
            why=why[:300],
            assigned_at=now,
            due_at=due_at,
            previous=previous,
            escalated=escalated,
        )
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(owner=rep, updated_at=now)
    contact.owner = rep
    properties: dict[str, Any] = {
        "rep": rep.email,
        "rule": rule.name if rule else "",
        "product_line": product_line,
        "why": why,
    }
    if previous is not None:
        properties["previous_rep"] = previous.rep.email if previous.rep else ""
    if escalated:
        properties["escalated"] = True
    system_event_append(
        workspace=workspace,
        contact_id=contact.pk,
        type=EventType.LEAD_ASSIGNED,
        properties=properties,
    )
    announce(LeadAssigned(workspace_id=workspace.pk, contact_ids={contact.pk}))
    line = _line_name(workspace, product_line)
    with translation.override(_language_of(rep, workspace)):
        name = _contact_name(contact)
        if escalated:
            title = _("Lead escalated to you: %(name)s") % {"name": name}
        else:
            title = _("New qualified lead: %(name)s") % {"name": name}
        if line:
            title = f"{title} ({line})"
        lines = [why] if why else []
        if previous is not None and previous.rep is not None:
            lines.append(
                _("%(rep)s did not accept it within %(hours)s working hours.")
                % {"rep": previous.rep, "hours": handoff.sla_hours}
            )
        lines.append(_("Accept it within %(hours)s working hours.") % {"hours": handoff.sla_hours})
    _notify(
        workspace=workspace,
        user=rep,
        title=title,
        body="\n".join(lines),
        url=_contact_path(contact.pk),
        assignment=assignment,
    )
    return assignment


def lead_assign(
    *,
    workspace: Workspace,
    contact_id: int,
    product_line: str = "",
    why: str = "",
    now: dt.datetime | None = None,
) -> Assignment | None:
    """Give a new SQL to the rep whose turn it is in the first matching rule, else to the fallback
    owner; None when the contact is not an SQL, is already assigned, or nobody can take it (the
    administrators are told)."""
    now = now or timezone.now()
    today = timezone.localtime(now, ZoneInfo(workspace.time_zone)).date()
    try:
        with transaction.atomic():
            contact = (
                Contact.objects.for_workspace(workspace)
                .select_for_update()
                .filter(pk=contact_id)
                .first()
            )
            if contact is None or contact.lifecycle_stage != LifecycleStage.SQL:
                return None
            if (
                Assignment.objects.for_workspace(workspace)
                .filter(contact_id=contact.pk, status__in=OPEN)
                .exists()
            ):
                return None
            handoff = handoff_settings_get(workspace=workspace)
            rule = next(
                (
                    r
                    for r in AssignmentRule.objects.for_workspace(workspace).filter(active=True)
                    if rule_matches(r, contact, product_line)
                ),
                None,
            )
            rep = None
            if rule is not None:
                rule = (
                    AssignmentRule.objects.for_workspace(workspace)
                    .select_for_update()
                    .get(pk=rule.pk)
                )
                rep = _next_rep(workspace, rule, today)
            if rep is None:
                rep = _fallback(workspace, handoff)
                if rep is None:
                    _admins_notify_unassigned(
                        workspace=workspace,
                        contact=contact,
                        product_line=product_line,
                        reason_code="no_rule" if rule is None else "no_rep",
                        rule_name=rule.name if rule else "",
                    )
                    return None
                rule = None
            return _assignment_create(
                workspace=workspace,
                contact=contact,
                rep=rep,
                rule=rule,
                product_line=product_line,
                why=why,
                handoff=handoff,
                now=now,
            )
    except IntegrityError:
        return None  # another worker assigned it first


# -- answers ---------------------------------------------------------------------------------


def _answer_check(workspace: Workspace, actor: User, assignment: Assignment) -> None:
    if assignment.workspace_id != workspace.pk:
        raise NotFound("no such assignment")
    if assignment.rep_id == actor.pk:
        return
    if Membership.objects.filter(workspace=workspace, user=actor, role=Role.ADMIN).exists():
        return
    raise PermissionDenied("only the rep the lead was given to, or an administrator, can answer")


def assignment_accept(*, workspace: Workspace, actor: User, assignment: Assignment) -> Assignment:
    """The rep takes the lead."""
    _answer_check(workspace, actor, assignment)
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Assignment.objects.for_workspace(workspace)
            .filter(pk=assignment.pk, status=AssignmentStatus.PENDING)
            .update(status=AssignmentStatus.ACCEPTED, answered_at=now)
        )
        if not updated:
            assignment.refresh_from_db()
            raise ApplicationError(
                f"this lead is not waiting for an answer any more "
                f"(it is {assignment.get_status_display()})",
                field="status",
            )
        system_event_append(
            workspace=workspace,
            contact_id=assignment.contact_id,
            type=EventType.LEAD_ACCEPTED,
            properties={
                "rep": assignment.rep.email if assignment.rep else "",
                "by": actor.email,
                "product_line": assignment.product_line,
            },
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="assignment.accept",
            obj=assignment,
            contact_id=assignment.contact_id,
            changes={"status": [AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]},
        )
    assignment.refresh_from_db()
    return assignment


def assignment_reject(
    *, workspace: Workspace, actor: User, assignment: Assignment, reason: str
) -> Assignment:
    """The rep hands the lead back with a reason: it goes back to nurturing as Recycled."""
    _answer_check(workspace, actor, assignment)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([{"field": "reason", "message": "say why the lead is rejected"}])
    if len(reason) > 300:
        raise ValidationFailed([{"field": "reason", "message": "at most 300 characters"}])
    from volano.lifecycle.services import stage_set

    now = timezone.now()
    with transaction.atomic():
        updated = (
            Assignment.objects.for_workspace(workspace)
            .filter(pk=assignment.pk, status__in=OPEN)
            .update(status=AssignmentStatus.REJECTED, answered_at=now, reason=reason)
        )
        if not updated:
            assignment.refresh_from_db()
            raise ApplicationError(
                f"this lead cannot be rejected any more (it is {assignment.get_status_display()})",
                field="status",
            )
        contact = Contact.objects.for_workspace(workspace).get(pk=assignment.contact_id)
        Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(
            owner=None, updated_at=now
        )
        announce(
            ContactsChanged(workspace_id=workspace.pk, contact_ids={contact.pk}, fields={"owner"})
        )
        system_event_append(
            workspace=workspace,
            contact_id=contact.pk,
            type=EventType.LEAD_REJECTED,
            properties={
                "rep": assignment.rep.email if assignment.rep else "",
                "by": actor.email,
                "reason": reason,
                "product_line": assignment.product_line,
            },
        )
        stage_set(
            workspace=workspace,
            actor=actor,
            contact=contact,
            stage=LifecycleStage.RECYCLED,
            source=ChangeSource.HANDOFF,
            reason=reason,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="assignment.reject",
            obj=assignment,
            contact_id=assignment.contact_id,
            changes={"status": [assignment.status, AssignmentStatus.REJECTED], "reason": reason},
        )
    assignment.refresh_from_db()
    return assignment


def assignments_close(*, workspace: Workspace, contact_ids: Iterable[int]) -> int:
    """The sales work on these leads is over (they became customers, went back to nurturing, were
    disqualified…): their open assignments close, so they no longer fill the reps' capacity and
    a later qualification can be handed off again."""
    return (
        Assignment.objects.for_workspace(workspace)
        .filter(contact_id__in=list(contact_ids), status__in=OPEN)
        .update(status=AssignmentStatus.CLOSED)
    )


# -- the SLA sweep ---------------------------------------------------------------------------


def assignments_overdue_sweep(*, now: dt.datetime | None = None) -> int:
    """Pending assignments past their due time, in every workspace, become "expired": the lead
    goes once to the next rep of its rule, and then (or when there is none) to the fallback
    owner, escalated. Returns how many assignments expired."""
    now = now or timezone.now()
    overdue = list(
        Assignment.all_workspaces.filter(
            status=AssignmentStatus.PENDING, escalated=False, due_at__lt=now
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(1 for pk in overdue if _assignment_expire(pk, now))


def _assignment_expire(pk: int, now: dt.datetime) -> bool:
    try:
        with transaction.atomic():
            # The claim: one conditional UPDATE, so two sweepers (or an accept) never both win.
            claimed = Assignment.all_workspaces.filter(
                pk=pk, status=AssignmentStatus.PENDING, escalated=False, due_at__lt=now
            ).update(status=AssignmentStatus.EXPIRED)
            if not claimed:
                return False
            expired = Assignment.all_workspaces.select_related("workspace", "rep", "rule").get(
                pk=pk
            )
            workspace = expired.workspace
            contact = (
                Contact.objects.for_workspace(workspace)
                .select_for_update()
                .get(pk=expired.contact_id)
            )
            if contact.lifecycle_stage != LifecycleStage.SQL:
                # The lead moved on (or back) meanwhile: nothing to hand over.
                Assignment.all_workspaces.filter(pk=pk).update(status=AssignmentStatus.CLOSED)
                return True
            handoff = handoff_settings_get(workspace=workspace)
            today = timezone.localtime(now, ZoneInfo(workspace.time_zone)).date()
            rep = None
            rule = expired.rule
            if expired.previous_id is None and rule is not None and rule.active:
                rule = (
                    AssignmentRule.objects.for_workspace(workspace)
                    .select_for_update()
                    .get(pk=rule.pk)
                )
                rep = _next_rep(workspace, rule, today, exclude=[expired.rep_id])
            escalated = rep is None
            if rep is None:
                rep = _fallback(workspace, handoff)
            if rep is None:
                Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(
                    owner=None, updated_at=now
                )
                announce(
                    ContactsChanged(
                        workspace_id=workspace.pk, contact_ids={contact.pk}, fields={"owner"}
                    )
                )
                _admins_notify_unassigned(
                    workspace=workspace,
                    contact=contact,
                    product_line=expired.product_line,
                    reason_code="expired",
                    rule_name=rule.name if rule else "",
                )
                return True
            _assignment_create(
                workspace=workspace,
                contact=contact,
                rep=rep,
                rule=rule,
                product_line=expired.product_line,
                why=expired.why,
                handoff=handoff,
                now=now,
                previous=expired,
                escalated=escalated,
            )
            return True
    except IntegrityError:
        return False  # the contact got an open assignment meanwhile; the next sweep looks again


# -- notifications ---------------------------------------------------------------------------


def notification_mark_read(
    *, workspace: Workspace, user: User, notification_id: int | None = None
) -> int:
    """Mark one of the user's notifications (or, with no id, all of them) read."""
    rows = Notification.objects.for_workspace(workspace).filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        if (
            not Notification.objects.for_workspace(workspace)
            .filter(pk=notification_id, user=user)
            .exists()
        ):
            raise NotFound("no such notification")
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now())


def _base_url() -> str:
    return str(getattr(settings, "VOLANO_BASE_URL", "") or DEFAULT_BASE_URL).rstrip("/")


def _interactions(contact: Contact) -> list[dict]:
    labels = dict(EventType.choices)
    rows = []
    for event in contact.events.exclude(channel=Channel.SYSTEM).order_by("-occurred_at", "-pk")[
        :LAST_INTERACTIONS
    ]:
        props = event.properties or {}
        detail = next(
            (str(props[k]) for k in ("title", "url", "subject", "form", "name") if props.get(k)),
            event.content or event.campaign or "",
        )
        rows.append(
            {
                "occurred_at": event.occurred_at,
                "label": labels.get(event.type, event.type),
                "detail": detail,
            }
        )
    return rows


def _email_for(notification: Notification) -> EmailMessage:
    workspace = notification.workspace
    user = notification.user
    language = _language_of(user, workspace)
    context: dict[str, Any] = {
        "notification": notification,
        "user": user,
        "workspace": workspace,
        "link": f"{_base_url()}{notification.url}" if notification.url else "",
    }
    template = "handoff/email/notification.txt"
    assignment = notification.assignment
    if assignment is not None:
        from volano.scoring.selectors import score_explanations

        contact = assignment.contact
        template = "handoff/email/lead_assigned.txt"
        context.update(
            {
                "assignment": assignment,
                "contact": contact,
                "scores": score_explanations(
                    workspace=workspace, contact=contact, language=language
                ),
                "interactions": _interactions(contact),
                "line": _line_name(workspace, assignment.product_line),
            }
        )
    with translation.override(language), timezone.override(ZoneInfo(workspace.time_zone)):
        body = render_to_string(template, context)
    return EmailMessage(
        subject=notification.title,
        body=body,
        to=[user.email],
        headers=workspace_headers(workspace),
    )


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification to its user, once: the row is claimed with one conditional UPDATE,
    and given back if sending fails (the error is raised again). False when already sent."""
    claimed_at = timezone.now()
    claimed = Notification.all_workspaces.filter(
        pk=notification_id, emailed_at__isnull=True
    ).update(emailed_at=claimed_at)
    if not claimed:
        return False
    try:
        notification = Notification.all_workspaces.select_related(
            "workspace", "user", "assignment__contact", "assignment__rep"
        ).get(pk=notification_id)
        _email_for(notification).send()
    except Exception:
        Notification.all_workspaces.filter(pk=notification_id, emailed_at=claimed_at).update(
            emailed_at=None
        )
        raise
    if notification.assignment_id is not None:
        Assignment.all_workspaces.filter(
            pk=notification.assignment_id, notified_at__isnull=True
        ).update(notified_at=timezone.now())
    return True
