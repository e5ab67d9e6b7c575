"""What workflows do when something happens elsewhere (see volano.core.reactions): the triggers
of the published workflows enrol the contacts a fact names, after commit through the outbox,
set-based (one statement per workflow whose trigger the fact can start).

| fact | triggers |
|---|---|
| EventsAppended | `event` (its condition, for the fact's contacts, when it reads one of the fact's event types), `form_submitted`; wakes the fact's contacts waiting at a `wait_for` step whose event happened |
| SegmentMembershipChanged | `segment_entered`, `segment_left` |
| StageChanged | `stage_changed` |
| ScoresChanged | `score_crossed` (the contacts whose score moved and is now at or over the threshold) |
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Max, OuterRef, Q

from volano.core.facts import (
    ContactsMerging,
    EventsAppended,
    ReferenceDeleting,
    ScoresChanged,
    SegmentMembershipChanged,
    StageChanged,
)
from volano.core.reactions import reacts_to, workspace_of
from volano.workflows.models import Enrolment, EnrolmentStatus
from volano.workflows.services import workflows_enrol_matching, workflows_wake_waiting


def _event_types_read(definition: Any, found: set[str]) -> set[str]:
    """The event types a condition definition names (any depth)."""
    if isinstance(definition, list):
        for item in definition:
            _event_types_read(item, found)
    elif isinstance(definition, dict):
        if isinstance(definition.get("event"), str):
            found.add(definition["event"])
        for value in definition.values():
            if isinstance(value, dict | list):
                _event_types_read(value, found)
    return found


@reacts_to(EventsAppended, phase="after_commit")
def workflows_follow_events(fact: EventsAppended) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return
    types = fact.event_types

    def accepts(trigger: dict) -> Any:
        if trigger["kind"] == "event":
            read = _event_types_read(trigger["when"], set())
            if types is not None and read and not read & types:
                return None
            return trigger["when"]
        if trigger["kind"] == "form_submitted":
            if types is not None and "form_submitted" not in types:
                return None
            where = {"form": trigger["form"]} if trigger.get("form") else {}
            return {"event": "form_submitted", "where": where, "within_days": 1}
        return None

    workflows_enrol_matching(
        workspace=workspace, contact_ids=fact.contact_ids, accepts=accepts, source="event"
    )
    # the enrolments waiting for one of these events go on at once ("wait until an event")
    workflows_wake_waiting(
        workspace=workspace, contact_ids=fact.contact_ids, event_types=fact.event_types
    )


@reacts_to(SegmentMembershipChanged, phase="after_commit")
def workflows_follow_segments(fact: SegmentMembershipChanged) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return
    for kind, ids in (("segment_entered", fact.entered_ids), ("segment_left", fact.left_ids)):
        if not ids:
            continue

        def accepts(trigger: dict, kind: str = kind) -> Any:
            return trigger["kind"] == kind and trigger["segment"] == fact.segment

        workflows_enrol_matching(workspace=workspace, contact_ids=ids, accepts=accepts, source=kind)


@reacts_to(StageChanged, phase="after_commit")
def workflows_follow_stages(fact: StageChanged) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return

    def accepts(trigger: dict) -> Any:
        return trigger["kind"] == "stage_changed" and trigger["stage"] == fact.to_stage

    workflows_enrol_matching(
        workspace=workspace, contact_ids=fact.contact_ids, accepts=accepts, source="stage_changed"
    )


@reacts_to(ScoresChanged, phase="after_commit")
def workflows_follow_scores(fact: ScoresChanged) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return

    def accepts(trigger: dict) -> Any:
        if trigger["kind"] != "score_crossed":
            return None
        if fact.models and trigger["model"] not in fact.models:
            return None
        return {"field": f"score.{trigger['model']}", "op": "gte", "value": trigger["threshold"]}

    workflows_enrol_matching(
        workspace=workspace, contact_ids=fact.changed_ids, accepts=accepts, source="score_crossed"
    )


@reacts_to(ContactsMerging, phase="transaction", handles=("workflows.Enrolment.contact",))
def enrolments_merge(fact: ContactsMerging) -> dict:
    """The duplicate's workflow history moves to the survivor; where both are active in the
    same workflow, the survivor's enrolment goes on and the duplicate's ends ("merged")."""
    enrolments = Enrolment.objects.for_workspace(fact.workspace_id)
    theirs = enrolments.filter(contact_id__in=fact.duplicate_ids)
    theirs.filter(
        Exists(
            enrolments.filter(
                workflow_id=OuterRef("workflow_id"),
                contact_id=fact.survivor_id,
                status=EnrolmentStatus.ACTIVE,
            )
        ),
        status=EnrolmentStatus.ACTIVE,
    ).update(status=EnrolmentStatus.EXITED, exit_reason="merged", step="", due_at=None)
    # occurrences stay unique per contact: the moved ones count on from the survivor's last
    # (one query for those, one UPDATE for the moved rows); of two duplicates active in the same
    # workflow the first goes on, the other ends ("merged"), as against the survivor's
    survivors = enrolments.filter(contact_id=fact.survivor_id)
    last = dict(
        survivors.values("workflow_id")
        .annotate(top=Max("occurrence"))
        .values_list("workflow_id", "top")
    )
    active = set(
        survivors.filter(status=EnrolmentStatus.ACTIVE).values_list("workflow_id", flat=True)
    )
    moving = list(theirs.order_by("started_at", "pk"))
    for enrolment in moving:
        last[enrolment.workflow_id] = last.get(enrolment.workflow_id, 0) + 1
        enrolment.contact_id = fact.survivor_id
        enrolment.occurrence = last[enrolment.workflow_id]
        if enrolment.status == EnrolmentStatus.ACTIVE:
            if enrolment.workflow_id in active:
                enrolment.status, enrolment.exit_reason = EnrolmentStatus.EXITED, "merged"
                enrolment.step, enrolment.due_at = "", None
            active.add(enrolment.workflow_id)
    Enrolment.objects.for_workspace(fact.workspace_id).bulk_update(
        moving, ["contact", "occurrence", "status", "exit_reason", "step", "due_at"]
    )
    return {"workflow_enrolments": len(moving)} if moving else {}


@reacts_to(
    ContactsMerging,
    phase="transaction",
    handles=("workflows.RepTask.contact", "workflows.WebhookCall.contact"),
)
def tasks_and_webhooks_merge(fact: ContactsMerging) -> dict:
    """The duplicate's tasks and webhook calls now name the survivor (one UPDATE each)."""
    from volano.workflows.models import RepTask, WebhookCall

    tasks = (
        RepTask.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    calls = (
        WebhookCall.objects.for_workspace(fact.workspace_id)
        .filter(contact_id__in=fact.duplicate_ids)
        .update(contact_id=fact.survivor_id)
    )
    return {"workflow_tasks": tasks, "workflow_webhooks": calls} if tasks or calls else {}


@reacts_to(ReferenceDeleting, phase="transaction")
def references_guard(fact: ReferenceDeleting) -> None:
    """Deleting an email template or a list that a live workflow uses (its published version,
    or a version contacts are still on) is refused, naming the workflow and the step."""
    from django.utils.translation import gettext as _

    from volano.core.errors import ApplicationError
    from volano.workflows.models import Workflow, WorkflowStatus

    field = {"template": "template", "list": "list"}.get(fact.kind)
    if field is None:
        return
    from volano.workflows.models import WorkflowVersion

    # the published version of every live workflow, and every version contacts are still on
    live = Workflow.objects.for_workspace(fact.workspace_id).filter(
        status__in=[WorkflowStatus.PUBLISHED, WorkflowStatus.PAUSED]
    )
    running = Enrolment.objects.for_workspace(fact.workspace_id).filter(
        status=EnrolmentStatus.ACTIVE
    )
    versions = (
        WorkflowVersion.objects.for_workspace(fact.workspace_id)
        .filter(
            Q(pk__in=live.values("published_version_id")) | Q(pk__in=running.values("version_id"))
        )
        .select_related("workflow")
    )
    for version in versions:
        workflow = version.workflow
        for key, step in (version.graph.get("steps") or {}).items():
            if step.get(field) == fact.slug:
                message = (
                    _(
                        "the workflow “%(name)s” sends this template at the step %(step)s "
                        "(its published version, or contacts still on an older one): it "
                        "cannot be deleted"
                    )
                    if fact.kind == "template"
                    else _(
                        "the workflow “%(name)s” uses this list at the step %(step)s (its "
                        "published version, or contacts still on an older one): it cannot be "
                        "deleted"
                    )
                )
                raise ApplicationError(message % {"name": workflow.name, "step": key}, field="slug")
