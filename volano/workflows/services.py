"""Writes of the workflows domain: workflows and their versions, enrolments, and the engine that
runs due steps (docs/workflows.md).

The engine (`workflows_run_due`) claims due enrolments in batches by locking them (`SELECT …
FOR UPDATE SKIP LOCKED` on PostgreSQL, so another worker skips them; SQLite's IMMEDIATE
transactions serialise workers): the claim writes nothing, and the whole pass is one
transaction. It groups them by (version, step) and runs each group set-based in a savepoint:
the goal is checked first (one statement), the StepRun rows are inserted (one INSERT … SELECT
per outcome, RETURNING the ids it wrote; the unique key makes the step exactly-once), the step
acts on exactly those (one UPDATE of the contacts, one INSERT of deliveries into the step's
mailing…), and the enrolments move to their next step with its due time (one UPDATE per
outcome). Every id list is one parameter (`_ids`). A crash rolls the pass back and lets go of
its locks: the steps run once, at the next pass. A group that fails rolls back its savepoint
and pauses its workflow.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Lookup, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import contacts_matching
from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.db import db_now
from volano.core.errors import ApplicationError
from volano.core.models import User, Workspace
from volano.core.tenancy import ensure_in_workspace
from volano.workflows.definition import definition_parse
from volano.workflows.models import (
    Enrolment,
    EnrolmentStatus,
    Reenrolment,
    StepRun,
    Workflow,
    WorkflowMailing,
    WorkflowStatus,
    WorkflowVersion,
)

logger = logging.getLogger(__name__)

BATCH = 10_000  # enrolments claimed per pass
CLAIM_LEASE = dt.timedelta(minutes=10)  # a claim older than this belongs to a dead worker
MAX_PASSES = 1_000  # a safety bound on one run (each pass moves every enrolment it claims)


# -- workflows ----------------------------------------------------------------------------------


def _settings_clean(reenrolment: str, reenrolment_days: int) -> tuple[str, int]:
    if reenrolment not in Reenrolment.values:
        raise ApplicationError(
            _("re-enrolment is one of: %(values)s") % {"values": ", ".join(Reenrolment.values)},
            field="reenrolment",
        )
    if reenrolment == Reenrolment.AFTER_DAYS and not 1 <= reenrolment_days <= 3650:
        raise ApplicationError(
            _("re-enrolment after days needs a number of days from 1 to 3650"),
            field="reenrolment_days",
        )
    return reenrolment, reenrolment_days if reenrolment == Reenrolment.AFTER_DAYS else 0


def workflow_create(
    *,
    workspace: Workspace,
    actor: User | None,
    definition: Any,
    slug: str = "",
    reenrolment: str = Reenrolment.NEVER,
    reenrolment_days: int = 0,
) -> Workflow:
    """A draft workflow. Its definition is checked in shape now (DefinitionError naming the
    step); templates, lists and workflows it names are checked when it is published."""
    definition_parse(definition, workspace=workspace, check_references=False)
    reenrolment, reenrolment_days = _settings_clean(reenrolment, reenrolment_days)
    base = slugify(slug or definition["name"])[:70] or "workflow"
    candidate, n = base, 1
    workflows = Workflow.objects.for_workspace(workspace)
    if slug and workflows.filter(slug=base).exists():
        raise ApplicationError(
            _("a workflow %(slug)s already exists") % {"slug": repr(base)}, field="slug"
        )
    while workflows.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    with transaction.atomic():
        workflow = Workflow.objects.create(
            workspace=workspace,
            name=definition["name"].strip(),
            slug=candidate,
            draft=definition,
            reenrolment=reenrolment,
            reenrolment_days=reenrolment_days,
            created_by=actor,
        )
        activity_record(workspace=workspace, actor=actor, verb="workflow.create", obj=workflow)
    return workflow


def workflow_update(
    *,
    workspace: Workspace,
    actor: User | None,
    workflow: Workflow,
    definition: Any,
    reenrolment: str | None = None,
    reenrolment_days: int | None = None,
) -> Workflow:
    """Replace the draft. A published version keeps running until the next publish."""
    ensure_in_workspace(workflow, workspace)
    definition_parse(definition, workspace=workspace, check_references=False)
    settings = _settings_clean(
        reenrolment if reenrolment is not None else workflow.reenrolment,
        reenrolment_days if reenrolment_days is not None else workflow.reenrolment_days,
    )
    with transaction.atomic():
        workflow.draft = definition
        workflow.name = definition["name"].strip()
        workflow.reenrolment, workflow.reenrolment_days = settings
        workflow.updated_at = timezone.now()
        workflow.save()
        activity_record(workspace=workspace, actor=actor, verb="workflow.update", obj=workflow)
    return workflow


def workflow_publish(*, workspace: Workspace, actor: User | None, workflow: Workflow) -> Workflow:
    """Freeze the draft as a new version, checked in full (references too), and start it:
    contacts enrolled from now on take this version; enrolments under way stay on theirs."""
    ensure_in_workspace(workflow, workspace)
    graph = definition_parse(workflow.draft, workspace=workspace, check_references=True)
    with transaction.atomic():
        locked = Workflow.objects.for_workspace(workspace).select_for_update().get(pk=workflow.pk)
        number = (locked.versions.order_by("-number").values_list("number", flat=True).first()) or 0
        version = WorkflowVersion.objects.create(
            workspace=workspace,
            workflow=locked,
            number=number + 1,
            definition=locked.draft,
            graph=graph,
            published_by=actor,
        )
        locked.published_version = version
        locked.status = WorkflowStatus.PUBLISHED
        locked.paused_reason = ""
        locked.category = graph.get("category") or ""
        locked.updated_at = timezone.now()
        locked.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="workflow.publish",
            obj=locked,
            changes={"version": version.number},
        )
        transaction.on_commit(functools.partial(_run_soon, workspace.pk))
    return locked


def workflow_pause(
    *, workspace: Workspace, actor: User | None, workflow: Workflow, reason: str = ""
) -> Workflow:
    """Stop enrolling and stop running steps; enrolments wait where they are until the next
    publish (a wait that ran out meanwhile runs then)."""
    ensure_in_workspace(workflow, workspace)
    if workflow.status != WorkflowStatus.PUBLISHED:
        raise ApplicationError(_("only a published workflow can be paused"), field="status")
    with transaction.atomic():
        Workflow.objects.for_workspace(workspace).filter(pk=workflow.pk).update(
            status=WorkflowStatus.PAUSED, paused_reason=reason[:300], updated_at=timezone.now()
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="workflow.pause",
            obj=workflow,
            changes={"reason": reason} if reason else None,
        )
    workflow.refresh_from_db()
    return workflow


# -- enrolment ----------------------------------------------------------------------------------


def workflow_enrol(
    *,
    workspace: Workspace,
    actor: User | None,
    workflow: Workflow,
    contacts: QuerySet[Contact],
    source: str,
    now: dt.datetime | None = None,
) -> int:
    """Enrol the contacts of `contacts` (of this workspace) in the published version, in one
    INSERT … SELECT: not those with an active enrolment in the workflow (at most one, a partial
    unique constraint), and only as often as the re-enrolment rule allows. The first step is
    due at once and runs within seconds. Returns how many were enrolled."""
    ensure_in_workspace(workflow, workspace)
    if workflow.status != WorkflowStatus.PUBLISHED or workflow.published_version_id is None:
        raise ApplicationError(_("the workflow is not published"), field="workflow")
    now = now or timezone.now()
    version = WorkflowVersion.objects.for_workspace(workspace).get(pk=workflow.published_version_id)
    mine = Enrolment.objects.for_workspace(workspace).filter(
        workflow_id=workflow.pk, contact_id=OuterRef("pk")
    )
    previous = Coalesce(
        Subquery(mine.values("contact_id").annotate(n=Count("id")).values("n")[:1]),
        Value(0),
    )
    picked = Contact.objects.for_workspace(workspace).filter(pk__in=contacts.values("pk"))
    # None of them was ever in the workflow (a first enrolment, the common case): every
    # occurrence is 1 and nothing needs excluding. Without this fast path PostgreSQL ran the
    # per-contact count below over the very index the INSERT was filling (planned for an
    # empty table): minutes for 100,000 contacts (bench.workflows).
    first_time = (
        not Enrolment.objects.for_workspace(workspace)
        .filter(workflow_id=workflow.pk, contact_id__in=picked.values("pk"))
        .exists()
    )
    if first_time:
        picked = picked.annotate(previous=Value(0))
    else:
        picked = picked.filter(~Exists(mine.filter(status=EnrolmentStatus.ACTIVE))).annotate(
            previous=previous
        )
    suppress = version.graph.get("suppress_while_in") or []
    if suppress:  # not while active in a workflow of one of these categories
        picked = picked.filter(
            ~Exists(
                Enrolment.objects.for_workspace(workspace)
                .filter(
                    contact_id=OuterRef("pk"),
                    status=EnrolmentStatus.ACTIVE,
                    workflow__category__in=suppress,
                )
                .exclude(workflow_id=workflow.pk)
            )
        )
    if first_time:
        pass
    elif workflow.reenrolment == Reenrolment.NEVER:
        picked = picked.filter(~Exists(mine))
    elif workflow.reenrolment == Reenrolment.AFTER_DAYS:
        since = now - dt.timedelta(days=workflow.reenrolment_days)
        picked = picked.filter(~Exists(mine.filter(started_at__gte=since)))
    rows = picked.annotate(occurrence=F("previous") + 1).values("pk", "occurrence")
    sql, params = rows.query.sql_with_params()
    q = connection.ops.quote_name
    columns = [
        "workspace_id", "workflow_id", "version_id", "contact_id", "occurrence", "status", "step",
        "due_at", "claimed_by", "started_at", "exit_reason", "source", "waiting_since",
    ]  # fmt: skip
    at = db_now(now)
    due = db_now(_due_on_arrival(version.graph, version.graph["start"], now))
    statement = (
        f"INSERT INTO {Enrolment._meta.db_table} ({', '.join(q(c) for c in columns)}) "
        f"SELECT %s, %s, %s, r.{q('pk')}, r.{q('occurrence')}, %s, %s, %s, '', %s, '', %s, %s "
        f"FROM ({sql}) r WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                statement,
                [
                    workspace.pk, workflow.pk, version.pk, EnrolmentStatus.ACTIVE,
                    version.graph["start"], due, at, source[:40], at, *params,
                ],
            )  # fmt: skip
            count = max(cursor.rowcount, 0)
        if count:
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="workflow.enrol",
                obj=workflow,
                changes={"contacts": count, "source": source, "version": version.number},
            )
            transaction.on_commit(functools.partial(_run_soon, workspace.pk))
    return count


def workflow_enrol_ids(
    *,
    workspace: Workspace,
    actor: User | None,
    workflow: Workflow,
    contact_ids: Iterable[int],
    source: str,
) -> int:
    ids = sorted({int(i) for i in contact_ids})
    contacts = Contact.objects.for_workspace(workspace).filter(pk__in=ids)
    return workflow_enrol(
        workspace=workspace, actor=actor, workflow=workflow, contacts=contacts, source=source
    )


def workflows_enrol_matching(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int] | None,
    accepts: Any,
    source: str,
) -> int:
    """The triggers' side: for every published workflow whose trigger `accepts(trigger)` gives
    a condition (or True: every contact given), enrol the given contacts (None: the workspace)
    that match it. One statement per workflow."""
    total = 0
    published = (
        Workflow.objects.for_workspace(workspace)
        .filter(status=WorkflowStatus.PUBLISHED, published_version__isnull=False)
        .select_related("published_version")
    )
    for workflow in published:
        verdict = accepts(workflow.published_version.graph["trigger"])
        if verdict is None or verdict is False:
            continue
        contacts = Contact.objects.for_workspace(workspace)
        if contact_ids is not None:
            contacts = contacts.filter(pk__in=sorted(contact_ids))
        if verdict is not True:
            from volano.segments.resolver import SegmentResolver

            condition = condition_parse(verdict, workspace=workspace)
            contacts = contacts.filter(
                pk__in=contacts_matching(
                    workspace=workspace, condition=condition, resolver=SegmentResolver(workspace)
                ).values("pk")
            )
        try:
            total += workflow_enrol(
                workspace=workspace, actor=None, workflow=workflow, contacts=contacts, source=source
            )
        except ApplicationError:
            logger.exception("workflows: could not enrol in %s", workflow.slug)
    return total


def _run_soon(workspace_id: int) -> None:
    from volano.workflows.tasks import workflows_run_due_task

    try:
        workflows_run_due_task.enqueue(workspace_id)
    except Exception:  # the sweeper finds the due enrolments
        logger.exception("workflows: could not enqueue the due work of workspace %s", workspace_id)


# -- the engine ---------------------------------------------------------------------------------


def _worker_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:10]}"[:80]


class _AnyOf(Lookup):
    """`column IN (ids)` with the ids as ONE parameter: `= ANY(%s::bigint[])` on PostgreSQL,
    `IN (SELECT value FROM json_each(%s))` on SQLite. A batch's 10,000 ids as 10,000 literal
    parameters cost more to compile, quote and parse than the statement takes to run."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        ids = [int(pk) for pk in self.rhs]
        if connection.vendor == "postgresql":  # the array's text: one quoted string to send
            array = "{" + ",".join(map(str, ids)) + "}"
            return f"{lhs} = ANY(%s::bigint[])", (*params, array)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*params, json.dumps(ids))


