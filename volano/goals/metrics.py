"""The metrics a goal can be set on, each read from the workspace's own data in one statement:
its daily numerator (and, for a rate or a cost per customer, its daily denominator) over a
period, grouped by day in the workspace's time zone. A goal's value on any day is then the sum
of the days so far (a total) or the ratio of the two sums (a rate).

Definitions (shown on the goal pages):
- *SQLs*: contacts whose first change to the SQL stage is in the period (as the SQL report of
  the campaigns counts them);
- *new customers*: contacts whose first change to the Customer stage is in the period;
- *revenue*: completed orders (their total, on the order's date) plus won deals (their amount,
  on the day they closed);
- *revenue from new customers*: that revenue, of the contacts who became customers in the
  period;
- *CAC*: marketing spend in the period (every cost entry: imported ad costs and manual costs)
  divided by the new customers of the period;
- *email engagement*: marketing emails (broadcasts and workflows) sent in the period and not
  bounced that a person opened or clicked, out of all of them;
- *leads*: contacts created in the period;
- *won deals*: the amounts of the deals won (closed) in the period.

A goal counted for its owner only (`Goal.scope == "owner"`) keeps, of the same rows, those of
the owner: the contacts they own (SQLs, new customers, leads, and the orders of those
contacts) and the deals they own (won deals, and the deals' part of revenue). CAC and email
engagement are the marketing team's and have no owner (`Metric.per_owner` is False).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from volano.campaigns.models import CostEntry
from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.deals.models import Deal, DealStage
from volano.emails.models import MARKETING_KINDS, Delivery, DeliveryStatus
from volano.lifecycle.models import StageChange
from volano.lifecycle.types import LifecycleStage
from volano.orders.models import Order

COMPLETED_ORDER = "completed"
ZERO = Value(0, output_field=IntegerField())
ZERO_MONEY = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))

# (workspace, low, high, zone, owner id or None for everyone) -> (day, numerator, denominator)
Rows = Callable[[Workspace, dt.datetime, dt.datetime, ZoneInfo, int | None], Iterable[tuple]]


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any
    unit: str  # "count", "money" or "percent"
    kind: str  # "total" (the sum of the days) or "ratio" (numerator ÷ denominator)
    better: str  # "higher" or "lower"
    definition: Any
    rows: Rows
    per_owner: bool = True  # whether a goal may count only its owner's contacts and deals

    def value(self, numerator: float, denominator: float) -> float | None:
        """The metric's value from the period's sums; None for a ratio with nothing under it."""
        if self.kind == "total":
            return numerator
        if not denominator:
            return None
        return numerator / denominator * (100.0 if self.unit == "percent" else 1.0)


def _day(column: str, zone: ZoneInfo) -> TruncDate:
    return TruncDate(column, tzinfo=zone)


def _of(rows: QuerySet, owner_path: str, owner: int | None) -> QuerySet:
    """`rows` as they are (owner None: everyone's), or those whose `owner_path` is `owner`."""
    return rows if owner is None else rows.filter(**{owner_path: owner})


def _first_changes_to(
    workspace: Workspace, stage: str, low: dt.datetime, high: dt.datetime
) -> QuerySet:
    """The stage changes to `stage` in [low, high) that are the contact's first to it."""
    changes = StageChange.objects.for_workspace(workspace)
    earlier = changes.filter(contact_id=OuterRef("contact_id"), to_stage=stage)
    return (
        changes.filter(to_stage=stage, changed_at__gte=low, changed_at__lt=high)
        .exclude(Exists(earlier.filter(changed_at__lt=OuterRef("changed_at"))))
        .exclude(Exists(earlier.filter(changed_at=OuterRef("changed_at"), pk__lt=OuterRef("pk"))))
    )


def _first_changes_daily(stage: str) -> Rows:
    def rows(workspace, low, high, zone, owner=None):
        return (
            _of(_first_changes_to(workspace, stage, low, high), "contact__owner_id", owner)
            .annotate(d=_day("changed_at", zone))
            .values("d")
            .annotate(num=Count("id"), den=ZERO)
            .values_list("d", "num", "den")
            .order_by()
        )

    return rows


def _orders(
    workspace: Workspace, low: dt.datetime, high: dt.datetime, owner: int | None = None
) -> QuerySet:
    """Completed orders in [low, high); with `owner`, those of the contacts they own."""
    orders = Order.objects.for_workspace(workspace).filter(
        status=COMPLETED_ORDER, ordered_at__gte=low, ordered_at__lt=high
    )
    return _of(orders, "contact__owner_id", owner)


def _won_deals(
    workspace: Workspace, low: dt.datetime, high: dt.datetime, owner: int | None = None
) -> QuerySet:
    """Deals won (closed) in [low, high); with `owner`, the deals they own."""
    deals = Deal.objects.for_workspace(workspace).filter(
        stage=DealStage.WON, closed_at__gte=low, closed_at__lt=high
    )
    return _of(deals, "owner_id", owner)


def _revenue_union(orders: QuerySet, deals: QuerySet, zone: ZoneInfo) -> QuerySet:
    by_order_day = (
        orders.annotate(d=_day("ordered_at", zone))
        .values("d")
        .annotate(num=Sum("total"), den=ZERO)
        .values_list("d", "num", "den")
        .order_by()
    )
    by_deal_day = (
        deals.annotate(d=_day("closed_at", zone))
        .values("d")
        .annotate(num=Sum("amount"), den=ZERO)
        .values_list("d", "num", "den")
        .order_by()
    )
    return by_order_day.union(by_deal_day, all=True)


def _revenue(workspace, low, high, zone, owner=None):
    return _revenue_union(
        _orders(workspace, low, high, owner), _won_deals(workspace, low, high, owner), zone
    )


def _new_customer_ids(workspace: Workspace, low: dt.datetime, high: dt.datetime) -> QuerySet:
    """The contacts whose first change to Customer is in [low, high), as a subquery."""
    return (
        StageChange.objects.for_workspace(workspace)
        .filter(to_stage=LifecycleStage.CUSTOMER)
        .values("contact_id")
        .annotate(first=Min("changed_at"))
        .filter(first__gte=low, first__lt=high)
        .values("contact_id")
        .order_by()
    )


def _new_customer_revenue(workspace, low, high, zone, owner=None):
    new = _new_customer_ids(workspace, low, high)
    return _revenue_union(
        _orders(workspace, low, high, owner).filter(contact_id__in=new),
        _won_deals(workspace, low, high, owner).filter(contact_id__in=new),
        zone,
    )


def _cac(workspace, low, high, zone, owner=None):
    spend = (
        CostEntry.objects.for_workspace(workspace)
        .filter(day__gte=low.date(), day__lt=high.date())
        .annotate(d=F("day"))
        .values("d")
        .annotate(num=Sum("amount"), den=ZERO)
        .values_list("d", "num", "den")
        .order_by()
    )
    customers = (
        _first_changes_to(workspace, LifecycleStage.CUSTOMER, low, high)
        .annotate(d=_day("changed_at", zone))
        .values("d")
        .annotate(num=ZERO_MONEY, den=Count("id"))
        .values_list("d", "num", "den")
        .order_by()
    )
    return spend.union(customers, all=True)


def _email_engagement(workspace, low, high, zone, owner=None):
    return (
        Delivery.objects.for_workspace(workspace)
        .filter(
            status=DeliveryStatus.SENT,
            sent_at__gte=low,
            sent_at__lt=high,
            mailing__kind__in=MARKETING_KINDS,
        )
        .annotate(d=_day("sent_at", zone))
        .values("d")
        .annotate(
            num=Count("id", filter=Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)),
            den=Count("id"),
        )
        .values_list("d", "num", "den")
        .order_by()
    )


