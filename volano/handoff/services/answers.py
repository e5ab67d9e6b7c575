"""The rep's answer to a lead: accept it, or reject it with a reason (it goes back to nurturing
as Recycled)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from volano.core.facts import ContactsChanged
from volano.core.models import Membership, Role, User, Workspace
from volano.core.reactions import announce
from volano.events.models import EventType
from volano.events.services import system_event_append
from volano.handoff.models import Assignment, AssignmentStatus
from volano.handoff.services.common import OPEN
from volano.lifecycle.models import ChangeSource, LifecycleStage


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