def _ids(column: str, ids: Iterable[int]) -> _AnyOf:
    return _AnyOf(F(column), list(ids))


def _claim(workspace: Workspace, now: dt.datetime, size: int) -> list[tuple]:
    """Lock up to `size` due enrolments of running workflows for the caller's transaction
    (`FOR UPDATE SKIP LOCKED` on PostgreSQL: another worker skips them; SQLite's IMMEDIATE
    transactions serialise workers) and return (id, contact_id, version_id, step). Nothing is
    written: the lock is the claim, and a worker that dies lets go of it with its transaction.
    A row still stamped `claimed_at` (a lease) is left to the sweeper."""
    due = (
        Enrolment.objects.for_workspace(workspace)
        .filter(
            status=EnrolmentStatus.ACTIVE,
            due_at__lte=now,
            claimed_at__isnull=True,
            workflow__status=WorkflowStatus.PUBLISHED,
        )
        .order_by("due_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    return list(due.values_list("id", "contact_id", "version_id", "step")[:size])


def workflows_run_due(
    *,
    workspace: Workspace,
    now: dt.datetime | None = None,
    batch: int = BATCH,
    catch_up: bool = False,
) -> dict[str, int]:
    """Run every step due by `now` (default: now) as if it were `now`: the steps record that
    moment and the waits they start count from it; steps that follow at once run in the same
    call. Running it again for the same moment finds nothing due. Returns {"steps": N,
    "enrolments": M} (M: enrolments claimed)."""
    now = now or timezone.now()
    token = _worker_token()
    steps = claimed = 0
    versions: dict[int, WorkflowVersion] = {}
    workflows_date_triggers(workspace=workspace, now=now)
    for _pass in range(MAX_PASSES):
        if catch_up:
            # the CLI's catch-up (`run-due --as-of`): the wait_for steps whose event happened
            # by `now` go on, as the reaction would have made them when the event came (a
            # reaction lost in downtime, or, in tests, events dated in the as-of future)
            workflows_wake_waiting(workspace=workspace, contact_ids=None, event_types=None, now=now)
        # one transaction per pass: the claim's locks hold until every group of it has run
        # (each group in its own savepoint, so one failing step pauses only its workflow)
        with transaction.atomic():
            rows = _claim(workspace, now, batch)
            if not rows:
                break
            claimed += len(rows)
            groups: dict[tuple[int, str], dict[int, int]] = {}
            for pk, contact_id, version_id, step_key in rows:
                groups.setdefault((version_id, step_key), {})[pk] = contact_id
            for (version_id, step_key), members in groups.items():
                if version_id not in versions:
                    versions[version_id] = (
                        WorkflowVersion.objects.for_workspace(workspace)
                        .select_related("workflow")
                        .get(pk=version_id)
                    )
                try:
                    with transaction.atomic():
                        steps += _group_run(
                            workspace, versions[version_id], step_key, members, token, now
                        )
                except Exception as error:
                    logger.exception(
                        "workflows: step %s of version %s failed", step_key, version_id
                    )
                    _group_failed(workspace, version_id, step_key, error)
    webhooks_deliver_due(workspace=workspace, now=now)
    return {"steps": steps, "enrolments": claimed}


def workflows_date_triggers(*, workspace: Workspace, now: dt.datetime | None = None) -> int:
    """The date_property triggers, once a day per workflow: enrol the contacts whose date field
    plus the offset falls on a day since the last check, up to today (the workspace's time
    zone); one statement per workflow, the condition language's `between` on the field."""
    from zoneinfo import ZoneInfo

    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(workspace.time_zone)).date()
    total = 0
    due = (
        Workflow.objects.for_workspace(workspace)
        .filter(
            status=WorkflowStatus.PUBLISHED,
            published_version__graph__trigger__kind="date_property",
        )
        .filter(Q(date_checked_on__isnull=True) | Q(date_checked_on__lt=today))
        .select_related("published_version")
    )
    for workflow in due:
        trigger = workflow.published_version.graph["trigger"]  # type: ignore[union-attr]
        first = today
        if workflow.date_checked_on is not None:
            first = max(
                workflow.date_checked_on + dt.timedelta(days=1), today - dt.timedelta(days=365)
            )
        shift = dt.timedelta(days=trigger["offset_days"])
        window = [(first - shift).isoformat(), (today - shift).isoformat()]
        condition = condition_parse(
            {"field": trigger["field"], "op": "between", "value": window}, workspace=workspace
        )
        contacts = contacts_matching(
            workspace=workspace, condition=condition, now=now, resolver=_resolver(workspace)
        )
        with transaction.atomic():
            updated = (
                Workflow.objects.for_workspace(workspace)
                .filter(pk=workflow.pk)
                .filter(Q(date_checked_on__isnull=True) | Q(date_checked_on__lt=today))
                .update(date_checked_on=today)
            )
            if updated:  # another worker did not take this day first
                total += workflow_enrol(
                    workspace=workspace, actor=None, workflow=workflow, contacts=contacts,
                    source="date_property", now=now,
                )  # fmt: skip
    return total


def _group_failed(workspace: Workspace, version_id: int, step_key: str, error: Exception) -> None:
    """A step that cannot run (a template deleted since publishing…): the workflow is paused
    with the reason; its enrolments (the group's savepoint rolled back) stay at the step for
    the next publish."""
    version = WorkflowVersion.objects.for_workspace(workspace).get(pk=version_id)
    reason = _("step %(step)s failed: %(error)s") % {
        "step": step_key,
        "error": getattr(error, "message", None) or repr(error),
    }
    with transaction.atomic():
        Workflow.objects.for_workspace(workspace).filter(
            pk=version.workflow_id, status=WorkflowStatus.PUBLISHED
        ).update(status=WorkflowStatus.PAUSED, paused_reason=reason[:300])
        activity_record(
            workspace=workspace,
            actor=None,
            verb="workflow.pause",
            object_type="workflow",
            object_id=version.workflow_id,
            changes={"reason": reason},
        )


def _release(rows: QuerySet, **changes: Any) -> int:
    return rows.update(claimed_at=None, claimed_by="", **changes)


def _resolver(workspace: Workspace) -> Any:
    from volano.segments.resolver import SegmentResolver

    return SegmentResolver(workspace)


# the outcome a step of these kinds records (known before it acts, so its StepRun rows are
# written with it and need no second UPDATE); _act may return another, then they are updated
_ACT_OUTCOMES = {
    "send_email": "queued",
    "send_survey": "queued",
    "update_property": "updated",
    "add_to_list": "done",
    "remove_from_list": "done",
    "change_stage": "done",
    "notify": "notified",
    "adjust_score": "done",
}


def _runs_insert(
    workspace: Workspace, step_key: str, step: dict, pks: list[int], outcome: str,
    batch: str, now: dt.datetime,
) -> list[int]:  # fmt: skip
    """One multi-row INSERT … SELECT of the StepRun rows of `pks` with their outcome; the
    unique key (enrolment, step, occurrence) skips those that ran already. Returns the
    enrolments it wrote (RETURNING): exactly those the step acts on."""
    if not pks:
        return []
    q = connection.ops.quote_name
    sql, params = (
        Enrolment.objects.for_workspace(workspace)
        .filter(_ids("pk", pks), status=EnrolmentStatus.ACTIVE)
        .values("pk")
        .query.sql_with_params()
    )
    columns = [
        "workspace_id", "enrolment_id", "step", "occurrence", "kind", "ran_at", "outcome",
        "batch", "detail",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StepRun._meta.db_table} ({', '.join(q(c) for c in columns)}) "
            f"SELECT %s, g.{q('pk')}, %s, 1, %s, %s, %s, %s, '{{}}' FROM ({sql}) g "
            f"WHERE 1 = 1 ON CONFLICT DO NOTHING RETURNING {q('enrolment_id')}",
            [workspace.pk, step_key, step["kind"], db_now(now), outcome, batch, *params],
        )
        return [row[0] for row in cursor.fetchall()]