def _leads(workspace, low, high, zone, owner=None):
    contacts = Contact.objects.for_workspace(workspace).filter(
        created_at__gte=low, created_at__lt=high
    )
    return (
        _of(contacts, "owner_id", owner)
        .annotate(d=_day("created_at", zone))
        .values("d")
        .annotate(num=Count("id"), den=ZERO)
        .values_list("d", "num", "den")
        .order_by()
    )


def _won_deals_value(workspace, low, high, zone, owner=None):
    return (
        _won_deals(workspace, low, high, owner)
        .annotate(d=_day("closed_at", zone))
        .values("d")
        .annotate(num=Sum("amount"), den=ZERO)
        .values_list("d", "num", "den")
        .order_by()
    )


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "sqls",
            _("SQLs"),
            "count",
            "total",
            "higher",
            _("Contacts who became SQL (sales-qualified lead) for the first time in the period."),
            _first_changes_daily(LifecycleStage.SQL),
        ),
        Metric(
            "new_customers",
            _("New customers"),
            "count",
            "total",
            "higher",
            _("Contacts who became customers for the first time in the period."),
            _first_changes_daily(LifecycleStage.CUSTOMER),
        ),
        Metric(
            "new_customer_revenue",
            _("Revenue from new customers"),
            "money",
            "total",
            "higher",
            _(
                "Completed orders and won deals in the period of the contacts who became "
                "customers in the period."
            ),
            _new_customer_revenue,
        ),
        Metric(
            "revenue",
            _("Revenue"),
            "money",
            "total",
            "higher",
            _("Completed orders and won deals in the period."),
            _revenue,
        ),
        Metric(
            "cac",
            _("Customer acquisition cost (CAC)"),
            "money",
            "ratio",
            "lower",
            _(
                "Marketing spend in the period (imported ad costs and manual costs) divided by "
                "the new customers of the period: lower is better."
            ),
            _cac,
            per_owner=False,
        ),
        Metric(
            "email_engagement",
            _("Email engagement rate"),
            "percent",
            "ratio",
            "higher",
            _(
                "Marketing emails sent in the period and not bounced that a person opened or "
                "clicked, out of all of them."
            ),
            _email_engagement,
            per_owner=False,
        ),
        Metric(
            "leads",
            _("Leads created"),
            "count",
            "total",
            "higher",
            _("Contacts created in the period."),
            _leads,
        ),
        Metric(
            "won_deals",
            _("Won deals value"),
            "money",
            "total",
            "higher",
            _("The amounts of the deals won (closed) in the period."),
            _won_deals_value,
        ),
    )
}


