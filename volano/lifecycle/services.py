"""Writes for the lifecycle: every stage change leaves a StageChange row and a timeline event.

One function moves contacts, `stages_move`, for one contact (a rep's click, a PATCH) and for a
hundred thousand (a threshold rule after a full score recompute) alike: it locks and reads the
rows that are still in a stage it may move them from, updates them in chunks, and writes the
history rows with bulk inserts, all in one transaction. A contact that another transaction moved
first is not in the set any more, so two workers never move (or hand off) one contact twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DataError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from volano.conditions.compiler import NoReferences
from volano.conditions.failures import refused_reason
from volano.conditions.parse import condition_parse
from volano.conditions.selectors import condition_check, contacts_matching
from volano.conditions.types import Condition, ConditionError
from volano.contacts.models import Contact
from volano.core.activity import activity_record, changes_between
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.facts import StageChanged
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.core.sqlcache import statement_cached
from volano.core.tenancy import ensure_in_workspace
from volano.events.models import Channel, Event, EventType
from volano.lifecycle.models import (
    ChangeSource,
    LifecycleStage,
    StageChange,
    StageName,
    ThresholdRule,
)

logger = logging.getLogger(__name__)

CHUNK = 5_000
# What a threshold rule's condition may name: fields, scores and events, not lists or
# segments (they are refreshed after the rules run). Saving checks with it, running uses it.
THRESHOLD_RULES = NoReferences(gettext_lazy("a threshold rule"))
FEW = 50  # up to this many contacts (an event's), the rule's statement is compiled once
CUSTOMER_FROM = tuple(s for s in LifecycleStage.values if s != LifecycleStage.CUSTOMER)


def _stage_check(stage: str, field: str = "lifecycle_stage") -> str:
    if stage not in LifecycleStage.values:
        raise ApplicationError(
            f"unknown stage {stage!r}; use one of: {', '.join(LifecycleStage.values)}",
            field=field,
        )
    return stage


def stage_set(
    *,
    workspace: Workspace,
    actor: User | None,
    contact: Contact,
    stage: str,
    source: str = ChangeSource.USER,
    reason: str = "",
    product_line: str = "",
) -> bool:
    """Move one contact to `stage` (False when it already is there). Moving to SQL hands the
    lead to sales once the change is committed."""
    if contact.workspace_id != workspace.pk:
        raise NotFound("no such contact")
    _stage_check(stage)
    moved = stages_move(
        workspace=workspace,
        contacts=Contact.objects.for_workspace(workspace).filter(pk=contact.pk),
        to_stage=stage,
        source=source,
        actor=actor,
        reason=reason,
        product_line=product_line,
    )
    if moved:
        contact.lifecycle_stage = stage
    return bool(moved)


def stages_move(
    *,
    workspace: Workspace,
    contacts: QuerySet[Contact],
    to_stage: str,
    source: str,
    actor: User | None = None,
    reason: str = "",
    rule: ThresholdRule | None = None,
    from_stages: Sequence[str] | None = None,
    product_line: str = "",
    now: dt.datetime | None = None,
) -> list[int]:
    """Move the contacts of `contacts` that are in one of `from_stages` (default: any other
    stage) to `to_stage`. Returns the ids moved."""
    ensure_in_workspace(rule, workspace)
    _stage_check(to_stage)
    now = now or timezone.now()
    allowed = [s for s in (from_stages or LifecycleStage.values) if s != to_stage]
    with transaction.atomic():
        rows = list(
            contacts.filter(workspace=workspace, lifecycle_stage__in=allowed)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "lifecycle_stage")
        )
        if not rows:
            return []
        ids = [pk for pk, _ in rows]
        for start in range(0, len(ids), CHUNK):
            Contact.objects.for_workspace(workspace).filter(
                pk__in=ids[start : start + CHUNK]
            ).update(lifecycle_stage=to_stage, lifecycle_changed_at=now, updated_at=now)
        properties = {"to": to_stage, "source": source}
        if reason:
            properties["reason"] = reason
        if rule is not None:
            properties["rule"] = rule.name
        if actor is not None:
            properties["by"] = actor.email
        StageChange.objects.bulk_create(
            (
                StageChange(
                    workspace=workspace,
                    contact_id=pk,
                    from_stage=old,
                    to_stage=to_stage,
                    changed_at=now,
                    source=source,
                    actor=actor,
                    rule=rule,
                    reason=reason[:300],
                )
                for pk, old in rows
            ),
            batch_size=CHUNK,
        )
        Event.objects.bulk_create(
            (
                Event(
                    workspace=workspace,
                    contact_id=pk,
                    type=EventType.LIFECYCLE_CHANGED,
                    occurred_at=now,
                    received_at=now,
                    channel=Channel.SYSTEM,
                    source="volano",
                    properties={"from": old, **properties},
                )
                for pk, old in rows
            ),
            batch_size=CHUNK,
        )
        announce(
            StageChanged(
                workspace_id=workspace.pk,
                contact_ids=frozenset(ids),
                to_stage=to_stage,
                product_line=product_line,
                why=reason,
            )
        )
        single = len(rows) == 1
        activity_record(  # one row per move, however many contacts it moved
            workspace=workspace,
            actor=actor,
            verb="stage.set" if single else "stages.move",
            object_type="contact",
            object_id=ids[0] if single else None,
            contact_id=ids[0] if single else None,
            changes={
                "lifecycle_stage": [rows[0][1], to_stage] if single else to_stage,
                "contacts": len(ids),
                "source": source,
                **({"rule": rule.name} if rule is not None else {}),
            },
        )
    return ids


def contacts_become_customers(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int],
    source: str,
    actor: User | None = None,
    reason: str = "",
) -> list[int]:
    """A won deal or a first order makes its contact a Customer (whatever the stage before)."""
    ids = sorted(set(contact_ids))
    moved: list[int] = []
    for start in range(0, len(ids), CHUNK):
        moved += stages_move(
            workspace=workspace,
            contacts=Contact.objects.for_workspace(workspace).filter(
                pk__in=ids[start : start + CHUNK]
            ),
            to_stage=LifecycleStage.CUSTOMER,
            source=source,
            actor=actor,
            reason=reason,
            from_stages=CUSTOMER_FROM,
        )
    return moved


def stage_rename(*, workspace: Workspace, actor: User | None, stage: str, name: str) -> None:
    """A workspace's own name for a stage; an empty name restores the default."""
    _stage_check(stage, "stage")
    name = name.strip()
    if len(name) > 60:
        raise ApplicationError("at most 60 characters", field="name")
    with transaction.atomic():
        if name:
            StageName.objects.for_workspace(workspace).update_or_create(
                workspace=workspace, stage=stage, defaults={"name": name}
            )
        else:
            StageName.objects.for_workspace(workspace).filter(stage=stage).delete()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="stage.rename",
            object_type="stage",
            changes={"stage": stage, "name": name or None},
        )