def _group_run(
    workspace: Workspace,
    version: WorkflowVersion,
    step_key: str,
    members: dict[int, int],
    token: str,
    now: dt.datetime,
) -> int:
    """Run one step for the claimed enrolments `members` ({enrolment id: contact id}) of one
    version, set-based, in the caller's transaction. Every id list is one parameter."""
    graph = version.graph
    step = graph["steps"][step_key]
    enrolments = Enrolment.objects.for_workspace(workspace)
    batch = f"{token[-10:]}:{uuid.uuid4().hex[:12]}"
    if graph.get("goal") is not None and members:
        goal = condition_parse(graph["goal"], workspace=workspace)
        reached = set(
            contacts_matching(
                workspace=workspace, condition=goal, now=now, resolver=_resolver(workspace)
            )
            .filter(_ids("pk", set(members.values())))
            .values_list("pk", flat=True)
        )
        if reached:
            gone = [pk for pk, contact in members.items() if contact in reached]
            _release(
                enrolments.filter(_ids("pk", gone)),
                status=EnrolmentStatus.GOAL,
                finished_at=now,
                step="",
                due_at=None,
                exit_reason="goal",
            )
            members = {pk: c for pk, c in members.items() if c not in reached}
    pks = sorted(members)

    def insert(ids: list[int], outcome: str = "") -> list[int]:
        return _runs_insert(workspace, step_key, step, ids, outcome, batch, now)

    following = step.get("next")
    done = {"step": "", "due_at": None, "finished_at": now}
    ran_ids: list[int]
    if step["kind"] == "wait":
        ran_ids = insert(pks)
        _advance(
            enrolments.filter(_ids("pk", ran_ids)), graph, following,
            now + dt.timedelta(minutes=step["minutes"]), now,
        )  # fmt: skip
    elif step["kind"] == "branch":
        # the branch is decided over the claimed rows first, so each side's StepRun rows are
        # written with their outcome by one INSERT and moved by one UPDATE
        if "when" in step:
            condition = condition_parse(step["when"], workspace=workspace)
            matching = set(
                contacts_matching(
                    workspace=workspace,
                    condition=condition,
                    now=now,
                    resolver=_resolver(workspace),
                )
                .filter(_ids("pk", set(members.values())))
                .values_list("pk", flat=True)
            )
            yes = [pk for pk in pks if members[pk] in matching]
        else:
            yes = list(
                enrolments.filter(_ids("pk", pks))
                .filter(_email_reaction_q(workspace, version, step["on"]))
                .values_list("pk", flat=True)
            )
        no = sorted(set(pks) - set(yes))
        taken = insert(sorted(yes), "then")
        others = insert(no, "else")
        ran_ids = taken + others
        _advance(enrolments.filter(_ids("pk", taken)), graph, step["then"], now, now)
        _advance(enrolments.filter(_ids("pk", others)), graph, step["else"], now, now)
    elif step["kind"] == "split":
        buckets: dict[int, list[int]] = {}
        for pk in pks:
            index = split_path(members[pk], version.workflow_id, step["weights"])
            buckets.setdefault(index, []).append(pk)
        ran_ids = []
        for index, ids in sorted(buckets.items()):
            wrote = insert(ids, f"path-{index + 1}")
            ran_ids += wrote
            _advance(enrolments.filter(_ids("pk", wrote)), graph, step["paths"][index], now, now)
    elif step["kind"] == "wait_for":
        ran_ids = insert(pks)
        ran = enrolments.filter(_ids("pk", ran_ids))
        matched = set(_wait_for_matched(workspace, version, step, ran, now))
        taken_ids = [pk for pk in ran_ids if pk in matched]
        others = sorted(set(ran_ids) - matched)
        runs = StepRun.objects.for_workspace(workspace).filter(step=step_key, occurrence=1)
        runs.filter(_ids("enrolment_id", taken_ids)).update(outcome="then")
        runs.filter(_ids("enrolment_id", others)).update(outcome="else")
        _advance(enrolments.filter(_ids("pk", taken_ids)), graph, step["then"], now, now)
        _advance(enrolments.filter(_ids("pk", others)), graph, step["else"], now, now)
    elif step["kind"] == "wait_until":
        ran_ids = insert(pks)
        ran = enrolments.filter(_ids("pk", ran_ids))
        for due_at, ids in _wait_until_due(workspace, step, ran, now).items():
            _advance(enrolments.filter(_ids("pk", ids)), graph, following, due_at, now)
    elif step["kind"] == "exit":
        ran_ids = insert(pks)
        _release(
            enrolments.filter(_ids("pk", ran_ids)),
            status=EnrolmentStatus.EXITED,
            exit_reason=(step.get("reason") or _("exit step %(step)s") % {"step": step_key})[:200],
            **done,
        )
    else:
        expected = _ACT_OUTCOMES.get(step["kind"], "")
        ran_ids = insert(pks, expected)
        ran = enrolments.filter(_ids("pk", ran_ids))
        contacts = Contact.objects.for_workspace(workspace).filter(
            _ids("pk", [members[pk] for pk in ran_ids])
        )
        outcome = _act(workspace, version, step_key, step, ran, contacts, now) if ran_ids else ""
        if outcome and outcome != expected:
            StepRun.objects.for_workspace(workspace).filter(
                _ids("enrolment_id", ran_ids), step=step_key, occurrence=1
            ).update(outcome=outcome)
        _advance(ran, graph, following, now, now)
    if ran_ids:
        activity_record(
            workspace=workspace,
            actor=None,
            verb="workflow.step",
            object_type="workflow",
            object_id=version.workflow_id,
            changes={"step": step_key, "kind": step["kind"], "contacts": len(ran_ids)},
        )
    return len(ran_ids)


