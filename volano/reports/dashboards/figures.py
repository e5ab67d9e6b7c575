"""The dashboards' daily figures: additive numbers per day (workspace time), read from events,
stage changes, orders, deals, costs and workflow enrolments, a handful of grouped statements.

Every widget is built from these sums, so a bucket of any granularity is the sum of its days:
- unfiltered, closed days (before today) come from the `DailyFigure` rollup and today is always
  computed live; the rollup of a day is written by the same `day_figures` that answers live;
- a filtered dashboard (segment, product line, territory) is computed live over its range.

How the rollup stays current (`rollup_ensure`, called by every dashboard read): days never rolled
up are rolled up; the last `RECENT_DAYS` closed days are rolled up again when older than
`STALE_AFTER` (late webhooks, imports of the last days); older history changed by an import is
rolled up again by `volano report refresh --from … --to …` (or the "Recompute" button).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from volano.campaigns.models import CostEntry
from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.deals.models import Deal, DealLine, DealStage
from volano.events.models import Event
from volano.lifecycle.models import FUNNEL, StageChange
from volano.lifecycle.types import LifecycleStage
from volano.orders.models import Order, OrderLine
from volano.reports.dashboards.models import DailyFigure
from volano.segments.models import SegmentMembership
from volano.workflows.models import Enrolment, EnrolmentStatus

NOT_REVENUE = ("cancelled", "canceled", "refunded")
RECENT_DAYS = 7
STALE_AFTER = dt.timedelta(minutes=15)
# Interactions that count as engagement: a person did something (human opens only: privacy
# proxies and link scanners are labelled by the email domain and left out).
ENGAGING = ("email_opened", "email_clicked", "email_replied", "form_submitted")
EVENT_FIGURES = (
    "email_sent",
    "email_delivered",
    "email_opened",
    "email_clicked",
    "email_replied",
    "email_bounced",
    "email_unsubscribed",
    "form_submitted",
    "survey_answered",
    "ticket",
)
HUMAN_LABELLED = ("email_opened", "email_clicked")
STAGE_RANK = {stage.value: rank for rank, stage in enumerate(FUNNEL)}
CROSSED = [stage.value for stage in FUNNEL[1:]]  # a lead is counted when created


def zone_of(workspace: Workspace) -> ZoneInfo:
    return ZoneInfo(workspace.time_zone or "Europe/Rome")


def bounds(workspace: Workspace, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = zone_of(workspace)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=zone),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    )


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


class Filters:
    """The dashboard's filters, as the contacts they keep (None: every contact)."""

    def __init__(
        self, *, segment_id: int | None = None, product_line: str = "", territory: str = ""
    ):
        self.segment_id = segment_id
        self.product_line = product_line
        self.territory = territory

    def __bool__(self) -> bool:
        return bool(self.segment_id or self.product_line or self.territory)

    def contacts(self, workspace: Workspace) -> QuerySet | None:
        if not self:
            return None
        contacts = Contact.objects.for_workspace(workspace)
        if self.segment_id:
            contacts = contacts.filter(
                pk__in=SegmentMembership.objects.for_workspace(workspace)
                .filter(segment_id=self.segment_id, left_at__isnull=True)
                .values("contact_id")
            )
        if self.territory:
            contacts = contacts.filter(
                Q(region__iexact=self.territory) | Q(company__region__iexact=self.territory)
            )
        if self.product_line:
            bought = OrderLine.objects.for_workspace(workspace).filter(
                product_line__iexact=self.product_line
            )
            offered = DealLine.objects.for_workspace(workspace).filter(
                product__product_line__slug=self.product_line
            )
            contacts = contacts.filter(
                Q(pk__in=bought.values("order__contact_id"))
                | Q(pk__in=offered.values("deal__contact_id"))
            )
        return contacts.values("pk")


def _add(out: dict, day: Any, figure: str, value: Any) -> None:
    if value:
        out[(_day(day), figure)] += float(value)