# -- threshold rules --------------------------------------------------------------------------


def _rule_condition(workspace: Workspace, rule: ThresholdRule) -> Condition:
    return _condition_cached(
        workspace.pk, rule.pk, rule.updated_at, json.dumps(rule.condition, sort_keys=True)
    )


@functools.lru_cache(maxsize=256)
def _condition_cached(
    workspace_id: int, rule_id: int, updated_at: dt.datetime, definition: str
) -> Condition:
    workspace = Workspace.objects.get(pk=workspace_id)
    return condition_parse(json.loads(definition), workspace=workspace)


def _rule_matches(
    workspace: Workspace,
    rule: ThresholdRule,
    condition: Condition,
    ids: list[int],
    now: dt.datetime,
) -> list[int]:
    def build(slots: list[int]) -> tuple[str, Any]:
        query = (
            contacts_matching(
                workspace=workspace, condition=condition, now=now, resolver=THRESHOLD_RULES
            )
            .filter(pk__in=slots, lifecycle_stage__in=rule.from_stages)
            .values_list("pk")
            .query
        )
        return query.sql_with_params()

    statement = statement_cached(("threshold", rule.pk, rule.updated_at, now), len(ids), build)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(ids))
        return [row[0] for row in cursor.fetchall()]


def threshold_rule_save(
    *, workspace: Workspace, actor: User | None, data: dict, rule: ThresholdRule | None = None
) -> ThresholdRule:
    """Create (or replace, with `rule`) a threshold rule. Every problem is reported at once."""
    ensure_in_workspace(rule, workspace)
    errors: list[dict] = []
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append({"field": "name", "message": "is required"})
    elif len(name) > 120:
        errors.append({"field": "name", "message": "at most 120 characters"})
    from_stages = data.get("from_stages") or []
    if not isinstance(from_stages, list) or not from_stages:
        errors.append({"field": "from_stages", "message": "list the stages a contact moves from"})
        from_stages = []
    for index, stage in enumerate(from_stages):
        if stage not in LifecycleStage.values:
            errors.append({"field": f"from_stages[{index}]", "message": f"unknown stage {stage!r}"})
    to_stage = data.get("to_stage")
    if to_stage not in LifecycleStage.values:
        errors.append(
            {
                "field": "to_stage",
                "message": f"expected one of: {', '.join(LifecycleStage.values)}",
            }
        )
    elif to_stage in from_stages:
        errors.append({"field": "to_stage", "message": "a rule cannot move a stage to itself"})
    condition = data.get("condition")
    if condition in (None, {}, []):
        errors.append({"field": "condition", "message": "is required"})
    else:
        try:
            condition_check(workspace=workspace, definition=condition, resolver=THRESHOLD_RULES)
        except ConditionError as error:
            errors.append({"field": error.field or "condition", "message": error.message})
    position = data.get("position", rule.position if rule else None)
    if position is None:
        position = ThresholdRule.objects.for_workspace(workspace).count()
    if not isinstance(position, int) or position < 0:
        errors.append({"field": "position", "message": "expected a whole number ≥ 0"})
    clash = ThresholdRule.objects.for_workspace(workspace).filter(name=name)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if name and clash.exists():
        errors.append({"field": "name", "message": "another rule has this name"})
    if errors:
        raise ValidationFailed(errors)
    values = {
        "name": name,
        "from_stages": from_stages,
        "to_stage": to_stage,
        "condition": condition,
        "position": position,
        "product_line": str(data.get("product_line") or "").strip()[:60],
        "active": bool(data.get("active", True)),
        "disabled_reason": "",
        "disabled_at": None,
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        if rule is None:
            rule = ThresholdRule.objects.create(workspace=workspace, **values)
            before: dict = {}
        else:
            before = {key: getattr(rule, key) for key in values}
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
        changed = changes_between(before, values)
        changed.pop("updated_at", None)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="threshold_rule.save",
            obj=rule,
            changes=changed,
        )
    return rule