def split_path(contact_id: int, workflow_id: int, weights: list[int]) -> int:
    """The path (0-based) of a split a contact takes: a deterministic hash of the contact and
    the workflow (Knuth's multiplicative hash), so the same contact always takes the same path
    of a workflow and paths of different workflows are independent."""
    point = ((contact_id * 2654435761 + workflow_id * 40503) % 2**32) % sum(weights)
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    return len(weights) - 1


def _advance(
    rows: QuerySet, graph: dict, following: str | None, due_at: dt.datetime, now: dt.datetime
) -> None:
    """Move the rows to `following`, reached at `due_at`; a wait_for step is due when its
    timeout runs out (an event that happens before wakes it: reactions.py)."""
    if following is None:
        _release(rows, status=EnrolmentStatus.COMPLETED, step="", due_at=None, finished_at=now)
    else:
        _release(
            rows, step=following, due_at=_due_on_arrival(graph, following, due_at),
            waiting_since=due_at,
        )  # fmt: skip


def _due_on_arrival(graph: dict, key: str, arrival: dt.datetime) -> dt.datetime:
    step = graph["steps"][key]
    if step["kind"] == "wait_for":
        return arrival + dt.timedelta(minutes=step["timeout_minutes"])
    return arrival


def _email_reaction_q(workspace: Workspace, version: WorkflowVersion, on: dict) -> Q:
    """The enrolments whose contact opened / clicked the email of one of `on["steps"]` (sent
    by this version to this occurrence of the enrolment)."""
    from volano.emails.models import Delivery

    mailings = WorkflowMailing.objects.for_workspace(workspace).filter(
        version_id=version.pk, step__in=on["steps"], occurrence=OuterRef(OuterRef("occurrence"))
    )
    column = "clicked_at" if on["did"] == "clicked" else "opened_at"
    deliveries = Delivery.objects.for_workspace(workspace).filter(
        mailing_id__in=mailings.values("mailing_id"),
        contact_id=OuterRef("contact_id"),
        **{f"{column}__isnull": False},
    )
    if on["did"] == "opened":  # a click is an open the pixel may have missed
        deliveries = Delivery.objects.for_workspace(workspace).filter(
            Q(opened_at__isnull=False) | Q(clicked_at__isnull=False),
            mailing_id__in=mailings.values("mailing_id"),
            contact_id=OuterRef("contact_id"),
        )
    return Q(Exists(deliveries))