def day_figures(
    workspace: Workspace, first: dt.date, last: dt.date, filters: Filters | None = None
) -> dict[tuple[dt.date, str], float]:
    """{(day, figure): value} for the days from `first` to `last`, computed from the source
    tables; figures absent are 0."""
    zone = zone_of(workspace)
    low, high = bounds(workspace, first, last)
    scope = filters.contacts(workspace) if filters else None
    currency = workspace.currency
    out: dict[tuple[dt.date, str], float] = defaultdict(float)

    def scoped(queryset: QuerySet, column: str = "contact_id") -> QuerySet:
        return queryset.filter(**{f"{column}__in": scope}) if scope is not None else queryset

    # events: one grouped statement
    human = Q(properties__label__isnull=True) | Q(properties__label="human")
    events = scoped(
        Event.objects.for_workspace(workspace).filter(
            occurred_at__gte=low, occurred_at__lt=high, type__in=EVENT_FIGURES
        )
    ).filter(~Q(type__in=HUMAN_LABELLED) | human)
    opened = Q(type="ticket", properties__status="open")
    rows = (
        events.annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values("day", "type")
        .annotate(
            n=Count("id"),
            contacts=Count("contact_id", distinct=True),
            tickets_opened=Count("id", filter=opened),
        )
    )
    for row in rows:
        if row["type"] == "ticket":
            _add(out, row["day"], "tickets_opened", row["tickets_opened"])
            continue
        _add(out, row["day"], row["type"], row["n"])
        if row["type"] == "email_sent":
            _add(out, row["day"], "reached", row["contacts"])

    # new contacts are the period's leads
    contacts = scoped(
        Contact.objects.for_workspace(workspace).filter(created_at__gte=low, created_at__lt=high),
        "pk",
    )
    for row in (
        contacts.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
    ):
        _add(out, row["day"], "stage_lead", row["n"])

    # stage crossings: a change crosses stage S when it comes from before S and reaches S or
    # beyond (a lead made customer in one step crossed MQL, SQL and opportunity too)
    def rank(column: str) -> Case:
        return Case(
            *[When(**{column: stage}, then=Value(r)) for stage, r in STAGE_RANK.items()],
            default=Value(-1 if column == "from_stage" else -9),
            output_field=IntegerField(),
        )

    changes = scoped(
        StageChange.objects.for_workspace(workspace).filter(
            changed_at__gte=low, changed_at__lt=high
        )
    ).annotate(
        day=TruncDate("changed_at", tzinfo=zone),
        from_rank=rank("from_stage"),
        to_rank=rank("to_stage"),
    )
    crossing = {
        f"stage_{stage}": Count(
            "id",
            filter=Q(from_rank__lt=STAGE_RANK[stage], to_rank__gte=STAGE_RANK[stage]),
        )
        for stage in CROSSED
    }
    crossing["stage_lost_customer"] = Count("id", filter=Q(to_stage=LifecycleStage.LOST_CUSTOMER))
    for row in changes.values("day").annotate(**crossing):
        for figure in crossing:
            _add(out, row["day"], figure, row[figure])

    # time in stage: for each change leaving a funnel stage, the time since entering it (the
    # contact's previous change into it, or its creation for a lead)
    entered = (
        StageChange.objects.for_workspace(workspace)
        .filter(
            contact_id=OuterRef("contact_id"),
            to_stage=OuterRef("from_stage"),
            changed_at__lte=OuterRef("changed_at"),
        )
        .order_by("-changed_at", "-pk")
        .values("changed_at")[:1]
    )
    created = Contact.objects.for_workspace(workspace).filter(pk=OuterRef("contact_id"))
    exits = (
        scoped(
            StageChange.objects.for_workspace(workspace).filter(
                changed_at__gte=low, changed_at__lt=high, from_stage__in=list(STAGE_RANK)
            )
        )
        .annotate(
            day=TruncDate("changed_at", tzinfo=zone),
            came=Coalesce(Subquery(entered), Subquery(created.values("created_at")[:1])),
        )
        .annotate(stay=ExpressionWrapper(F("changed_at") - F("came"), output_field=DurationField()))
        .values("day", "from_stage")
        .annotate(n=Count("id"), total=Sum("stay"))
    )
    for row in exits:
        total = row["total"]
        seconds = total.total_seconds() if isinstance(total, dt.timedelta) else (total or 0) / 1e6
        _add(out, row["day"], f"exits_{row['from_stage']}", row["n"])
        _add(out, row["day"], f"stay_days_{row['from_stage']}", max(seconds, 0) / 86400)

    # orders: revenue in the workspace's currency; others counted, never summed in
    orders = scoped(
        Order.objects.for_workspace(workspace).filter(ordered_at__gte=low, ordered_at__lt=high)
    ).exclude(status__in=NOT_REVENUE)
    if filters and filters.product_line:
        lines = OrderLine.objects.for_workspace(workspace).filter(
            order__in=orders, product_line__iexact=filters.product_line
        )
        for row in (
            lines.annotate(day=TruncDate("order__ordered_at", tzinfo=zone))
            .values("day")
            .annotate(
                revenue=Sum("amount", filter=Q(order__currency=currency)),
                n=Count("order_id", distinct=True, filter=Q(order__currency=currency)),
                other=Count("order_id", distinct=True, filter=~Q(order__currency=currency)),
            )
        ):
            _add(out, row["day"], "revenue", row["revenue"])
            _add(out, row["day"], "orders", row["n"])
            _add(out, row["day"], "orders_other_currency", row["other"])
    else:
        for row in (
            orders.annotate(day=TruncDate("ordered_at", tzinfo=zone))
            .values("day")
            .annotate(
                revenue=Sum("total", filter=Q(currency=currency)),
                n=Count("id", filter=Q(currency=currency)),
                other=Count("id", filter=~Q(currency=currency)),
            )
        ):
            _add(out, row["day"], "revenue", row["revenue"])
            _add(out, row["day"], "orders", row["n"])
            _add(out, row["day"], "orders_other_currency", row["other"])

    # deals: opened (new pipeline), won and lost on their closing day, the won deals' cycle
    deals = scoped(Deal.objects.for_workspace(workspace))
    if filters and filters.product_line:
        deals = deals.filter(
            pk__in=DealLine.objects.for_workspace(workspace)
            .filter(product__product_line__slug=filters.product_line)
            .values("deal_id")
        )
    deal_figures(out, deals, low, high, zone, currency)

    # marketing costs (not per contact: a filtered dashboard shows none, and says so)
    if not filters:
        for row in (
            CostEntry.objects.for_workspace(workspace)
            .filter(day__gte=first, day__lte=last)
            .values("day")
            .annotate(
                amount=Sum("amount", filter=Q(currency=currency)),
                other=Count("id", filter=~Q(currency=currency)),
            )
        ):
            _add(out, row["day"], "cost", row["amount"])
            _add(out, row["day"], "costs_other_currency", row["other"])

    # workflows: contacts enrolled, and how their way ended
    enrolments = scoped(Enrolment.objects.for_workspace(workspace))
    for row in (
        enrolments.filter(started_at__gte=low, started_at__lt=high)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
    ):
        _add(out, row["day"], "enrolled", row["n"])
    for row in (
        enrolments.filter(finished_at__gte=low, finished_at__lt=high)
        .annotate(day=TruncDate("finished_at", tzinfo=zone))
        .values("day")
        .annotate(
            goal=Count("id", filter=Q(status=EnrolmentStatus.GOAL)),
            completed=Count("id", filter=Q(status=EnrolmentStatus.COMPLETED)),
            exited=Count("id", filter=Q(status=EnrolmentStatus.EXITED)),
        )
    ):
        _add(out, row["day"], "workflow_goal", row["goal"])
        _add(out, row["day"], "workflow_completed", row["completed"])
        _add(out, row["day"], "workflow_exited", row["exited"])
    return dict(out)


