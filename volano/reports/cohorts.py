"""Cohort retention: customers grouped by the month of their first order, and the share of each
cohort that bought again in each following month (month 0 is the cohort itself: 100%).

One grouped statement: the distinct (customer, month) pairs of the orders (the month in the
workspace's time zone), each customer's first month by a window function, counted per (first
month, month); for one acquisition channel, only its customers — the channel group of their
first touch (campaigns' rules over the events: a UTM, a mailing, a referrer), "Unassigned" when
no touch is known. A second grouped statement counts the customers of each channel. A month
not reached yet is None, never 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import DateField, F
from django.db.models.functions import TruncMonth

from volano.core.models import Workspace
from volano.reports.clv import NOT_REVENUE, _day_after

ALL = ""


@dataclass(frozen=True)
class Cohorts:
    months: list[str]  # the cohorts, "YYYY-MM", oldest first
    sizes: list[int]
    # shares[i][k]: of cohort i, the fraction that bought in its k-th month after the first
    # (None: that month is after `as_of`)
    shares: list[list[float | None]]
    counts: list[list[int | None]]
    channel: str
    channels: list[tuple[str, int]]  # every acquisition channel with its customers
    as_of: dt.date

    @property
    def offsets(self) -> int:
        return max((len(row) for row in self.shares), default=0)

    def __len__(self) -> int:
        return len(self.months)


def _month_key(value: object) -> str:
    return str(value)[:7]


def _months_between(first: str, later: str) -> int:
    return (int(later[:4]) - int(first[:4])) * 12 + int(later[5:7]) - int(first[5:7])


def cohort_retention(
    workspace: Workspace, *, as_of: dt.date, cohorts: int = 12, channel: str = ALL
) -> Cohorts:
    from volano.campaigns.selectors import contacts_with_first_touch
    from volano.orders.models import Order

    pairs = (
        Order.objects.for_workspace(workspace)
        .filter(contact__isnull=False, ordered_at__lt=_day_after(as_of))
        .exclude(status__in=NOT_REVENUE)
        .annotate(
            customer=F("contact_id"), month=TruncMonth("ordered_at", output_field=DateField())
        )
        .values_list("customer", "month")
        .distinct()
        .order_by()
    )
    months_sql, months_params = pairs.query.sql_with_params()
    customers = (
        Order.objects.for_workspace(workspace).filter(contact__isnull=False).values("contact_id")
    )
    touch = (
        contacts_with_first_touch(workspace)
        .filter(pk__in=customers)
        .values("pk", "first_channel_group")
    )
    touch_sql, touch_params = touch.query.sql_with_params()
    channel_of = "COALESCE(first_channel_group, 'unassigned')"
    # one channel: its customers as an IN (…) list the database computes once (a join to the
    # first touches would run their subquery again for every order month on SQLite)
    only = (
        f"WHERE c.customer IN (SELECT pk FROM ({touch_sql}) f WHERE {channel_of} = %s)"
        if channel
        else ""
    )
    sql = f"""
        SELECT c.first_month, c.month, COUNT(*)
        FROM (
            SELECT customer, month, MIN(month) OVER (PARTITION BY customer) AS first_month
            FROM ({months_sql}) pairs
        ) c
        {only}
        GROUP BY c.first_month, c.month
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (*months_params, *((*touch_params, channel) if channel else ())))
        rows = [(_month_key(first), _month_key(month), n) for first, month, n in cursor.fetchall()]
        cursor.execute(
            f"SELECT {channel_of}, COUNT(*) FROM ({touch_sql}) f GROUP BY {channel_of}",
            touch_params,
        )
        by_channel = dict(cursor.fetchall())
    last = f"{as_of.year:04d}-{as_of.month:02d}"
    start_year, start_month = divmod(as_of.year * 12 + as_of.month - 1 - (cohorts - 1), 12)
    start = f"{start_year:04d}-{start_month + 1:02d}"
    grid: dict[str, dict[int, int]] = {}
    for first, month, n in rows:
        if first < start:
            continue
        offset = _months_between(first, month)
        grid.setdefault(first, {})
        grid[first][offset] = grid[first].get(offset, 0) + n
    months = sorted(grid)
    sizes, shares, counts = [], [], []
    for first in months:
        size = grid[first].get(0, 0)
        reach = _months_between(first, last)
        row_counts: list[int | None] = [grid[first].get(k, 0) for k in range(reach + 1)]
        sizes.append(size)
        counts.append(row_counts)
        shares.append([round(c / size, 4) if size and c is not None else None for c in row_counts])
    return Cohorts(
        months=months,
        sizes=sizes,
        shares=shares,
        counts=counts,
        channel=channel,
        channels=sorted(by_channel.items(), key=lambda item: (-item[1], item[0])),
        as_of=as_of,
    )