def _act(
    workspace: Workspace,
    version: WorkflowVersion,
    step_key: str,
    step: dict,
    ran: QuerySet,
    contacts: QuerySet[Contact],
    now: dt.datetime,
) -> str:
    """The step's effect on the contacts that reached it; returns the outcome to record."""
    workflow = version.workflow
    kind = step["kind"]
    if kind in ("send_email", "send_survey"):
        return _send(workspace, version, step_key, step, ran)
    if kind == "update_property":
        from volano.contacts.services import contacts_field_set

        contacts_field_set(
            workspace=workspace,
            actor=None,
            contacts=contacts,
            field=step["field"],
            value=step["value"],
            verb="workflow.update_property",
        )
        return "updated"
    if kind in ("add_to_list", "remove_from_list"):
        from volano.segments.models import ContactList
        from volano.segments.services import list_add_contacts, list_remove

        contact_list = (
            ContactList.objects.for_workspace(workspace).filter(slug=step["list"]).first()
        )
        if contact_list is None:
            raise ApplicationError(
                _("no list %(slug)s in this workspace") % {"slug": repr(step["list"])},
                field=step["path"],
            )
        if kind == "add_to_list":
            list_add_contacts(
                workspace=workspace, contact_list=contact_list, contacts=contacts, source="workflow"
            )
        else:
            list_remove(
                workspace=workspace,
                contact_list=contact_list,
                contact_ids=contacts.values_list("pk", flat=True),
            )
        return "done"
    if kind == "change_stage":
        from volano.lifecycle.models import ChangeSource
        from volano.lifecycle.services import stages_move

        stages_move(
            workspace=workspace,
            contacts=contacts,
            to_stage=step["stage"],
            source=ChangeSource.SYSTEM,
            reason=_("workflow %(name)s") % {"name": workflow.name},
            now=now,
        )
        return "done"
    if kind == "notify":
        _notify(workspace, workflow, step_key, step, ran)
        return "notified"
    if kind == "enrol_in_workflow":
        target = Workflow.objects.for_workspace(workspace).filter(slug=step["workflow"]).first()
        if target is None or target.status != WorkflowStatus.PUBLISHED:
            return "not_published"
        workflow_enrol(
            workspace=workspace,
            actor=None,
            workflow=target,
            contacts=contacts,
            source=f"workflow:{workflow.slug}"[:40],
            now=now,
        )
        return "enrolled"
    if kind == "create_task":
        return _tasks_create(workspace, workflow, step_key, step, ran, now)
    if kind == "webhook":
        return _webhooks_queue(workspace, workflow, step_key, step, ran, now)
    if kind == "set_top_section":
        return _top_section_set(workspace, step, contacts, now)
    if kind == "adjust_score":
        from volano.scoring.services import scores_adjust

        try:
            scores_adjust(
                workspace=workspace,
                model_slug=step["model"],
                contacts=contacts,
                points=step["points"],
                source=f"workflow:{workflow.slug}:{step_key}",
                now=now,
            )
        except ApplicationError as refused:  # the model was deleted since publishing
            raise ApplicationError(refused.message, field=step["path"]) from None
        return "done"
    raise ApplicationError(_("unknown step kind %(kind)s") % {"kind": kind}, field=step["path"])


def workflows_wake_waiting(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int] | None,
    event_types: Iterable[str] | None,
    now: dt.datetime | None = None,
) -> int:
    """The reactions' side of wait_for: the enrolments of these contacts waiting at a wait_for
    step whose event has now happened are made due at once (the engine then takes its "then"
    path). One statement per (version, step) the contacts wait at; no polling."""
    now = now or timezone.now()
    types = set(event_types) if event_types is not None else None
    waiting = Enrolment.objects.for_workspace(workspace).filter(
        status=EnrolmentStatus.ACTIVE,
        waiting_since__lte=now,
        due_at__gt=now,
        claimed_at__isnull=True,
        workflow__status=WorkflowStatus.PUBLISHED,
    )
    if contact_ids is not None:
        waiting = waiting.filter(contact_id__in=sorted(contact_ids))
    woken = 0
    pairs = list(waiting.values_list("version_id", "step").distinct())
    versions = {
        v.pk: v
        for v in WorkflowVersion.objects.for_workspace(workspace).filter(
            pk__in={pk for pk, _step in pairs}
        )
    }
    for version_id, step_key in pairs:
        version = versions[version_id]
        step = version.graph["steps"].get(step_key, {})
        if step.get("kind") != "wait_for":
            continue
        if types is not None:
            if "on" in step and not types & {"email_opened", "email_clicked"}:
                continue
            if "event" in step and step["event"].get("event") not in types:
                continue
        rows = waiting.filter(version_id=version_id, step=step_key)
        matched = _wait_for_matched(workspace, version, step, rows, now)
        if matched:
            woken += rows.filter(pk__in=matched).update(due_at=now)
    if woken:
        transaction.on_commit(functools.partial(_run_soon, workspace.pk))
    return woken


# -- waits that end on an event, a weekday or a date ---------------------------------------------


def _wait_for_matched(
    workspace: Workspace, version: WorkflowVersion, step: dict, rows: QuerySet, now: dt.datetime
) -> list[int]:
    """The enrolments of `rows` whose contact did what the wait_for step waits for: opened or
    clicked an email of the workflow, had a matching event since reaching the step, or matches
    the condition now. One statement."""
    if "on" in step:
        return list(
            rows.filter(_email_reaction_q(workspace, version, step["on"])).values_list(
                "pk", flat=True
            )
        )
    if "event" in step:
        from volano.conditions.compiler import condition_events

        node = condition_parse(step["event"], workspace=workspace)
        events = condition_events(workspace=workspace, condition=node, now=now).filter(  # type: ignore[arg-type]
            contact_id=OuterRef("contact_id"),
            occurred_at__gte=OuterRef("waiting_since"),
            occurred_at__lte=now,
        )
        return list(rows.filter(Exists(events)).values_list("pk", flat=True))
    condition = condition_parse(step["when"], workspace=workspace)
    matching = contacts_matching(
        workspace=workspace, condition=condition, now=now, resolver=_resolver(workspace)
    )
    return list(rows.filter(contact_id__in=matching.values("pk")).values_list("pk", flat=True))


