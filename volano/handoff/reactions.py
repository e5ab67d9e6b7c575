"""What the hand-off does when something happens elsewhere (see volano.core.reactions): a new
SQL is assigned to a rep once its stage change committed, a lead that left the sales stages has
its assignment closed with the move, a merged duplicate's assignments are kept, and an
assignment records when its rep's alert email left."""

from __future__ import annotations

from django.db.models import Exists
from django.utils import timezone

from volano.core.facts import ContactsMerging, NotificationsEmailed, StageChanged
from volano.core.reactions import reacts_to, workspace_of
from volano.handoff.models import Assignment, AssignmentStatus
from volano.handoff.services import OPEN, assignments_close, lead_assign
from volano.lifecycle.models import LifecycleStage

STILL_WITH_SALES = (LifecycleStage.SQL, LifecycleStage.OPPORTUNITY)


@reacts_to(StageChanged, phase="transaction")
def assignments_close_on_leaving_sales(fact: StageChanged) -> None:
    """Customers, recycled or disqualified leads: the reps' work on them is over."""
    if fact.to_stage in STILL_WITH_SALES:
        return
    workspace = workspace_of(fact)
    if workspace is not None:
        assignments_close(workspace=workspace, contact_ids=fact.contact_ids)


@reacts_to(StageChanged, phase="after_commit")
def new_sqls_assign(fact: StageChanged) -> None:
    """Each new SQL goes to a rep (one already assigned is left alone, so running twice is safe)."""
    if fact.to_stage != LifecycleStage.SQL:
        return
    workspace = workspace_of(fact)
    if workspace is None:
        return
    for contact_id in sorted(fact.contact_ids):
        lead_assign(
            workspace=workspace,
            contact_id=contact_id,
            product_line=fact.product_line,
            why=fact.why,
        )


@reacts_to(ContactsMerging, phase="transaction", handles=("handoff.Assignment.contact",))
def assignments_merge(fact: ContactsMerging) -> None:
    """The duplicate's assignments move to the survivor; when both had an open one, the
    survivor's stays open and the duplicate's is closed (one open assignment per contact)."""
    assignments = Assignment.objects.for_workspace(fact.workspace_id)
    survivor_open = assignments.filter(contact_id=fact.survivor_id, status__in=OPEN)
    assignments.filter(contact_id__in=fact.duplicate_ids, status__in=OPEN).filter(
        Exists(survivor_open)
    ).update(status=AssignmentStatus.CLOSED)
    assignments.filter(contact_id__in=fact.duplicate_ids).update(contact_id=fact.survivor_id)


@reacts_to(NotificationsEmailed, phase="transaction")
def assignments_mark_notified(fact: NotificationsEmailed) -> None:
    """The rep's alert email left: the assignment records when (the first time only)."""
    if fact.object_type != "assignment":
        return
    Assignment.objects.for_workspace(fact.workspace_id).filter(
        pk__in=fact.object_ids, notified_at__isnull=True
    ).update(notified_at=timezone.now())
