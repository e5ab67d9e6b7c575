"""Reads of the workflows domain: a workflow, its numbers, a contact's path through workflows."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.workflows.definition import graph_order
from volano.workflows.models import Enrolment, EnrolmentStatus, StepRun, Workflow


def workflow_list(*, workspace: Workspace) -> QuerySet[Workflow]:
    return Workflow.objects.for_workspace(workspace).order_by("name", "pk")


def workflow_get(*, workspace: Workspace, workflow_id: int) -> Workflow:
    workflow = (
        Workflow.objects.for_workspace(workspace)
        .filter(pk=workflow_id)
        .select_related("published_version")
        .first()
    )
    if workflow is None:
        raise NotFound(_("no such workflow"))
    return workflow


def workflow_stats(*, workspace: Workspace, workflow: Workflow) -> dict[str, int]:
    """{"enrolled", "active", "completed", "exited", "goal_reached"} over every version."""
    counts = dict(
        Enrolment.objects.for_workspace(workspace)
        .filter(workflow=workflow)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "enrolled": sum(counts.values()),
        "active": counts.get(EnrolmentStatus.ACTIVE, 0),
        "completed": counts.get(EnrolmentStatus.COMPLETED, 0),
        "exited": counts.get(EnrolmentStatus.EXITED, 0),
        "goal_reached": counts.get(EnrolmentStatus.GOAL, 0),
    }


def workflow_step_counts(*, workspace: Workspace, workflow: Workflow) -> list[dict[str, Any]]:
    """Per step of the published version, in the definition's order: how many enrolments wait
    there now (any version: a key kept across versions is the same step) and how many ran it,
    with the branches taken."""
    version = workflow.published_version
    if version is None:
        return []
    waiting = dict(
        Enrolment.objects.for_workspace(workspace)
        .filter(workflow=workflow, status=EnrolmentStatus.ACTIVE)
        .values_list("step")
        .annotate(n=Count("id"))
        .values_list("step", "n")
    )
    done: dict[str, int] = {}
    outcomes: dict[str, dict[str, int]] = {}
    for key, outcome, n in (
        StepRun.objects.for_workspace(workspace)
        .filter(enrolment__workflow=workflow)
        .values_list("step", "outcome")
        .annotate(n=Count("id"))
        .values_list("step", "outcome", "n")
    ):
        done[key] = done.get(key, 0) + n
        if outcome:
            outcomes.setdefault(key, {})[outcome] = n
    rows = []
    for key in graph_order(version.graph):
        step = version.graph["steps"][key]
        rows.append(
            {
                "key": key,
                "kind": step["kind"],
                "path": step["path"],
                "depth": step["path"].count("."),
                # the first step of a branch's path says which one it is
                "opens": _opens(step["path"]),
                "waiting": waiting.get(key, 0),
                "done": done.get(key, 0),
                "outcomes": outcomes.get(key, {}),
                "step": step,
            }
        )
    return rows


def _opens(path: str) -> str:
    """ "then" / "else" / "path-N" for the first step of a branch's or a split's path."""
    for side in ("then", "else"):
        if path.endswith(f".{side}[0]"):
            return side
    head, _sep, tail = path.rpartition(".paths[")
    if head and tail.endswith("][0]"):
        return f"path-{int(tail.split(']')[0]) + 1}"
    return ""


def contact_workflow_paths(*, workspace: Workspace, contact_id: int) -> list[dict[str, Any]]:
    """Each enrolment of the contact (newest first) with the steps it ran, in order."""
    enrolments = list(
        Enrolment.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("workflow", "version")
        .order_by("-started_at", "-pk")
    )
    runs: dict[int, list[StepRun]] = {}
    for run in (
        StepRun.objects.for_workspace(workspace)
        .filter(enrolment_id__in=[e.pk for e in enrolments])
        .order_by("ran_at", "pk")
    ):
        runs.setdefault(run.enrolment_id, []).append(run)
    return [{"enrolment": e, "runs": runs.get(e.pk, [])} for e in enrolments]


def tasks_open_for(*, workspace: Workspace, user: Any) -> QuerySet:
    """The open tasks workflows gave this member, the oldest due first."""
    from volano.workflows.models import RepTask, TaskStatus

    return (
        RepTask.objects.for_workspace(workspace)
        .filter(assignee=user, status=TaskStatus.OPEN)
        .select_related("contact", "workflow")
        .order_by("due_on", "created_at", "pk")
    )


def workflow_templates() -> list[dict[str, Any]]:
    """The ready templates (seed 004): slug, name, description and the parameter schema (key,
    type, label, required, default, help) a form can be drawn from."""
    from volano.workflows.catalog import TEMPLATES

    return [
        {
            "slug": t.slug,
            "name": str(t.name),
            "description": str(t.description),
            "parameters": [p.schema() for p in t.params],
        }
        for t in TEMPLATES.values()
    ]


def workflow_path_conversion(*, workspace: Workspace, workflow: Workflow) -> list[dict[str, Any]]:
    """Per split step and path: how many enrolments took it, and how many of those reached
    the goal, completed, or are still in (one grouped query over the step runs)."""
    rows = (
        StepRun.objects.for_workspace(workspace)
        .filter(enrolment__workflow=workflow, kind="split")
        .values("step", "outcome")
        .annotate(
            took=Count("id"),
            goal=Count("id", filter=Q(enrolment__status=EnrolmentStatus.GOAL)),
            completed=Count("id", filter=Q(enrolment__status=EnrolmentStatus.COMPLETED)),
            active=Count("id", filter=Q(enrolment__status=EnrolmentStatus.ACTIVE)),
        )
        .order_by("step", "outcome")
    )
    out = []
    for row in rows:
        took = row["took"]
        out.append(
            {
                "step": row["step"],
                "path": row["outcome"],
                "took": took,
                "goal_reached": row["goal"],
                "completed": row["completed"],
                "active": row["active"],
                "conversion": round(100 * row["goal"] / took, 1) if took else 0.0,
            }
        )
    return out