def _local_moment(workspace: Workspace, day: dt.date, time: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    hours, minutes = (int(part) for part in time.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=ZoneInfo(workspace.time_zone))


def next_weekday_time(
    workspace: Workspace, weekdays: list[int], time: str, now: dt.datetime
) -> dt.datetime:
    """The first moment at or after `now` that is one of `weekdays` (0 Monday) at `time`, in
    the workspace's time zone."""
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(workspace.time_zone)).date()
    for ahead in range(8):
        day = today + dt.timedelta(days=ahead)
        moment = _local_moment(workspace, day, time)
        if day.weekday() in weekdays and moment >= now:
            return moment
    raise AssertionError("a week always has the weekday")  # pragma: no cover


def _wait_until_due(
    workspace: Workspace, step: dict, rows: QuerySet, now: dt.datetime
) -> dict[dt.datetime, list[int]]:
    """When each enrolment of `rows` goes on: the next weekday and time (the same for all), or
    its contact's date field plus the offset at the step's time (at once when the day has gone
    or the field is empty). Grouped by moment: one UPDATE per distinct day."""
    ids = list(rows.values_list("pk", flat=True))
    if "field" not in step:
        return {next_weekday_time(workspace, step["weekdays"], step["time"], now): ids}
    field = step["field"]
    if field.startswith("custom."):
        from django.db.models.fields.json import KeyTextTransform

        values = rows.annotate(
            value=KeyTextTransform(field.removeprefix("custom."), "contact__custom")
        )
    else:
        values = rows.annotate(value=F(f"contact__{field}"))
    groups: dict[dt.datetime, list[int]] = {}
    for pk, value in values.values_list("pk", "value"):
        day = _as_day(value, workspace)
        moment = now
        if day is not None:
            moment = max(
                now,
                _local_moment(
                    workspace, day + dt.timedelta(days=step["offset_days"]), step["time"]
                ),
            )
        groups.setdefault(moment, []).append(pk)
    return groups


def _as_day(value: Any, workspace: Workspace) -> dt.date | None:
    from zoneinfo import ZoneInfo

    if isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(workspace.time_zone)).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# -- internal steps: tasks, webhooks, the top section ---------------------------------------------


def _assignees(workspace: Workspace, to: str, rows: list[tuple]) -> dict[int, User | None]:
    """contact id → the user a notify or task step goes to (the owner, or the named member)."""
    from volano.core.models import Membership

    if to != "owner":
        membership = (
            Membership.objects.filter(workspace=workspace, user__email__iexact=to)
            .select_related("user")
            .first()
        )
        user = membership.user if membership else None
        return {row[0]: user for row in rows}
    owners = {user.pk: user for user in User.objects.filter(pk__in={r[1] for r in rows if r[1]})}
    return {row[0]: owners.get(row[1]) for row in rows}


def _tasks_create(
    workspace: Workspace,
    workflow: Workflow,
    step_key: str,
    step: dict,
    ran: QuerySet,
    now: dt.datetime,
) -> str:
    """A task per contact for its owner (or the named member), in one INSERT; the rep also
    gets a notification (in the app and by email) linking the task list."""
    from zoneinfo import ZoneInfo

    from volano.notifications.services import notify
    from volano.workflows.models import RepTask

    rows = list(
        ran.values_list("contact_id", "contact__owner_id", "pk", "occurrence",
                        "contact__email", "contact__first_name", "contact__last_name")
    )  # fmt: skip
    assignees = _assignees(workspace, step["to"], rows)
    due_on = None
    if step.get("due_days") is not None:
        due_on = now.astimezone(ZoneInfo(workspace.time_zone)).date() + dt.timedelta(
            days=step["due_days"]
        )
    tasks = [
        RepTask(
            workspace=workspace,
            contact_id=contact_id,
            assignee=assignees.get(contact_id),
            workflow=workflow,
            dedup_key=f"workflow:{pk}:{step_key}:{occurrence}"[:120],
            title=step["title"][:200],
            body=step.get("body") or "",
            due_on=due_on,
            created_at=now,
        )
        for contact_id, _owner, pk, occurrence, *_name in rows
    ]
    RepTask.objects.bulk_create(tasks, ignore_conflicts=True)
    by_user: dict[int, list[str]] = {}
    users: dict[int, User] = {}
    for contact_id, _owner, _pk, _occ, email, first, last in rows:
        user = assignees.get(contact_id)
        if user is not None:
            users[user.pk] = user
            who = " ".join(p for p in (first, last) if p) or email or f"#{contact_id}"
            by_user.setdefault(user.pk, []).append(who)
    for user_pk, names in by_user.items():
        notify(
            workspace=workspace,
            recipients=[users[user_pk]],
            kind="workflow",
            title=step["title"],
            body=_("%(n)s new tasks from the workflow %(workflow)s: %(who)s")
            % {"n": len(names), "workflow": workflow.name, "who": ", ".join(names[:20])},
            link="/workflows/tasks/",
            dedup_key=f"workflow-task:{workflow.pk}:{step_key}:{ran.values_list('pk', flat=True).first()}"[
                :120
            ],
        )
    return "task"


WEBHOOK_ATTEMPTS = 8
WEBHOOK_BACKOFF = dt.timedelta(seconds=30)  # then 1, 2, 4, 8… minutes
WEBHOOK_TIMEOUT = 10  # seconds per attempt


def _webhooks_queue(
    workspace: Workspace,
    workflow: Workflow,
    step_key: str,
    step: dict,
    ran: QuerySet,
    now: dt.datetime,
) -> str:
    """A due WebhookCall per enrolment (one INSERT); they are posted by `webhooks_deliver_due`
    after this transaction, and retried with backoff."""
    import json

    from volano.workflows.models import WebhookCall

    calls = []
    for pk, occurrence, contact_id, email, first, last in ran.values_list(
        "pk", "occurrence", "contact_id", "contact__email", "contact__first_name",
        "contact__last_name",
    ):  # fmt: skip
        key = f"volano-{workspace.pk}-{pk}-{step_key}-{occurrence}"[:120]
        body = {
            "workflow": workflow.slug,
            "step": step_key,
            "enrolment": pk,
            "contact": {"id": contact_id, "email": email, "first_name": first, "last_name": last},
            "at": now.isoformat(),
            **step.get("payload", {}),
        }
        calls.append(
            WebhookCall(
                workspace=workspace,
                enrolment_id=pk,
                contact_id=contact_id,
                step=step_key,
                url=step["url"],
                body=json.dumps(body, sort_keys=True),
                idempotency_key=key,
                due_at=now,
                created_at=now,
            )
        )
    WebhookCall.objects.bulk_create(calls, ignore_conflicts=True)
    return "webhook"