def zone_of(workspace: Workspace) -> ZoneInfo:
    return ZoneInfo(workspace.time_zone or "Europe/Rome")


def daily(
    workspace: Workspace,
    metric: Metric,
    first: dt.date,
    last: dt.date,
    owner: int | None = None,
) -> dict[dt.date, tuple[float, float]]:
    """{day: (numerator, denominator)} for the days from `first` to `last` (both included) that
    have any: one statement. With `owner` (a user id), only that person's contacts and deals
    (a metric with `per_owner`; the others ignore it)."""
    zone = zone_of(workspace)
    low = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    out: dict[dt.date, tuple[float, float]] = {}
    for day, numerator, denominator in metric.rows(
        workspace, low, high, zone, owner if metric.per_owner else None
    ):
        if isinstance(day, dt.datetime):
            day = day.date()
        elif isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        before = out.get(day, (0.0, 0.0))
        out[day] = (before[0] + float(numerator or 0), before[1] + float(denominator or 0))
    return out


def metric_value(
    workspace: Workspace,
    metric: Metric,
    first: dt.date,
    last: dt.date,
    owner: int | None = None,
) -> float | None:
    """The metric over the days from `first` to `last` (with `owner`, as in `daily`)."""
    days = daily(workspace, metric, first, last, owner)
    return metric.value(sum(n for n, _d in days.values()), sum(d for _n, d in days.values()))
