"""The working calendar the SLA is counted in: Monday to Friday, between the workspace's start
and end hours, in its time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone


def working_hours_add(
    *, start: dt.datetime, hours: float, time_zone: str, work_start: int, work_end: int
) -> dt.datetime:
    """`start` plus `hours` counted only Monday to Friday between work_start and work_end (local
    time of the workspace). Public holidays are not skipped."""
    zone = ZoneInfo(time_zone)
    remaining = dt.timedelta(hours=hours)
    current = timezone.localtime(start, zone)

    def at(day: dt.date, hour: int) -> dt.datetime:
        if hour >= 24:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)

    while True:
        day = current.date()
        if day.weekday() >= 5 or current >= at(day, work_end):
            current = at(day + dt.timedelta(days=1), work_start)
            continue
        if current < at(day, work_start):
            current = at(day, work_start)
        left_today = at(day, work_end) - current
        if remaining <= left_today:
            return current + remaining
        remaining -= left_today
        current = at(day + dt.timedelta(days=1), work_start)