def webhook_signature(secret: str, body: str) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body with the step's secret."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def webhooks_deliver_due(
    *, workspace: Workspace, now: dt.datetime | None = None, limit: int = 500
) -> dict[str, int]:
    """Post the due webhook calls of the workspace: 2xx is sent; anything else (or no answer)
    is tried again after 30 s, 1, 2, 4… minutes, up to WEBHOOK_ATTEMPTS, then failed. Each
    call is claimed first, so two workers never post the same attempt."""
    import urllib.error
    import urllib.request

    from volano.workflows.models import WebhookCall, WebhookStatus

    now = now or timezone.now()
    with transaction.atomic():
        due = WebhookCall.objects.for_workspace(workspace).filter(
            status=WebhookStatus.PENDING, due_at__lte=now, claimed_at__isnull=True
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:limit])
        WebhookCall.objects.for_workspace(workspace).filter(pk__in=ids).update(
            claimed_at=timezone.now()
        )
    counts = {"sent": 0, "retry": 0, "failed": 0}
    secrets: dict[tuple[int, str], str] = {}
    for call in (
        WebhookCall.objects.for_workspace(workspace)
        .filter(pk__in=ids)
        .select_related("enrolment__version")
    ):
        secret = secrets.get((call.enrolment.version_id, call.step))
        if secret is None:
            graph_step = call.enrolment.version.graph["steps"].get(call.step, {})
            secret = secrets[(call.enrolment.version_id, call.step)] = graph_step.get("secret", "")
        request = urllib.request.Request(
            call.url,
            data=call.body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Volano-Webhook/1",
                "Idempotency-Key": call.idempotency_key,
                "X-Volano-Signature": webhook_signature(secret, call.body),
                "X-Volano-Attempt": str(call.attempts + 1),
            },
        )
        status, error = None, ""
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
                status = response.status
        except urllib.error.HTTPError as failure:
            status, error = failure.code, f"HTTP {failure.code}"
        except (OSError, ValueError) as failure:
            error = str(failure)[:300] or failure.__class__.__name__
        attempts = call.attempts + 1
        if status is not None and 200 <= status < 300:
            changes: dict[str, Any] = {"status": WebhookStatus.SENT, "sent_at": now}
            counts["sent"] += 1
        elif attempts >= WEBHOOK_ATTEMPTS:
            changes = {"status": WebhookStatus.FAILED}
            counts["failed"] += 1
        else:
            changes = {"due_at": now + WEBHOOK_BACKOFF * 2 ** (attempts - 1)}
            counts["retry"] += 1
        WebhookCall.objects.for_workspace(workspace).filter(pk=call.pk).update(
            attempts=attempts, last_status=status, last_error=error, claimed_at=None, **changes
        )
    return counts


def _top_section_set(
    workspace: Workspace, step: dict, contacts: QuerySet[Contact], now: dt.datetime
) -> str:
    """Write to the custom field the value of the section (of the contact's page views in the
    last `within_days`, by URL) on which the contact spent the most time (dwell seconds), or
    the default. One aggregate query, then one UPDATE per section."""
    from django.db.models import Case, FloatField, IntegerField, Sum, When
    from django.db.models.functions import Cast

    from volano.conditions.compiler import json_property
    from volano.contacts.services import contacts_field_set
    from volano.events.models import Event

    ids = list(contacts.values_list("pk", flat=True))
    dwell = Coalesce(Cast(json_property("dwell_seconds", "number"), FloatField()), Value(0.0))
    section = Case(
        *[
            When(property_url__icontains=s["url_contains"], then=Value(index))
            for index, s in enumerate(step["sections"])
        ],
        default=Value(-1),
        output_field=IntegerField(),
    )
    totals = (
        Event.objects.for_workspace(workspace)
        .filter(
            contact_id__in=ids,
            type="page_view",
            occurred_at__gte=now - dt.timedelta(days=step["within_days"]),
            occurred_at__lte=now,
        )
        .annotate(section=section)
        .exclude(section=-1)
        .values("contact_id", "section")
        .annotate(seconds=Sum(dwell))
    )
    best: dict[int, tuple[float, int]] = {}
    for row in totals:
        current = best.get(row["contact_id"])
        candidate = (row["seconds"] or 0.0, -row["section"])  # ties: the first section listed
        if current is None or candidate > current:
            best[row["contact_id"]] = candidate
    by_section: dict[int, list[int]] = {}
    for contact_id in ids:
        index = -best[contact_id][1] if contact_id in best else -1
        by_section.setdefault(index, []).append(contact_id)
    for index, members in by_section.items():
        value = step["sections"][index]["value"] if index >= 0 else step.get("default")
        if not value:
            continue
        contacts_field_set(
            workspace=workspace,
            actor=None,
            contacts=Contact.objects.for_workspace(workspace).filter(pk__in=members),
            field=step["field"],
            value=value,
            verb="workflow.update_property",
        )
    return "done"


def _send(
    workspace: Workspace, version: WorkflowVersion, step_key: str, step: dict, ran: QuerySet
) -> str:
    """One mailing per (version, step, occurrence), the contacts that reached the step appended
    by one INSERT … SELECT; consent, suppression and caps apply when each row is claimed."""
    from volano.emails.models import MailingKind
    from volano.emails.sending.services import (
        mailing_add_audience,
        mailing_create,
        mailing_send,
    )

    renderer, params = _mailing_content(workspace, step)
    workflow = version.workflow
    by_occurrence: dict[int, list[int]] = {}
    for contact_id, occurrence in ran.values_list("contact_id", "occurrence"):
        by_occurrence.setdefault(occurrence, []).append(contact_id)
    for occurrence, contact_ids in sorted(by_occurrence.items()):
        link = (
            WorkflowMailing.objects.for_workspace(workspace)
            .filter(version=version, step=step_key, occurrence=occurrence)
            .select_related("mailing")
            .first()
        )
        audience = Contact.objects.for_workspace(workspace).filter(pk__in=sorted(contact_ids))
        if link is not None:
            mailing_add_audience(
                workspace=workspace, actor=None, mailing=link.mailing, audience_queryset=audience
            )
            continue
        mailing = mailing_create(
            workspace=workspace,
            actor=None,
            kind=MailingKind.WORKFLOW,
            renderer=renderer,
            params=params,
            audience_queryset=audience,
            name=f"{workflow.name} · {step_key}"[:200],
            campaign=workflow.slug[:100],
        )
        WorkflowMailing.objects.create(
            workspace=workspace, version=version, step=step_key, occurrence=occurrence,
            mailing=mailing,
        )  # fmt: skip
        mailing_send(workspace=workspace, actor=None, mailing=mailing)
    return "queued"


def _mailing_content(workspace: Workspace, step: dict) -> tuple[str, dict]:
    """(renderer, params) of a send step's mailing. send_email: its template. send_survey: the
    survey's own invitation (renderer "survey"), or its template, which carries the survey's
    link (`{{ survey_link('slug') }}`, checked at publish); the answers' invitation (`wave`)
    is the step's mailing either way."""
    from volano.emails.models import EmailTemplate
    from volano.emails.rendering import template_ensure_sendable, template_mailing_params

    if step["kind"] == "send_survey":
        from volano.surveys.models import Survey
        from volano.surveys.services import RENDERER

        survey = Survey.objects.for_workspace(workspace).filter(slug=step["survey"]).first()
        if survey is None or not survey.active:
            raise ApplicationError(
                _("the survey %(slug)s no longer exists or does not accept answers")
                % {"slug": repr(step["survey"])},
                field=f"{step['path']}.survey",
            )
        if "template" not in step:
            return RENDERER, {"survey_id": survey.pk}
    template = EmailTemplate.objects.for_workspace(workspace).filter(slug=step["template"]).first()
    if template is None:
        raise ApplicationError(
            _("no email template %(slug)s in this workspace") % {"slug": repr(step["template"])},
            field=f"{step['path']}.template",
        )
    template_ensure_sendable(template)
    return "template", template_mailing_params(template, subject=step.get("subject"))