def threshold_rule_delete(*, workspace: Workspace, actor: User | None, rule: ThresholdRule) -> None:
    if rule.workspace_id != workspace.pk:
        raise NotFound("no such rule")
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="threshold_rule.delete",
            obj=rule,
            changes={"name": [rule.name, None]},
        )
        rule.delete()


def thresholds_apply(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    stamped_at: dt.datetime | None = None,
) -> dict[str, int]:
    """Run the active threshold rules in order, over `contact_ids` or every contact, as of
    `now`; the moves are stamped `stamped_at` (default `now`).

    Rules run one after the other, so a contact can climb Lead → MQL → SQL in one pass when
    both rules hold. Returns {rule name: contacts moved}.
    """
    now = now or timezone.now()
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids == []:
        return {}
    moved: dict[str, int] = {}
    for rule in ThresholdRule.objects.for_workspace(workspace).filter(active=True):
        try:
            # A savepoint: a rule that fails leaves nothing half-done and, on PostgreSQL, does
            # not abort the transaction the other rules (and the scores) run in.
            with transaction.atomic():
                moved[rule.name] = _rule_apply(workspace, rule, ids, now, stamped_at or now)
        except (ConditionError, DataError) as error:
            _rule_disable(workspace, rule, error, now)
    return moved


def _rule_apply(
    workspace: Workspace,
    rule: ThresholdRule,
    ids: list[int] | None,
    now: dt.datetime,
    stamped_at: dt.datetime,
) -> int:
    condition = _rule_condition(workspace, rule)
    if ids is not None and len(ids) <= FEW:
        # After an event: which of these few contacts the rule takes, with a statement
        # compiled once per rule and moment (the condition is not compiled again here);
        # only those are then locked and moved.
        found = _rule_matches(workspace, rule, condition, ids, now)
        if not found:
            return 0
        matching = Contact.objects.for_workspace(workspace).filter(pk__in=found)
    else:
        matching = contacts_matching(
            workspace=workspace, condition=condition, now=now, resolver=THRESHOLD_RULES
        )
        if ids is not None:
            matching = matching.filter(pk__in=ids)
    done = stages_move(
        workspace=workspace,
        contacts=matching,
        to_stage=rule.to_stage,
        source=ChangeSource.RULE,
        reason=rule.name,
        rule=rule,
        from_stages=rule.from_stages,
        product_line=rule.product_line,
        now=stamped_at,
    )
    return len(done)


def _rule_disable(
    workspace: Workspace, rule: ThresholdRule, error: Exception, now: dt.datetime
) -> None:
    """Switch off a rule whose condition cannot run any more (a row written past the service,
    a custom field or score model it names deleted), saying why: the other rules go on."""
    reason = refused_reason(error)
    if isinstance(error, ConditionError):
        reason = reason.replace("conditions", "condition", 1)  # a rule has one condition
    logger.warning("threshold rule %s of workspace %s disabled: %s", rule.pk, workspace.pk, reason)
    ThresholdRule.objects.for_workspace(workspace).filter(pk=rule.pk).update(
        active=False, disabled_reason=reason[:500], disabled_at=now
    )
