"""Reads for the lifecycle: stage names and counts, a contact's history, the funnel report."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    ValueRange,
    When,
    Window,
)
from django.db.models.functions import Coalesce

from volano.contacts.models import Contact
from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.lifecycle.models import FUNNEL, LifecycleStage, StageChange, StageName, ThresholdRule


def stage_names(*, workspace: Workspace) -> dict[str, str]:
    """{stage: the workspace's name for it}, in funnel order then the side stages."""
    own = dict(StageName.objects.for_workspace(workspace).values_list("stage", "name"))
    return {stage.value: own.get(stage.value) or str(stage.label) for stage in LifecycleStage}


def stage_outcomes_sql(workspace: Workspace, stages: tuple[str, ...]) -> tuple[str, list]:
    """The contacts' changes to one of `stages`, as (contact_id, at) rows: the predictive model's
    outcome moments (registered with `scoring.predictive.outcome_source_register`)."""
    marks = ", ".join(["%s"] * len(stages))
    sql = (
        f"SELECT contact_id, changed_at AS at FROM {StageChange._meta.db_table} "
        f"WHERE workspace_id = %s AND to_stage IN ({marks})"
    )
    return sql, [workspace.pk, *stages]


def stage_counts(*, workspace: Workspace) -> dict[str, int]:
    counts = dict(
        Contact.objects.for_workspace(workspace)
        .values_list("lifecycle_stage")
        .annotate(n=Count("pk"))
        .values_list("lifecycle_stage", "n")
    )
    return {stage: counts.get(stage, 0) for stage in LifecycleStage.values}


def stage_history(*, workspace: Workspace, contact: Contact) -> QuerySet[StageChange]:
    return (
        StageChange.objects.for_workspace(workspace)
        .filter(contact=contact)
        .select_related("actor", "rule")
        .order_by("-changed_at", "-pk")
    )


def threshold_rules(*, workspace: Workspace) -> QuerySet[ThresholdRule]:
    return ThresholdRule.objects.for_workspace(workspace).order_by("position", "pk")


def threshold_rule_get(*, workspace: Workspace, rule_id: int) -> ThresholdRule:
    try:
        return ThresholdRule.objects.for_workspace(workspace).get(pk=rule_id)
    except (ThresholdRule.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such threshold rule") from None


def period_bounds(
    workspace: Workspace, start: dt.date, end: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the workspace's time zone."""
    zone = ZoneInfo(workspace.time_zone)
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def funnel_report(*, workspace: Workspace, start: dt.date, end: dt.date) -> dict:
    """Conversion between the funnel's stages and the time contacts spend in each, for the
    period from `start` to `end` (days, inclusive).

    A contact *passes* a stage when it reaches that stage or a later one of the funnel: a lead
    made a customer in one step (an order, an import) passed MQL, SQL and opportunity too, even
    though its stage history skipped them. So each stage counts no more contacts than the one
    before it. For each stage: `entered` (distinct contacts that passed it in the period; every
    contact created in the period passed Lead), `advanced` (of those, how many reached a
    later stage of the funnel after passing this one, up to today), `rate` = advanced /
    entered, and the median and mean days spent in the stage by the contacts that left it in
    the period.
    """
    since, until = period_bounds(workspace, start, end)
    changes = StageChange.objects.for_workspace(workspace)
    counts = _funnel_counts(workspace, since, until)
    stay = _days_in_stages(workspace, since, until)
    rows = []
    for index, stage in enumerate(FUNNEL):
        later = FUNNEL[index + 1 :]
        entered_count, advanced = counts[index]
        advanced = advanced if later else 0
        days = stay[stage.value]
        rows.append(
            {
                "stage": stage.value,
                "entered": entered_count,
                "advanced": advanced,
                "rate": round(advanced / entered_count, 4) if entered_count and later else None,
                "median_days": round(statistics.median(days), 1) if days else None,
                "mean_days": round(statistics.fmean(days), 1) if days else None,
                "left": len(days),
            }
        )
    side = dict(
        changes.filter(
            changed_at__gte=since,
            changed_at__lt=until,
            to_stage__in=[
                LifecycleStage.DISQUALIFIED,
                LifecycleStage.RECYCLED,
                LifecycleStage.LOST_CUSTOMER,
            ],
        )
        .values_list("to_stage")
        .annotate(n=Count("contact_id", distinct=True))
        .values_list("to_stage", "n")
    )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "stages": rows,
        "disqualified": side.get(LifecycleStage.DISQUALIFIED, 0),
        "recycled": side.get(LifecycleStage.RECYCLED, 0),
        "lost_customers": side.get(LifecycleStage.LOST_CUSTOMER, 0),
    }


def _funnel_counts(
    workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, int]]:
    """(entered, advanced) for each stage of the funnel, in one statement: per contact that
    passed a stage in the period (or was created in it), the first moment it passed each stage
    in the period (`p<i>`: its first change in the period to that stage or a later one; for
    Lead, its creation when that falls in the period) and the last moment it ever reached a
    later stage (`a<i>`); it advanced from stage i when a<i> >= p<i>."""
    changes = StageChange.objects.for_workspace(workspace)
    created_in_period = Q(created_at__gte=since, created_at__lt=until)
    in_period = Q(
        stage_changes__changed_at__gte=since,
        stage_changes__changed_at__lt=until,
    )
    involved = Contact.objects.for_workspace(workspace).filter(
        Q(
            pk__in=changes.filter(
                to_stage__in=FUNNEL, changed_at__gte=since, changed_at__lt=until
            ).values("contact_id")
        )
        | created_in_period
    )
    firsts: dict[str, Any] = {}
    lasts: dict[str, Any] = {}
    for index in range(len(FUNNEL)):
        first: Any = Min(
            Case(
                When(
                    in_period & Q(stage_changes__to_stage__in=FUNNEL[index:]),
                    then=F("stage_changes__changed_at"),
                )
            )
        )
        if index == 0:
            first = Coalesce(Min(Case(When(created_in_period, then=F("created_at")))), first)
        firsts[f"p{index}"] = first
        if index + 1 < len(FUNNEL):
            lasts[f"a{index}"] = Max(
                Case(
                    When(
                        stage_changes__to_stage__in=FUNNEL[index + 1 :],
                        then=F("stage_changes__changed_at"),
                    )
                )
            )
    inner = involved.values("pk").annotate(**firsts, **lasts).values(*firsts, *lasts)
    sql, params = inner.query.sql_with_params()
    parts = []
    for index in range(len(FUNNEL)):
        parts.append(f"COUNT(q.p{index})")
        parts.append(
            f"SUM(CASE WHEN q.a{index} >= q.p{index} THEN 1 ELSE 0 END)"
            if index + 1 < len(FUNNEL)
            else "0"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)} FROM ({sql}) AS q", params)
        row = cursor.fetchone()
    return [(int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i in range(len(FUNNEL))]


def _days_in_stages(
    workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> dict[str, list[float]]:
    """`_days_in_stage` of every stage of the funnel in one statement: over each contact's
    changes in time order, the last moment it entered each stage so far (a window's running
    maximum over the changes up to the same moment), read at each exit in the period."""
    changes = StageChange.objects.for_workspace(workspace)
    exits = Q(from_stage__in=FUNNEL, changed_at__gte=since, changed_at__lt=until)
    so_far = {
        stage.value: Window(
            Max(Case(When(to_stage=stage, then=F("changed_at")))),
            partition_by=[F("contact_id")],
            order_by=F("changed_at").asc(),
            frame=ValueRange(start=None, end=0),
        )
        for stage in FUNNEL
    }
    entered = Case(
        *[
            When(from_stage=stage, then=so_far[stage.value])
            for stage in FUNNEL
            if stage != LifecycleStage.LEAD
        ],
        default=Coalesce(so_far[LifecycleStage.LEAD.value], F("contact__created_at")),
    )
    inner = (
        changes.filter(contact_id__in=changes.filter(exits).values("contact_id"))
        .annotate(
            is_exit=Case(When(exits, then=Value(1)), default=Value(0)),
            stayed=ExpressionWrapper(F("changed_at") - entered, output_field=DurationField()),
        )
        .values("from_stage", "is_exit", "stayed")
    )
    sql, params = inner.query.sql_with_params()
    days: dict[str, list[float]] = {stage.value: [] for stage in FUNNEL}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.from_stage, q.stayed FROM ({sql}) AS q "
            "WHERE q.is_exit = 1 AND q.stayed IS NOT NULL",
            params,
        )
        for stage, stayed in cursor.fetchall():
            seconds = (
                stayed.total_seconds()
                if isinstance(stayed, dt.timedelta)
                else float(stayed) / 1e6  # SQLite: microseconds
            )
            days[stage].append(max(seconds, 0) / 86400)
    return days
