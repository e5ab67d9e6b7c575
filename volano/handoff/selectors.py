"""Reads for the hand-off: rules and their warnings, assignments, the report."""

from __future__ import annotations

import datetime as dt
import statistics
from functools import cache
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet

from volano.core import geography
from volano.core.errors import NotFound
from volano.core.models import Membership, User, Workspace
from volano.handoff.models import Assignment, AssignmentRule, AssignmentStatus


def assignment_rule_list(*, workspace: Workspace) -> QuerySet[AssignmentRule]:
    return AssignmentRule.objects.for_workspace(workspace).order_by("position", "pk")


def assignment_rule_get(*, workspace: Workspace, rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.objects.for_workspace(workspace).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("no such assignment rule")
    return rule


@cache
def _provinces_of_cap_range(low: str, high: str) -> frozenset[str]:
    return frozenset(
        comune.province
        for cap, comuni in geography.comuni_by_cap().items()
        if low <= cap <= high
        for comune in comuni
    )


def _cap_bounds(text: str) -> tuple[str, str]:
    low, _sep, high = text.partition("-")
    return low, high or low


def _cap_covered(cap_range: str, provinces: list[str], regions: list[str]) -> bool:
    """Some comune of the CAP range lies in one of the provinces or regions."""
    return any(
        code in provinces or geography.region_of(code) in regions
        for code in _provinces_of_cap_range(*_cap_bounds(cap_range))
    )


def _territory_text(rule: AssignmentRule) -> list[str]:
    return [*rule.regions, *rule.provinces, *rule.cap_ranges]


def _territory_overlap(a: AssignmentRule, b: AssignmentRule) -> list[str]:
    """Where two territories meet, in words ("Lombardia", "MI", "20100-20150")."""
    a_all = not _territory_text(a)
    b_all = not _territory_text(b)
    if a_all and b_all:
        return ["all of Italy"]
    if a_all:
        return _territory_text(b)
    if b_all:
        return _territory_text(a)
    parts: list[str] = [r for r in a.regions if r in b.regions]
    for first, second in ((a, b), (b, a)):
        for code in first.provinces:
            if code in second.provinces or geography.region_of(code) in second.regions:
                parts.append(code)
        for cap_range in first.cap_ranges:
            if _cap_covered(cap_range, second.provinces, second.regions):
                parts.append(cap_range)
    for mine in a.cap_ranges:
        low, high = _cap_bounds(mine)
        for theirs in b.cap_ranges:
            other_low, other_high = _cap_bounds(theirs)
            start, end = max(low, other_low), min(high, other_high)
            if start <= end:
                parts.append(start if start == end else f"{start}-{end}")
    return list(dict.fromkeys(parts))


def _lines_overlap(a: AssignmentRule, b: AssignmentRule) -> list[str] | None:
    """The product lines both rules take (["any product line"] when both take any), or None."""
    if not a.product_lines and not b.product_lines:
        return ["any product line"]
    if not a.product_lines:
        return list(b.product_lines)
    if not b.product_lines:
        return list(a.product_lines)
    common = [line for line in a.product_lines if line in b.product_lines]
    return common or None


def assignment_rule_warnings(*, workspace: Workspace, rule: AssignmentRule) -> list[dict]:
    """What may surprise about a saved rule: territories it shares with another active rule for
    the same product line, and reps who do not cover its product lines."""
    warnings: list[dict] = []
    if rule.active:
        others = assignment_rule_list(workspace=workspace).filter(active=True).exclude(pk=rule.pk)
        for other in others:
            lines = _lines_overlap(rule, other)
            if lines is None:
                continue
            where = _territory_overlap(rule, other)
            if not where:
                continue
            warnings.append(
                {
                    "field": "territory",
                    "message": f"overlaps {other.name!r} on {', '.join(where)} for "
                    f"{', '.join(lines)}; the rule with the lower position wins",
                }
            )
    members = {
        m.user_id: m
        for m in Membership.objects.filter(
            workspace=workspace, user_id__in=rule.reps
        ).select_related("user")
    }
    for user_id in rule.reps:
        membership = members.get(user_id)
        if membership is None:
            warnings.append(
                {"field": "reps", "message": f"user #{user_id} is no longer in this workspace"}
            )
        elif not membership.product_lines:
            warnings.append(
                {"field": "reps", "message": f"{membership.user.email} has no product line"}
            )
        elif rule.product_lines and not set(rule.product_lines) & set(membership.product_lines):
            warnings.append(
                {
                    "field": "reps",
                    "message": f"{membership.user.email} does not cover "
                    f"{', '.join(rule.product_lines)} (their product lines: "
                    f"{', '.join(membership.product_lines)})",
                }
            )
    return warnings


def assignments_for(
    *, workspace: Workspace, rep: User | None = None, status: str | list[str] | None = None
) -> QuerySet[Assignment]:
    """Assignments, newest first, optionally of one rep and in some statuses."""
    rows = Assignment.objects.for_workspace(workspace).select_related("contact", "rep", "rule")
    if rep is not None:
        rows = rows.filter(rep=rep)
    if status:
        rows = rows.filter(status__in=[status] if isinstance(status, str) else status)
    return rows.order_by("-assigned_at", "-pk")


def assignment_get(*, workspace: Workspace, assignment_id: int) -> Assignment:
    found = (
        Assignment.objects.for_workspace(workspace)
        .select_related("contact", "rep", "rule")
        .filter(pk=assignment_id)
        .first()
    )
    if found is None:
        raise NotFound("no such assignment")
    return found


def _bounds(value: dt.date | dt.datetime, zone: ZoneInfo, *, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def handoff_report(
    *, workspace: Workspace, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> dict:
    """Leads passed to sales in [start, end) (dates: both days included, workspace time), how
    many were accepted, rejected or let expire, the acceptance rate (accepted / answered), the
    median hours to accept; overall and by rep."""
    zone = ZoneInfo(workspace.time_zone)
    rows = Assignment.objects.for_workspace(workspace).filter(
        assigned_at__gte=_bounds(start, zone, end=False),
        assigned_at__lt=_bounds(end, zone, end=True),
    )
    # An accepted lead whose work is over (it became a customer, went back to nurturing…) is
    # closed: it still counts as accepted. A closed one never answered was closed by the sweep.
    was_accepted = Q(status__in=[AssignmentStatus.ACCEPTED, AssignmentStatus.CLOSED]) & Q(
        answered_at__isnull=False
    )
    counts = {
        "assigned": Count("id"),
        "leads": Count("contact", distinct=True),
        "accepted": Count("id", filter=was_accepted),
        "rejected": Count("id", filter=Q(status=AssignmentStatus.REJECTED)),
        "expired": Count("id", filter=Q(status=AssignmentStatus.EXPIRED)),
        "pending": Count("id", filter=Q(status=AssignmentStatus.PENDING)),
    }
    hours: dict[int | None, list[float]] = {}
    for rep_id, assigned_at, answered_at in rows.filter(was_accepted).values_list(
        "rep_id", "assigned_at", "answered_at"
    ):
        hours.setdefault(rep_id, []).append((answered_at - assigned_at).total_seconds() / 3600)

    def shaped(values: dict, accept_hours: list[float]) -> dict:
        answered = values["accepted"] + values["rejected"]
        return {
            **{key: values[key] for key in counts},
            "acceptance_rate": round(values["accepted"] / answered, 4) if answered else None,
            "median_hours_to_accept": (
                round(statistics.median(accept_hours), 2) if accept_hours else None
            ),
        }

    total = rows.aggregate(**counts)
    by_rep = [
        {
            "rep_id": values["rep_id"],
            "rep": values["rep__email"] or "",
            "name": values["rep__full_name"] or values["rep__email"] or "",
            **shaped(values, hours.get(values["rep_id"], [])),
        }
        for values in rows.values("rep_id", "rep__email", "rep__full_name")
        .annotate(**counts)
        .order_by("rep__email")
    ]
    return {
        **shaped(total, [h for rep_hours in hours.values() for h in rep_hours]),
        "by_rep": by_rep,
    }
