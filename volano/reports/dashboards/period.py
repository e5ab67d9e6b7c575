"""The dashboard's one period: a range of days, a granularity and what it is compared with.

Buckets are the granularity's periods overlapping the range (a week starts on Monday, as in
Italy); the first and last may be partial and say so. The comparison is the range just before,
of the same number of days ("previous"), or the same days one year earlier ("year")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from volano.core.errors import ValidationFailed

GRANULARITIES = ("day", "week", "month", "quarter")
COMPARES = ("previous", "year", "none")
PRESETS = ("30d", "90d", "12m", "this_quarter", "last_quarter", "this_year", "last_year")
MAX_DAYS = 3700


def bucket_start(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day


def bucket_next(start: dt.date, granularity: str) -> dt.date:
    if granularity == "day":
        return start + dt.timedelta(days=1)
    if granularity == "week":
        return start + dt.timedelta(days=7)
    months = 1 if granularity == "month" else 3
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def _year_back(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _quarter(day: dt.date, back: int = 0) -> tuple[dt.date, dt.date]:
    start = bucket_start(day, "quarter")
    for _i in range(back):
        start = bucket_start(start - dt.timedelta(days=1), "quarter")
    return start, bucket_next(start, "quarter") - dt.timedelta(days=1)


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if preset == "30d":
        return today - dt.timedelta(days=29), today
    if preset == "90d":
        return today - dt.timedelta(days=89), today
    if preset == "this_quarter":
        return _quarter(today)[0], today
    if preset == "last_quarter":
        return _quarter(today, back=1)
    if preset == "this_year":
        return today.replace(month=1, day=1), today
    if preset == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    return _year_back(today) + dt.timedelta(days=1), today  # 12m


@dataclass(frozen=True)
class Bucket:
    start: dt.date  # the bucket's own start (may be before the range)
    first: dt.date  # the first day of it inside the range
    last: dt.date  # the last day of it inside the range
    partial: bool


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    granularity: str
    compare: str = "previous"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        cursor = bucket_start(self.start, self.granularity)
        while cursor <= self.end:
            following = bucket_next(cursor, self.granularity)
            first, last = max(cursor, self.start), min(following - dt.timedelta(days=1), self.end)
            out.append(
                Bucket(
                    cursor,
                    first,
                    last,
                    partial=(first, last) != (cursor, following - dt.timedelta(days=1)),
                )
            )
            cursor = following
        return out

    def previous(self) -> Period | None:
        """The period compared with, at the same granularity; None when not compared."""
        if self.compare == "none":
            return None
        if self.compare == "year":
            return Period(_year_back(self.start), _year_back(self.end), self.granularity, "none")
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, self.granularity, "none")

    def query(self) -> str:
        return (
            f"from={self.start.isoformat()}&to={self.end.isoformat()}"
            f"&granularity={self.granularity}&compare={self.compare}"
        )


def period_parse(params: Any, *, today: dt.date) -> Period:
    """`from`/`to` (YYYY-MM-DD) or `range` (a preset), `granularity`, `compare`; the default is
    the last 12 months by month, against the 12 months before. Errors name the field."""
    errors: list[dict] = []

    def date(name: str) -> dt.date | None:
        raw = str(params.get(name) or "").strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            errors.append({"field": name, "message": _("must be a date as YYYY-MM-DD")})
            return None

    preset = str(params.get("range") or "").strip()
    if preset and preset not in PRESETS:
        errors.append({"field": "range", "message": _("is not a known period")})
    start, end = date("from"), date("to")
    if not (start and end):
        default_start, default_end = preset_range(preset if preset in PRESETS else "12m", today)
        start, end = start or default_start, end or default_end
    granularity = str(params.get("granularity") or "month")
    if granularity not in GRANULARITIES:
        errors.append({"field": "granularity", "message": _("must be day, week, month or quarter")})
    compare = str(params.get("compare") or "previous")
    if compare not in COMPARES:
        errors.append({"field": "compare", "message": _("must be previous, year or none")})
    if start > end:
        errors.append({"field": "to", "message": _("must not be before “from”")})
    elif (end - start).days > MAX_DAYS:
        errors.append({"field": "to", "message": _("the period may be at most ten years")})
    elif granularity == "day" and (end - start).days > 400:
        errors.append(
            {"field": "granularity", "message": _("by day, the period may be at most 400 days")}
        )
    if errors:
        raise ValidationFailed(errors)
    return Period(start, end, granularity, compare)
