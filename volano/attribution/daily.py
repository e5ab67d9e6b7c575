"""Attributed credits kept per conversion day, so that a change recomputes only the days it
can move (`selectors.roi` under an additive model: the ROI page, API and CLI, and the board's report).

Under an *additive* model (every model but Markov: each journey's value is shared among its
own touches, whatever the other journeys are) the credits of a period are the sum of the
credits of its days, each day being the journeys of that day's conversions. So the five ROI
conversions (leads, MQLs, SQLs, customers, revenue) are attributed per day and kept in
`CreditDay`, one row per (parameters, day); a report sums its days, computing and keeping only
the days it lacks or that went stale.

Currency: a kept day counts until a `CreditDayMark` with a larger generation covers it. The
reactions (`reactions.py`) write the marks, for each change, on the days it can move, before
raising the workspace's generation (`cache.generation_raise`); a day is stamped with the
generation read *before* its inputs are read, so a change that commits during a computation
leaves that day stale, never wrong. The days a change can move are those of the conversions
of the contacts it names:

| change | days marked |
|---|---|
| touches appended | each named contact's conversion days from the earliest new touch on (a touch can only credit a conversion after it); identity resolution moves a visitor's touches: from the earliest of them |
| a contact created | the day it was created (its lead conversion); `created_at` rewritten or the contact gone: every day |
| a stage change | the days of each named contact's stage changes (its first reach of a stage may move to an earlier day) |
| a deal won, lost or reopened | every day from the creation of the contact's deals that just changed (a deal is won after it is created) |
| an order completed | the days of the contact's completed orders |
| a merge, or more than `MAX_CONTACTS` contacts at once | every day |

Marks older than `KEEP_MARKS` are applied (the days they cover deleted) and dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from volano.attribution import cache, engine, journeys
from volano.attribution.models import CreditDay, CreditDayMark
from volano.core.models import Workspace

ADDITIVE_MODELS = ("first", "last", "linear", "time_decay", "position", "shapley")
CONVERSIONS = ("lead", "mql", "sql", "customer", "revenue")
MAX_CONTACTS = 5_000  # a change naming more contacts marks every day
MAX_PEOPLE = 20_000  # days to compute whose converting people are fewer: only their touches read
RECENT = dt.timedelta(days=2)  # a reaction runs within minutes of its change; two days of slack
KEEP_MARKS = dt.timedelta(hours=1)
EVERY_DAY = (dt.date.min, dt.date.max)

Figures = dict[str, dict[str, float]]


class SharedTouches:
    """Attribution's touches of [start, end), read on the first call only, with the generation
    read just before them: the days computed from them are stamped with that generation, so a
    change committed after the read leaves them stale, never wrong. What a caller reading
    several reports of overlapping spans passes as `touches` (the board's report)."""

    def __init__(self, workspace: Workspace, start: dt.datetime, end: dt.datetime):
        self.workspace, self.start, self.end = workspace, start, end
        self.generation: int | None = None
        self._touches: journeys.Touches | None = None
        # what the days computed for one report read, by what it was read for (the generation
        # read before included): its channel and campaign rows read them once
        self.memo: dict[tuple, Any] = {}

    def __call__(self) -> journeys.Touches:
        if self._touches is None:
            self.generation = cache.generation(self.workspace)
            self._touches = journeys.touches_load(self.workspace, self.start, self.end)
        return self._touches


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _us(moment: dt.datetime) -> int:
    return round((moment - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1e6)


def _day_of(moment: dt.datetime) -> dt.date:
    """The day of a moment in the default time zone: what marks are written in, whatever
    time zone the request that caused them had activated."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def signature(workspace: Workspace, model: str, query: Any, dimension: str) -> str:
    from volano.campaigns.channels import workspace_rules

    params = {
        "model": model,
        "dimension": dimension,
        "lookback_days": query.lookback_days,
        "half_life": query.half_life,
        "first": query.first,
        "last": query.last,
        "time_zone": timezone.get_current_timezone_name(),
        "rules": [repr(rule) for rule in workspace_rules(workspace)],
    }
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _add(into: Figures, figures: Figures) -> None:
    for key, values in figures.items():
        row = into.setdefault(key, {})
        for conversion, value in values.items():
            row[conversion] = row.get(conversion, 0.0) + value


def bucketed(
    workspace: Workspace,
    model: str,
    query: Any,
    dimension: str,
    spans: list[tuple[str, dt.date, dt.date]],
    touches: journeys.Touches | Callable[[], journeys.Touches] | None = None,
) -> list[list[Any]]:
    """[[bucket label, {key: {conversion: credit}}], …] for the (label, first day, last day)
    spans, each the sum of its kept days: what `selectors._attributed` gives, for an additive
    model. `touches`: the touches of [query.start - lookback, query.end] (or a function giving
    them), used when days must be computed."""
    if model not in ADDITIVE_MODELS:
        raise ValueError(f"{model!r} is not additive over days")
    first = min(span[1] for span in spans)
    last = max(span[2] for span in spans)
    days = days_credits(workspace, model, query, dimension, first, last, touches=touches)
    result: list[list[Any]] = []
    for label, first_day, last_day in spans:
        figures: Figures = {}
        day = first_day
        while day <= last_day:
            _add(figures, days[day])
            day += dt.timedelta(days=1)
        result.append([label, figures])
    return result


def days_credits(
    workspace: Workspace,
    model: str,
    query: Any,
    dimension: str,
    first: dt.date,
    last: dt.date,
    *,
    touches: journeys.Touches | Callable[[], journeys.Touches] | None = None,
) -> dict[dt.date, Figures]:
    """{day: credits} for every day from `first` to `last`: the kept days still current, the
    others computed now (in one read of the touches) and kept."""
    key = signature(workspace, model, query, dimension)
    current = cache.generation(workspace)  # before any input is read
    rows = list(
        CreditDay.objects.for_workspace(workspace)
        .filter(signature=key, day__gte=first, day__lte=last)
        .values_list("day", "generation", "payload")
    )
    marks: list[tuple[int, dt.date, dt.date]] = []
    if rows:
        marks = list(
            CreditDayMark.objects.for_workspace(workspace)
            .filter(
                generation__gt=min(generation for _day, generation, _payload in rows),
                last_day__gte=first - dt.timedelta(days=1),
                first_day__lte=last + dt.timedelta(days=1),
            )
            .values_list("generation", "first_day", "last_day")
        )
    if timezone.get_current_timezone_name() != timezone.get_default_timezone_name():
        # the marks' days are the default time zone's: a day here may overlap two of them
        one = dt.timedelta(days=1)
        marks = [
            (g, low - one if low > dt.date.min else low, high + one if high < dt.date.max else high)
            for g, low, high in marks
        ]
    found: dict[dt.date, Figures] = {}
    for day, generation, payload in rows:
        if not any(g > generation and low <= day <= high for g, low, high in marks):
            found[day] = payload
    missing = []
    day = first
    while day <= last:
        if day not in found:
            missing.append(day)
        day += dt.timedelta(days=1)
    if missing:
        computed = compute(
            workspace, model, query, dimension, missing, touches=touches, generation=current
        )
        stamp = current
        if isinstance(touches, SharedTouches) and touches.generation is not None:
            stamp = min(current, touches.generation)  # read before this call, maybe
        _keep(workspace, key, stamp, computed)
        found.update(computed)
    return found


def _keep(workspace: Workspace, key: str, generation: int, computed: dict[dt.date, Figures]):
    now = timezone.now()
    try:
        with transaction.atomic():
            CreditDay.objects.for_workspace(workspace).filter(
                signature=key, day__in=list(computed)
            ).delete()
            CreditDay.objects.for_workspace(workspace).bulk_create(
                [
                    CreditDay(
                        workspace=workspace,
                        signature=key,
                        day=day,
                        generation=generation,
                        payload=figures,
                        computed_at=now,
                    )
                    for day, figures in computed.items()
                ],
                batch_size=1000,
            )
    except IntegrityError:  # the same days, kept meanwhile by another request
        pass
    marks_prune(workspace)


def marks_prune(workspace: Workspace, *, older_than: dt.timedelta = KEEP_MARKS) -> int:
    """Apply the marks older than `older_than` (delete the days they made stale) and drop
    them: the table of marks stays small in a workspace whose inputs change all the time."""
    old = CreditDayMark.objects.for_workspace(workspace).filter(
        created_at__lt=timezone.now() - older_than
    )
    newest = old.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return 0
    old = old.filter(id__lte=newest)
    with transaction.atomic():
        stale = Exists(
            old.filter(
                generation__gt=OuterRef("generation"),
                first_day__lte=OuterRef("day"),
                last_day__gte=OuterRef("day"),
            )
        )
        CreditDay.objects.for_workspace(workspace).filter(stale).delete()
        dropped, _ = old.delete()
    return dropped


def _persons(touches: journeys.Touches, persons: np.ndarray) -> journeys.Touches:
    """The touches of these people (sorted ids): ranges of the touches sorted by person."""
    low = np.searchsorted(touches.person, persons, side="left")
    high = np.searchsorted(touches.person, persons, side="right")
    lengths = high - low
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - low, lengths)
    return journeys.Touches(
        person=touches.person[index],
        at=touches.at[index],
        combo=touches.combo[index],
        combos=touches.combos,
        rules=touches.rules,
        _keys=touches._keys,
    )


def compute(
    workspace: Workspace,
    model: str,
    query: Any,
    dimension: str,
    days: Iterable[dt.date],
    *,
    touches: journeys.Touches | Callable[[], journeys.Touches] | None = None,
    generation: int | None = None,
) -> dict[dt.date, Figures]:
    """Each day's credits from the database: the touches read once for all the days (or the
    caller's `SharedTouches`), each conversion once; then per day only the touches of that
    day's converting people."""
    days = sorted(days)
    start_at, end_at = _midnight(days[0]), _midnight(days[-1] + dt.timedelta(days=1))
    wanted = set(days)
    spans = [(day, _us(_midnight(day)), _us(_midnight(day + dt.timedelta(days=1)))) for day in days]
    every_conversion = {}
    memo = touches.memo if isinstance(touches, SharedTouches) else {}
    read_key = ("conversions", start_at, end_at, generation)
    if read_key not in memo:
        memo[read_key] = {
            conversion: journeys.conversions_load(workspace, conversion, start_at, end_at)
            for conversion in CONVERSIONS
        }
    read = memo[read_key]
    for conversion in CONVERSIONS:
        every = read[conversion]
        if len(wanted) < (days[-1] - days[0]).days + 1:  # only the days asked for
            keep = np.zeros(len(every["at"]), dtype=bool)
            for _day, low, high in spans:
                keep |= (every["at"] >= low) & (every["at"] < high)
            every = {name: column[keep] for name, column in every.items()}
        every_conversion[conversion] = every
    persons = np.unique(np.concatenate([c["person"] for c in every_conversion.values()]))
    if len(persons) <= MAX_PEOPLE:
        # a few days to recompute: only their converting people's touches (read once for the
        # channel and the campaign rows of a report, while the generation has not moved)
        since = start_at - dt.timedelta(days=query.lookback_days)
        people_key = ("people", since, end_at, generation, persons.tobytes())
        if people_key not in memo:
            memo[people_key] = journeys.touches_load(
                workspace, since, end_at, contact_ids=[int(p) for p in persons]
            )
        read_touches: journeys.Touches = memo[people_key]
    elif isinstance(touches, SharedTouches):
        read_touches = touches()  # its generation (read before it) stamps the days
    else:  # touches read at a moment not known: not used for days kept
        read_touches = journeys.touches_load(
            workspace, start_at - dt.timedelta(days=query.lookback_days), end_at
        )
    result: dict[dt.date, Figures] = {day: {} for day in days}
    for conversion in CONVERSIONS:
        every = every_conversion[conversion]
        # conversions are sorted by person: order them by time to cut days with searchsorted
        order = np.argsort(every["at"], kind="stable")
        at = every["at"][order]
        for day, low, high in spans:
            begin, end = np.searchsorted(at, [low, high], side="left")
            if begin == end:
                continue
            picked = np.sort(order[begin:end])  # back in (person, at, worth) order
            converted = {name: column[picked] for name, column in every.items()}
            paths = journeys.paths_from(
                _persons(read_touches, np.unique(converted["person"])),
                converted,
                dimension=dimension,
                start=_midnight(day),
                lookback_days=query.lookback_days,
            )
            values = engine.attribute(
                paths, model, half_life=query.half_life, first=query.first, last=query.last
            )
            figures = result[day]
            for key, value in zip(paths.keys, values, strict=True):
                if value:
                    figures.setdefault(key, {})[conversion] = float(value)
    return result


# -- marks: the days an input change can move ---------------------------------------------------


def mark(workspace_id: int, ranges: Iterable[tuple[dt.date, dt.date]]) -> None:
    """Mark the days of `ranges` stale for every kept day of a generation up to the current
    one: called before the generation is raised (see the module docstring)."""
    merged = _merge(ranges)
    if not merged:
        return
    generation = cache.generation(workspace_id) + 1
    CreditDayMark.objects.for_workspace(workspace_id).bulk_create(
        [
            CreditDayMark(
                workspace_id=workspace_id, generation=generation, first_day=low, last_day=high
            )
            for low, high in merged
        ]
    )


def _merge(ranges: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    result: list[list[dt.date]] = []
    for low, high in sorted(ranges):
        if result and low <= result[-1][1] + dt.timedelta(days=1):
            result[-1][1] = max(result[-1][1], high)
        else:
            result.append([low, high])
    return [(low, high) for low, high in result]


def _days(moments: Iterable[dt.datetime | None]) -> list[tuple[dt.date, dt.date]]:
    return [(_day_of(m), _day_of(m)) for m in {m for m in moments if m is not None}]


def _conversion_moments(workspace_id: int, contact_ids: set[int]) -> dict[int, list[dt.datetime]]:
    """Every moment a conversion of these contacts may sit at: created, each stage change,
    each won deal closed, each completed order."""
    from volano.contacts.models import Contact
    from volano.deals.models import Deal, DealStage
    from volano.lifecycle.models import StageChange
    from volano.orders.models import Order

    moments: dict[int, list[dt.datetime]] = {}
    sources = (
        Contact.objects.for_workspace(workspace_id)
        .filter(pk__in=contact_ids)
        .values_list("pk", "created_at"),
        StageChange.objects.for_workspace(workspace_id)
        .filter(contact_id__in=contact_ids)
        .values_list("contact_id", "changed_at"),
        Deal.objects.for_workspace(workspace_id)
        .filter(contact_id__in=contact_ids, stage=DealStage.WON)
        .values_list("contact_id", "closed_at"),
        Order.objects.for_workspace(workspace_id)
        .filter(
            contact_id__in=contact_ids,
            status=journeys.COMPLETED_ORDER,
        )
        .values_list("contact_id", "ordered_at"),
    )
    for rows in sources:
        for contact_id, moment in rows:
            if moment is not None:
                moments.setdefault(contact_id, []).append(moment)
    return moments


def touches_changed(workspace_id: int, contact_ids: Iterable[int] | None) -> None:
    """Touches were stored on these contacts' timelines (or moved there from a visitor)."""
    from volano.campaigns.selectors import TOUCH_TYPES
    from volano.events.models import Event, Visitor

    if contact_ids is None or len(ids := set(contact_ids)) > MAX_CONTACTS:
        mark(workspace_id, [EVERY_DAY])
        return
    since = timezone.now() - RECENT
    touch_types = [str(t) for t in TOUCH_TYPES]
    events = Event.objects.for_workspace(workspace_id).filter(
        contact_id__in=ids, type__in=touch_types
    )
    earliest = dict(
        events.filter(received_at__gte=since)
        .values_list("contact_id")
        .annotate(at=Min("occurred_at"))
        .values_list("contact_id", "at")
    )
    # identity resolution: the visitor's earlier touches moved, received long ago
    identified = (
        Visitor.objects.for_workspace(workspace_id)
        .filter(contact_id__in=ids, identified_at__gte=since)
        .values("anonymous_id")
    )
    for contact_id, at in (
        events.filter(anonymous_id__in=identified)
        .values_list("contact_id")
        .annotate(at=Min("occurred_at"))
        .values_list("contact_id", "at")
    ):
        earliest[contact_id] = min(at, earliest.get(contact_id, at))
    ranges = []
    for contact_id, moments in _conversion_moments(workspace_id, ids).items():
        # no new touch found (an old reaction run again, a writer that dated its receipt):
        # every conversion of the contact
        since_touch = earliest.get(contact_id)
        ranges += _days(m for m in moments if since_touch is None or m >= since_touch)
    mark(workspace_id, ranges)


def contacts_changed(
    workspace_id: int, contact_ids: Iterable[int] | None, fields: Iterable[str] | None
) -> None:
    """Contacts were created (their lead conversion), deleted, or had `created_at` rewritten."""
    from volano.contacts.models import Contact

    if contact_ids is None or len(ids := set(contact_ids)) > MAX_CONTACTS:
        mark(workspace_id, [EVERY_DAY])
        return
    if fields is not None and "created_at" in set(fields):
        mark(workspace_id, [EVERY_DAY])  # the day it was created before is not known
        return
    created = dict(
        Contact.objects.for_workspace(workspace_id)
        .filter(pk__in=ids)
        .values_list("pk", "created_at")
    )
    if len(created) < len(ids):  # deleted: its conversions and touches are gone
        mark(workspace_id, [EVERY_DAY])
        return
    mark(workspace_id, _days(created.values()))


def stages_changed(workspace_id: int, contact_ids: Iterable[int] | None) -> None:
    from volano.lifecycle.models import StageChange

    if contact_ids is None or len(ids := set(contact_ids)) > MAX_CONTACTS:
        mark(workspace_id, [EVERY_DAY])
        return
    moments = (
        StageChange.objects.for_workspace(workspace_id)
        .filter(contact_id__in=ids)
        .values_list("changed_at", flat=True)
    )
    mark(workspace_id, _days(moments))


def deals_changed(workspace_id: int, contact_ids: Iterable[int] | None) -> None:
    """A deal was won (its day), or lost or reopened (the day it had been won is not kept:
    every day from its creation on)."""
    from volano.deals.models import Deal

    if contact_ids is None or len(ids := set(contact_ids)) > MAX_CONTACTS:
        mark(workspace_id, [EVERY_DAY])
        return
    created = (
        Deal.objects.for_workspace(workspace_id)
        .filter(
            contact_id__in=ids,
            updated_at__gte=timezone.now() - RECENT,
        )
        .aggregate(at=Min("created_at"))
        .get("at")
    )
    if created is None:
        mark(workspace_id, [EVERY_DAY])
        return
    mark(workspace_id, [(_day_of(created), dt.date.max)])


def orders_completed(workspace_id: int, contact_ids: Iterable[int] | None) -> None:
    from volano.orders.models import Order

    if contact_ids is None or len(ids := set(contact_ids)) > MAX_CONTACTS:
        mark(workspace_id, [EVERY_DAY])
        return
    moments = (
        Order.objects.for_workspace(workspace_id)
        .filter(contact_id__in=ids, status=journeys.COMPLETED_ORDER)
        .values_list("ordered_at", flat=True)
    )
    mark(workspace_id, _days(moments))