def _notify(
    workspace: Workspace, workflow: Workflow, step_key: str, step: dict, ran: QuerySet
) -> None:
    """One notification per contact, to its owner or to the named member (in the app and by
    email), linking the contact; `dedup_key` keeps a re-run from notifying twice."""
    from volano.core.models import Membership
    from volano.notifications.services import notify

    rows = list(
        ran.values_list("pk", "contact_id", "contact__owner_id", "contact__email",
                        "contact__first_name", "contact__last_name")
    )  # fmt: skip
    named = None
    if step["to"] != "owner":
        membership = (
            Membership.objects.filter(workspace=workspace, user__email__iexact=step["to"])
            .select_related("user")
            .first()
        )
        named = membership.user if membership else None
    owners = {
        user.pk: user
        for user in User.objects.filter(pk__in={row[2] for row in rows if row[2] is not None})
    }
    for enrolment_id, contact_id, owner_id, email, first, last in rows:
        recipient = named or owners.get(owner_id)
        if recipient is None:
            continue
        who = " ".join(part for part in (first, last) if part) or email or f"#{contact_id}"
        notify(
            workspace=workspace,
            recipients=[recipient],
            kind="workflow",
            title=step["title"],
            body=(step.get("body") or "")
            + ("\n" if step.get("body") else "")
            + _("%(contact)s, in the workflow %(workflow)s")
            % {"contact": who, "workflow": workflow.name},
            link=f"/contacts/{contact_id}/",
            object_type="contact",
            object_id=contact_id,
            dedup_key=f"workflow:{enrolment_id}:{step_key}",
        )


# -- the sweeper ----------------------------------------------------------------------------------


def workflows_due_sweep(*, now: dt.datetime | None = None) -> int:
    """The sweeper's pass: claims older than the lease (a worker died mid-step; its transaction
    rolled back) are let go, and each workspace with due enrolments gets a run task. This is
    also what starts the steps whose wait ran out. Returns how many tasks were enqueued."""
    now = now or timezone.now()
    Enrolment.all_workspaces.filter(
        status=EnrolmentStatus.ACTIVE, claimed_at__lt=now - CLAIM_LEASE
    ).update(claimed_at=None, claimed_by="")
    workspaces = list(
        Enrolment.all_workspaces.filter(
            status=EnrolmentStatus.ACTIVE,
            due_at__lte=now,
            claimed_at__isnull=True,
            workflow__status=WorkflowStatus.PUBLISHED,
        )
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    from zoneinfo import ZoneInfo

    from volano.workflows.models import WebhookCall, WebhookStatus

    webhooks = WebhookCall.all_workspaces.filter(
        status=WebhookStatus.PENDING, due_at__lte=now, claimed_at__isnull=True
    ).values_list("workspace_id", flat=True)
    # a call claimed by a worker that died mid-post is posted again (same idempotency key)
    WebhookCall.all_workspaces.filter(
        status=WebhookStatus.PENDING, claimed_at__lt=now - CLAIM_LEASE
    ).update(claimed_at=None)
    dated = {}
    for workspace_id, zone, checked in Workflow.all_workspaces.filter(
        status=WorkflowStatus.PUBLISHED, published_version__graph__trigger__kind="date_property"
    ).values_list("workspace_id", "workspace__time_zone", "date_checked_on"):
        if checked is None or checked < now.astimezone(ZoneInfo(zone)).date():
            dated[workspace_id] = True
    workspaces = sorted({*workspaces, *webhooks.distinct(), *dated})
    for workspace_id in workspaces:
        transaction.on_commit(functools.partial(_run_soon, workspace_id))
    return len(workspaces)


# -- tasks for reps ---------------------------------------------------------------------------------


def task_done(*, workspace: Workspace, actor: User, task_id: int) -> Any:
    """Mark one of the actor's open tasks done (an admin may close anyone's)."""
    from volano.core.errors import NotFound
    from volano.core.models import Membership, Role
    from volano.workflows.models import RepTask, TaskStatus

    task = RepTask.objects.for_workspace(workspace).filter(pk=task_id).first()
    is_admin = Membership.objects.filter(workspace=workspace, user=actor, role=Role.ADMIN).exists()
    if task is None or (task.assignee_id != actor.pk and not is_admin):
        raise NotFound(_("no such task"))
    if task.status == TaskStatus.DONE:
        return task
    with transaction.atomic():
        task.status, task.done_at = TaskStatus.DONE, timezone.now()
        task.save(update_fields=["status", "done_at"])
        activity_record(
            workspace=workspace, actor=actor, verb="workflow.task_done", obj=task,
            contact_id=task.contact_id,
        )  # fmt: skip
    return task


# -- seed 004's templates ---------------------------------------------------------------------------


def workflow_create_from_template(
    *,
    workspace: Workspace,
    actor: User | None,
    template: str,
    parameters: Any,
    slug: str = "",
) -> Workflow:
    """A draft workflow from one of the ready templates (volano/workflows/catalog.py), with its
    email templates (Italian copy, slugs `<workflow>-<key>`) and the custom fields it writes,
    in one transaction. Bad parameters: a 422 naming `parameters.<key>`."""
    from volano.contacts.models import CustomField
    from volano.contacts.services import custom_field_create
    from volano.emails.models import EmailTemplate
    from volano.emails.templating.services import template_save
    from volano.workflows.catalog import TEMPLATES, parameters_clean

    chosen = TEMPLATES.get(template) if isinstance(template, str) else None
    if chosen is None:
        raise ApplicationError(
            _("no workflow template %(slug)s; use one of: %(slugs)s")
            % {"slug": repr(template)[:90], "slugs": ", ".join(TEMPLATES)},
            field="template",
        )
    clean = parameters_clean(chosen, parameters)
    workflows = Workflow.objects.for_workspace(workspace)
    emails = EmailTemplate.objects.for_workspace(workspace)
    base = slugify(slug or clean.get("name") or chosen.slug)[:60] or chosen.slug
    if slug and workflows.filter(slug=base).exists():
        raise ApplicationError(
            _("a workflow %(slug)s already exists") % {"slug": repr(base)}, field="slug"
        )
    prefix, n = base, 1
    while True:
        definition, copies, fields = chosen.build(clean, prefix)
        taken = emails.filter(slug__in=[f"{prefix}-{c.key}" for c in copies]).exists()
        if not taken and not workflows.filter(slug=prefix).exists():
            break
        n += 1
        prefix = f"{base}-{n}"
    with transaction.atomic():
        existing = set(CustomField.objects.for_workspace(workspace).values_list("key", flat=True))
        for key, label in fields:
            if key not in existing:
                custom_field_create(workspace=workspace, key=key, label=label, type="text")
        for copy in copies:
            template_save(
                workspace=workspace, actor=actor, slug=f"{prefix}-{copy.key}", name=copy.name,
                subject=copy.subject, html=copy.html,
            )  # fmt: skip
        workflow = workflow_create(
            workspace=workspace, actor=actor, definition=definition, slug=prefix
        )
        activity_record(
            workspace=workspace, actor=actor, verb="workflow.create_from_template",
            obj=workflow, changes={"template": chosen.slug},
        )  # fmt: skip
    return workflow
