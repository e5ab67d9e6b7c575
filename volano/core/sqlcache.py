"""Compiled statements kept for reuse, with the contact ids as the only thing that changes.

Building a statement from a condition through the ORM (Q trees, lookups, the SQL compiler) costs
tens of milliseconds for a rich condition, while running it for one contact costs one or two.
The paths that run after every event (a score update, the threshold rules) build their statement
once per key with placeholder ids (`id_slots(n)`: values no contact can have), remember where
those placeholders sit among the parameters, and then only swap in the real ids.

The key must name everything else the statement depends on (the model or rule and its version,
the moment "now" it was built for, the number of ids).

`statement_cached_at` keeps a statement across moments as well: the values a condition computes
from "now" ("30 days ago") are found by building it twice, at `now` and half a day away on the
same day, and are computed again from the moment each call binds. It is keyed by the day in the workspace's
time zone (values computed from the day, "10 days before today", hold for the day) and rebuilt
after `MAX_AGE` (what compiling looked up, a list's id by its slug, is at most that old).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

SLOT_BASE = -(2**62)
MAX_ENTRIES = 512
MAX_AGE = 15 * 60.0  # seconds a statement of `statement_cached_at` is kept
# The second build's distance from `now`: half a day, so a value that steps with the hour (or
# any period under half a day) differs between the two builds and is not taken for a constant.
PROBE = dt.timedelta(hours=11, minutes=58, seconds=51)


def id_slots(n: int) -> list[int]:
    """`n` placeholder ids, to build a statement with instead of the real ones."""
    return [SLOT_BASE - i for i in range(n)]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple
    slots: tuple[tuple[int, int], ...]  # (position in params, index of the id it stands for)
    # (position in params, how long before "now" the value is, True: naive UTC text (SQLite))
    moments: tuple[tuple[int, dt.timedelta, bool], ...] = ()
    built: float = 0.0  # time.monotonic() when it was built

    def bind(self, ids: Sequence[int], now: dt.datetime | None = None) -> list:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = ids[index]
        if self.moments:
            if now is None:
                raise ValueError("this statement reads the moment: bind it with `now`")
            for position, before, as_text in self.moments:
                params[position] = _moment_value(now - before, as_text)
        return params


_cache: OrderedDict[Hashable, Statement] = OrderedDict()
_lock = Lock()


def statement_cached(
    key: Hashable, n: int, build: Callable[[list[int]], tuple[str, Sequence]]
) -> Statement:
    """The statement for `key` built by `build(placeholder_ids)`, compiled once."""
    full_key = (key, n)
    with _lock:
        found = _cache.get(full_key)
        if found is not None:
            _cache.move_to_end(full_key)
            return found
    slots = id_slots(n)
    sql, params = build(slots)
    statement = _statement(sql, params, slots)
    _store(full_key, statement)
    return statement


def statement_cached_at(
    key: Hashable,
    n: int,
    now: dt.datetime,
    build: Callable[[list[int], dt.datetime], tuple[str, Sequence]],
    *,
    time_zone: str = "UTC",
) -> Statement:
    """The statement for `key` built by `build(placeholder_ids, now)`, reused at other moments:
    bind it with the call's own `now` (`statement.bind(ids, now)`).

    What `build` computes from `now` must be `now` minus a fixed time, or depend on the day
    only (in `time_zone`); a statement whose values are found to move otherwise (a value that
    steps with the hour) is kept for `now` alone."""
    day = now.astimezone(ZoneInfo(time_zone)).date()
    full_key = ("at", key, n, day)
    with _lock:
        found = _cache.get(full_key)
        if found is not None and time.monotonic() - found.built < MAX_AGE:
            _cache.move_to_end(full_key)
            return found
    slots = id_slots(n)
    sql, params = build(slots, now)
    for probe in (now + PROBE, now - PROBE):  # one of the two is on the same day
        if probe.astimezone(ZoneInfo(time_zone)).date() != day:
            continue
        probe_sql, probe_params = build(slots, probe)
        moments = _moments(params, probe_params, now, probe) if probe_sql == sql else None
        if moments is not None:
            statement = _statement(sql, params, slots, moments)
            _store(full_key, statement)
            return statement
    statement = _statement(sql, params, slots)  # kept for this moment only
    _store(("at", key, n, now), statement)
    return statement


def _statement(
    sql: str,
    params: Sequence,
    slots: list[int],
    moments: tuple[tuple[int, dt.timedelta, bool], ...] = (),
) -> Statement:
    where = {slot: index for index, slot in enumerate(slots)}
    return Statement(
        sql=sql,
        params=tuple(params),
        slots=tuple(
            (position, where[value])
            for position, value in enumerate(params)
            if isinstance(value, int) and not isinstance(value, bool) and value in where
        ),
        moments=moments,
        built=time.monotonic(),
    )


def _store(full_key: Hashable, statement: Statement) -> None:
    with _lock:
        _cache[full_key] = statement
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)


def _moments(
    params: Sequence, probe_params: Sequence, now: dt.datetime, probe: dt.datetime
) -> tuple[tuple[int, dt.timedelta, bool], ...] | None:
    """Where the two builds' parameters differ, each value as "this long before now", or None
    when one of them is not a moment that moved exactly as far as `now` did."""
    if len(params) != len(probe_params):
        return None
    moments = []
    for position, (value, probed) in enumerate(zip(params, probe_params, strict=True)):
        if value == probed:
            continue
        here, there = _as_moment(value), _as_moment(probed)
        if here is None or there is None or here[1] != there[1]:
            return None
        as_text = here[1]
        if there[0] - here[0] != probe - now or _moment_value(here[0], as_text) != value:
            return None
        moments.append((position, now - here[0], as_text))
    return tuple(moments)


def _as_moment(value: Any) -> tuple[dt.datetime, bool] | None:
    """An aware datetime (PostgreSQL's parameters) or Django's naive UTC text (SQLite's)."""
    if isinstance(value, dt.datetime):
        return (value, False) if value.tzinfo is not None else None
    if isinstance(value, str) and len(value) >= 19:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC), True
    return None


def _moment_value(moment: dt.datetime, as_text: bool) -> Any:
    if as_text:
        return str(moment.astimezone(dt.UTC).replace(tzinfo=None))
    return moment