def deal_figures(
    out: dict, deals: QuerySet, low: dt.datetime, high: dt.datetime, zone: ZoneInfo, currency: str
) -> None:
    """Add the deals' daily figures to `out`: opened (count, amount), won (count, amount, days
    of cycle) and lost on their closing day; deals in another currency counted apart."""
    mine = Q(currency=currency)
    for row in (
        deals.filter(created_at__gte=low, created_at__lt=high)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(
            n=Count("id", filter=mine),
            amount=Sum("amount", filter=mine),
            other=Count("id", filter=~mine),
        )
    ):
        _add(out, row["day"], "deals_opened", row["n"])
        _add(out, row["day"], "pipeline_opened", row["amount"])
        _add(out, row["day"], "deals_other_currency", row["other"])
    won = Q(stage=DealStage.WON) & mine
    for row in (
        deals.filter(closed_at__gte=low, closed_at__lt=high)
        .annotate(
            day=TruncDate("closed_at", tzinfo=zone),
            cycle=ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
        )
        .values("day")
        .annotate(
            won=Count("id", filter=won),
            won_amount=Sum("amount", filter=won),
            lost=Count("id", filter=Q(stage=DealStage.LOST) & mine),
            cycle=Sum("cycle", filter=won),
        )
    ):
        cycle = row["cycle"]
        seconds = cycle.total_seconds() if isinstance(cycle, dt.timedelta) else (cycle or 0) / 1e6
        _add(out, row["day"], "deals_won", row["won"])
        _add(out, row["day"], "won_amount", row["won_amount"])
        _add(out, row["day"], "deals_lost", row["lost"])
        _add(out, row["day"], "won_cycle_days", max(seconds, 0) / 86400)


