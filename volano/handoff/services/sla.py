"""The SLA: a pending assignment past its due time expires; the lead goes once to the next rep
of its rule, then (or when there is none) to the fallback owner, escalated; with nobody left it
stays without an owner and the administrators are told (`LeadUnassigned`)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.facts import ContactsChanged
from volano.core.reactions import announce
from volano.handoff.models import Assignment, AssignmentRule, AssignmentStatus
from volano.handoff.services.assignment import (
    _assignment_create,
    _fallback,
    _next_rep,
    lead_unassigned_announce,
)
from volano.handoff.services.handoff_settings import handoff_settings_get
from volano.lifecycle.models import LifecycleStage

SWEEP_BATCH = 500


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
                activity_record(
                    workspace=workspace,
                    actor=None,
                    verb="assignment.expire",
                    obj=expired,
                    contact_id=contact.pk,
                    changes={"status": [AssignmentStatus.PENDING, AssignmentStatus.EXPIRED]},
                )
                lead_unassigned_announce(
                    workspace=workspace,
                    contact=contact,
                    product_line=expired.product_line,
                    reason="expired",
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
