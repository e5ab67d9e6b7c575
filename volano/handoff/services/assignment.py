"""Assigning a new SQL: the first matching rule's next rep in turn (here today, under capacity),
else the fallback owner; when nobody can take it the hand-off says so (`LeadUnassigned`) and
the notifications domain tells the administrators.

A lead is assigned once: `lead_assign` locks the contact row, looks for an open assignment, then
locks the rule row to move its round-robin pointer; the database's partial unique constraint
(one open assignment per contact) is the last word when two workers still race. The rep hears
of it through `LeadAssigned` (its after-commit reactions), never before the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.facts import LeadAssigned, LeadUnassigned
from volano.core.models import Membership, User, Workspace
from volano.core.reactions import announce
from volano.events.models import EventType
from volano.events.services import system_event_append
from volano.handoff.models import Assignment, AssignmentRule, AssignmentStatus, HandoffSettings
from volano.handoff.services.common import OPEN, REP_ROLES
from volano.handoff.services.handoff_settings import handoff_settings_get
from volano.handoff.services.rules import cap_range_parse
from volano.handoff.services.working_hours import working_hours_add
from volano.lifecycle.models import LifecycleStage


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


def lead_unassigned_announce(
    *, workspace: Workspace, contact: Contact, product_line: str, reason: str, rule_name: str
) -> None:
    """Nobody can take the lead: said once, for the administrators to be told after commit."""
    announce(
        LeadUnassigned(
            workspace_id=workspace.pk,
            contact_id=contact.pk,
            reason=reason,
            product_line=product_line,
            rule_name=rule_name,
            at=timezone.now().isoformat(),
        )
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
    """The assignment, the contact's owner, the timeline event, the activity row and the fact the
    rep's notification follows. Runs inside the caller's transaction; raises IntegrityError if the
    contact has an open one."""
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
    announce(
        LeadAssigned(
            workspace_id=workspace.pk,
            contact_ids={contact.pk},
            assignment_id=assignment.pk,
            rep_id=rep.pk,
            product_line=product_line,
            why=why[:300],
            due_at=due_at.isoformat(),
            sla_hours=handoff.sla_hours,
            previous_rep_id=previous.rep_id if previous is not None else None,
            escalated=escalated,
        )
    )
    activity_record(
        workspace=workspace,
        actor=None,
        verb="assignment.create",
        obj=assignment,
        contact_id=contact.pk,
        changes={"rep": [previous.rep.email if previous and previous.rep else None, rep.email]}
        | ({"escalated": [False, True]} if escalated else {}),
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
                    lead_unassigned_announce(
                        workspace=workspace,
                        contact=contact,
                        product_line=product_line,
                        reason="no_rule" if rule is None else "no_rep",
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


def assignments_close(*, workspace: Workspace, contact_ids: Iterable[int]) -> int:
    """The sales work on these leads is over (they became customers, went back to nurturing, were
    disqualified…): their open assignments close, so they no longer fill the reps' capacity and
    a later qualification can be handed off again."""
    return (
        Assignment.objects.for_workspace(workspace)
        .filter(contact_id__in=list(contact_ids), status__in=OPEN)
        .update(status=AssignmentStatus.CLOSED)
    )