def rollup_refresh(workspace: Workspace, first: dt.date, last: dt.date) -> int:
    """Roll up the closed days from `first` to `last` again (today and later are skipped).
    Returns the days written."""
    last = min(last, timezone.now().astimezone(zone_of(workspace)).date() - dt.timedelta(days=1))
    if first > last:
        return 0
    values = day_figures(workspace, first, last)
    now = timezone.now()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    rows = [
        DailyFigure(workspace=workspace, day=day, figure=figure, value=value, rolled_at=now)
        for (day, figure), value in values.items()
    ]
    # a day with no figure at all still gets a row, so it counts as rolled up
    seen = {day for day, _figure in values}
    rows += [
        DailyFigure(workspace=workspace, day=day, figure="", value=0, rolled_at=now)
        for day in days
        if day not in seen
    ]
    with transaction.atomic():
        DailyFigure.objects.for_workspace(workspace).filter(day__gte=first, day__lte=last).delete()
        DailyFigure.objects.for_workspace(workspace).bulk_create(rows, batch_size=5000)
    return len(days)


def rollup_ensure(workspace: Workspace, first: dt.date, last: dt.date) -> None:
    """Make the rollup answer every closed day from `first` to `last` (see the module's
    docstring for when a day is rolled up again)."""
    today = timezone.now().astimezone(zone_of(workspace)).date()
    last = min(last, today - dt.timedelta(days=1))
    if first > last:
        return
    rolled = DailyFigure.objects.for_workspace(workspace).filter(day__gte=first, day__lte=last)
    have = set(rolled.values_list("day", flat=True).distinct())
    missing = [
        first + dt.timedelta(days=i)
        for i in range((last - first).days + 1)
        if first + dt.timedelta(days=i) not in have
    ]
    recent_from = max(first, today - dt.timedelta(days=RECENT_DAYS))
    stale = (
        recent_from <= last
        and rolled.filter(day__gte=recent_from, rolled_at__lt=timezone.now() - STALE_AFTER).exists()
    )
    if stale:
        missing += [
            recent_from + dt.timedelta(days=i) for i in range((last - recent_from).days + 1)
        ]
    if not missing:
        return
    # contiguous runs, each rolled up with one set of statements
    missing = sorted(set(missing))
    run_start = previous = missing[0]
    for day in [*missing[1:], None]:
        if day is not None and day == previous + dt.timedelta(days=1):
            previous = day
            continue
        rollup_refresh(workspace, run_start, previous)
        if day is not None:
            run_start = previous = day


def figures_read(
    workspace: Workspace, first: dt.date, last: dt.date, filters: Filters | None = None
) -> dict[tuple[dt.date, str], float]:
    """{(day, figure): value} from `first` to `last`: the rollup for closed days (unfiltered),
    live for today and for filtered dashboards."""
    if filters:
        return day_figures(workspace, first, last, filters)
    today = timezone.now().astimezone(zone_of(workspace)).date()
    rollup_ensure(workspace, first, last)
    out: dict[tuple[dt.date, str], float] = {
        (row[0], row[1]): row[2]
        for row in DailyFigure.objects.for_workspace(workspace)
        .filter(day__gte=first, day__lte=min(last, today - dt.timedelta(days=1)))
        .exclude(figure="")
        .values_list("day", "figure", "value")
    }
    if first <= today <= last:
        out.update(day_figures(workspace, today, today))
    return out
