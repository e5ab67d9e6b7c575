"""Replay: a workflow's draft run over the last N days of the real timeline, read-only.

Who would have entered is read from the timeline: the trigger's kind names the event that
would have enrolled the contact (`form_submitted`, `segment_entered`, `lifecycle_changed`,
`score_changed`, or the event types an `event` trigger's condition reads), and the contact's
first such event in the window is when they would have entered (each contact enters once).

A contact's way through the steps is a set of predicates, never a loop over contacts: waits are
fixed durations, so every contact on one path reaches a step `offset` minutes after entering;
a step is reached by now when `entered_at <= now - offset`. Branches add a predicate on the
contact (a condition, the split's hash, a reaction to a comparable email), and every step's
count is one conditional COUNT of the one entry set, all steps in one statement.

Simulation is a registry keyed by step kind (`simulates`), like the builder's forms: a kind
with no simulation passes through to its next step and the reply says so.

What replay cannot know is said in `notes`: conditions are read on today's data, a branch on
the workflow's own emails reads the contact's real opens/clicks of earlier emails of the same
template (where there are none, the contact is counted on the "no" side), and the goal is read
on today's data.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Mod
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.db import db_now
from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.workflows.definition import definition_parse, graph_order
from volano.workflows.models import Workflow

MAX_DAYS = 365
SAMPLE = 20


@dataclass
class Route:
    """Where contacts go from a step: to `to` (None: they leave), with `where` added to their
    predicate and `minutes` to their time, counted under `outcome` when it is set."""

    to: str | None
    where: Q | None = None
    minutes: int = 0
    outcome: str = ""


@dataclass
class Replay:
    workspace: Workspace
    workflow: Workflow
    now: dt.datetime
    graph: dict
    notes: list[str] = field(default_factory=list)

    def matching(self, definition: Any) -> Q:
        return Q(pk__in=self.matching_ids(definition))

    def matching_ids(self, definition: Any) -> Any:
        from volano.conditions.parse import condition_parse
        from volano.conditions.selectors import contacts_matching
        from volano.segments.resolver import SegmentResolver

        condition = condition_parse(definition, workspace=self.workspace)
        contacts = contacts_matching(
            workspace=self.workspace,
            condition=condition,
            now=self.now,
            resolver=SegmentResolver(self.workspace),
        )
        return contacts.values("pk")

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


Simulation = Callable[[Replay, str, dict], list[Route]]
SIMULATIONS: dict[str, Simulation] = {}


def simulates(*kinds: str) -> Callable[[Simulation], Simulation]:
    """Register how steps of these kinds move contacts in a replay."""

    def register(function: Simulation) -> Simulation:
        for kind in kinds:
            SIMULATIONS[kind] = function
        return function

    return register


@simulates(
    "send_email",
    "send_survey",
    "update_property",
    "add_to_list",
    "remove_from_list",
    "change_stage",
    "notify",
    "enrol_in_workflow",
)
def _pass(replay: Replay, key: str, step: dict) -> list[Route]:
    if step["kind"] in ("update_property", "change_stage", "add_to_list", "remove_from_list"):
        replay.note(
            _(
                "Steps that change contacts are not applied in a replay: later conditions read today's data."
            )
        )
    return [Route(step["next"])]


@simulates("create_task", "webhook")
def _internal(replay: Replay, key: str, step: dict) -> list[Route]:
    replay.note(_("Tasks and webhooks are not created or called in a replay."))
    return [Route(step["next"])]


@simulates("set_top_section", "adjust_score")
def _not_applied(replay: Replay, key: str, step: dict) -> list[Route]:
    replay.note(
        _(
            "Steps that change contacts are not applied in a replay: later conditions read today's data."
        )
    )
    if step["kind"] == "set_top_section":
        replay.note(
            _(
                "A field set from the section read longest is not written in a replay: the "
                "emails after it are counted, whatever section they would link."
            )
        )
    return [Route(step["next"])]


def _longest_weekday_wait(step: dict) -> int:
    """Minutes of the longest wait a weekday wait can make (from just after the time on one
    chosen day to the next chosen day): a week for one day, a day for every day."""
    days = sorted(step["weekdays"])
    gaps = [(days[(i + 1) % len(days)] - d) % 7 or 7 for i, d in enumerate(days)]
    return max(gaps) * 24 * 60


@simulates("wait_until")
def _wait_until(replay: Replay, key: str, step: dict) -> list[Route]:
    if "field" in step:
        # who has the date (plus the offset) still to come waits; an empty field or a day gone
        # goes on at once, as in the engine
        pending = replay.matching(
            {"field": step["field"], "op": "gt", "value": _shifted_today(replay, step)}
        )
        replay.note(
            _(
                "A wait until a date of the contact lets through those whose date has come (read "
                "on today's data); the waits after it count from their entry."
            )
        )
        return [Route(step["next"], where=~pending)]
    minutes = _longest_weekday_wait(step)
    replay.note(
        _("A wait until a weekday counts its longest wait (%(n)s days).")
        % {"n": minutes // (24 * 60)}
    )
    return [Route(step["next"], minutes=minutes)]


def _shifted_today(replay: Replay, step: dict) -> str:
    from zoneinfo import ZoneInfo

    today = replay.now.astimezone(ZoneInfo(replay.workspace.time_zone)).date()
    return (today - dt.timedelta(days=step["offset_days"])).isoformat()


@simulates("wait_for")
def _wait_for(replay: Replay, key: str, step: dict) -> list[Route]:
    if "on" in step:
        did = _reaction_q(replay, step["on"])
        replay.note(
            _(
                "Waits for this workflow's own emails use each contact's real opens and clicks "
                "of earlier emails of the same template."
            )
        )
    else:
        did = replay.matching(step.get("event") or step["when"])
        replay.note(
            _(
                "A wait for an event takes the “happened” path for who did it (at any time, read "
                "on today's data), at once; the others after the time limit."
            )
        )
    return [
        Route(step["then"], where=did, outcome="then"),
        Route(step["else"], where=~did, minutes=step["timeout_minutes"], outcome="else"),
    ]


@simulates("wait")
def _wait(replay: Replay, key: str, step: dict) -> list[Route]:
    return [Route(step["next"], minutes=step["minutes"])]


@simulates("exit")
def _exit(replay: Replay, key: str, step: dict) -> list[Route]:
    return [Route(None)]


@simulates("split")
def _split(replay: Replay, key: str, step: dict) -> list[Route]:
    # the engine's hash (services.split_path) in SQL: the same contact takes the same path
    point = Mod(
        Mod(F("pk") * Value(2654435761) + Value(replay.workflow.pk * 40503), Value(2**32)),
        Value(sum(step["weights"])),
    )
    routes, low = [], 0
    for index, (first, weight) in enumerate(zip(step["paths"], step["weights"], strict=True)):
        where = Q(GreaterThanOrEqual(point, low)) & Q(LessThan(point, low + weight))
        routes.append(Route(first, where=where, outcome=f"path-{index + 1}"))
        low += weight
    return routes


@simulates("branch")
def _branch(replay: Replay, key: str, step: dict) -> list[Route]:
    if "when" in step:
        yes = replay.matching(step["when"])
        replay.note(_("Branch conditions are read on today's data."))
    else:
        yes = _reaction_q(replay, step["on"])
        replay.note(
            _(
                "Branches on this workflow's own emails use each contact's real opens and clicks "
                "of earlier emails of the same template; a contact who never received one is "
                "counted on the “no” side."
            )
        )
    return [
        Route(step["then"], where=yes, outcome="then"),
        Route(step["else"], where=~yes, outcome="else"),
    ]


def _templates_of(replay: Replay, keys: list[str]) -> list[int]:
    from volano.emails.models import EmailTemplate

    steps = replay.graph["steps"]
    slugs = [steps[k]["template"] for k in keys if k in steps and steps[k].get("template")]
    return list(
        EmailTemplate.objects.for_workspace(replay.workspace)
        .filter(slug__in=slugs)
        .values_list("pk", flat=True)
    )


def _comparable(replay: Replay, keys: list[str]) -> Any:
    """The deliveries of earlier emails of the send steps' templates (any mailing)."""
    from volano.emails.models import Delivery

    return Delivery.objects.for_workspace(replay.workspace).filter(
        mailing__params__template_id__in=_templates_of(replay, keys) or [0],
        contact_id=OuterRef("pk"),
        sent_at__lte=replay.now,
    )


def _reaction_q(replay: Replay, on: dict) -> Q:
    deliveries = _comparable(replay, on["steps"])
    if on["did"] == "clicked":
        deliveries = deliveries.filter(clicked_at__isnull=False)
    else:  # a click is an open the pixel may have missed
        deliveries = deliveries.filter(Q(opened_at__isnull=False) | Q(clicked_at__isnull=False))
    return Q(Exists(deliveries))


# -- who enters -------------------------------------------------------------------------------

Entry = Callable[[Replay, dict], Q | None]
ENTRIES: dict[str, Entry] = {}


def enters_by(*kinds: str) -> Callable[[Entry], Entry]:
    """Register which timeline events would have enrolled a contact for these trigger kinds
    (a Q on Event, or None: no one enters by itself)."""

    def register(function: Entry) -> Entry:
        for kind in kinds:
            ENTRIES[kind] = function
        return function

    return register


@enters_by("manual")
def _manual(replay: Replay, trigger: dict) -> Q | None:
    replay.note(_("The trigger is enrolment by hand: no one would have entered by themselves."))
    return None


@enters_by("event")
def _event(replay: Replay, trigger: dict) -> Q | None:
    from volano.workflows.reactions import _event_types_read

    types = sorted(_event_types_read(trigger["when"], set()))
    if not types:
        replay.note(_("The trigger's condition names no event: no one enters by an event."))
        return None
    replay.note(_("The trigger's condition is read on today's data."))
    return Q(type__in=types, contact_id__in=replay.matching_ids(trigger["when"]))


@enters_by("form_submitted")
def _form(replay: Replay, trigger: dict) -> Q | None:
    q = Q(type="form_submitted")
    return q & Q(properties__form=trigger["form"]) if trigger.get("form") else q


@enters_by("segment_entered", "segment_left")
def _segment(replay: Replay, trigger: dict) -> Q | None:
    return Q(type=trigger["kind"], properties__segment=trigger["segment"])


@enters_by("stage_changed")
def _stage(replay: Replay, trigger: dict) -> Q | None:
    return Q(type="lifecycle_changed", properties__to=trigger["stage"])


@enters_by("score_crossed")
def _score(replay: Replay, trigger: dict) -> Q | None:
    return Q(
        type="score_changed",
        properties__model=trigger["model"],
        properties__to__gte=trigger["threshold"],
    )


# -- the replay -------------------------------------------------------------------------------


def workflow_replay(
    *,
    workspace: Workspace,
    workflow: Workflow,
    days: int = 90,
    now: dt.datetime | None = None,
    definition: Any = None,
) -> dict[str, Any]:
    """What the draft (or `definition`) would have done over the last `days` days: who would
    have entered, how many reached each step (and took each branch or path), how many meet
    the goal, which emails each would have received. Reads only; sends and writes nothing."""
    from volano.events.models import Event

    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ApplicationError(
            _("days: a whole number from 1 to %(n)s") % {"n": MAX_DAYS}, field="days"
        )
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    graph = definition_parse(
        workflow.draft if definition is None else definition,
        workspace=workspace,
        check_references=False,
    )
    replay = Replay(workspace=workspace, workflow=workflow, now=now, graph=graph)
    trigger = graph["trigger"]
    entry = ENTRIES.get(trigger["kind"])
    if entry is None:
        replay.note(
            _("The trigger %(kind)s cannot be replayed yet: no one enters.")
            % {"kind": trigger["kind"]}
        )
        events_q = None
    else:
        events_q = entry(replay, trigger)

    # every step's predicate and time offset, walking the graph once (a branch's paths rejoin:
    # a step reached along several routes is the OR of them). A predicate is a conjunction of
    # atoms: each branch's, split path's or comparable-email test is one atom, computed once
    # per entrant as a column, and its "else" side is the same atom negated.
    atoms: list[Q] = []

    def atom(q: Q) -> tuple[int, bool]:
        flipped = copy.copy(q)
        flipped.negated = not q.negated
        for index, known in enumerate(atoms):
            if known == q:
                return index, True
            if known == flipped:
                return index, False
        atoms.append(q)
        return len(atoms) - 1, True

    Where = tuple[tuple[int, bool], ...]
    reach: dict[str, list[tuple[Where, int]]] = {}
    outcomes: dict[str, list[tuple[str, Where, int]]] = {}
    unknown: set[str] = set()

    def walk(key: str | None, where: Where, minutes: int, depth: int) -> None:
        if key is None or depth > 400:
            return
        step = graph["steps"][key]
        reach.setdefault(key, []).append((where, minutes))
        simulation = SIMULATIONS.get(step["kind"])
        if simulation is None:
            unknown.add(step["kind"])
            routes = [Route(step.get("next"))]
        else:
            routes = simulation(replay, key, step)
        for route in routes:
            following = (*where, atom(route.where)) if route.where is not None else where
            if route.outcome:
                outcomes.setdefault(key, []).append((route.outcome, following, minutes))
            walk(route.to, following, minutes + route.minutes, depth + 1)

    walk(graph["start"], (), 0, 0)
    for kind in sorted(unknown):
        replay.note(
            _("Steps of kind %(kind)s are not simulated: contacts pass through them.")
            % {"kind": kind}
        )

    def arrived(where: Where, minutes: int) -> tuple[str, list[Any]]:
        """SQL: on this route and arrived by now (entered at least `minutes` ago)."""
        terms = [f"{'' if positive else 'NOT '}t.a{index}" for index, positive in where]
        sql = "(" + " AND ".join([*terms, "t.entered_at <= %s"]) + ")"
        return sql, [db_now(now - dt.timedelta(minutes=minutes))]

    def either(parts: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
        return " OR ".join(p for p, _ in parts), [x for _, ps in parts for x in ps]

    # every step's, outcome's and comparable-email count is a condition over the atoms and
    # the entry time, all counted in one statement
    order = graph_order(graph)
    flags: dict[str, tuple[str, list[Any]]] = {}
    for index, key in enumerate(order):
        routes_sql = [arrived(w, m) for w, m in reach.get(key, [])]
        if routes_sql:
            flags[f"s{index}"] = either(routes_sql)
        for outcome, where, minutes in outcomes.get(key, []):
            flags[f"s{index}_{outcome}"] = arrived(where, minutes)
        step = graph["steps"][key]
        if step["kind"] in ("branch", "wait_for") and "on" in step:
            comparable_atom = atom(Q(Exists(_comparable(replay, step["on"]["steps"]))))
            flags[f"c{index}"] = (f"t.a{comparable_atom[0]}", [])
    if graph["goal"] is not None:
        flags["goal"] = (f"t.a{atom(replay.matching(graph['goal']))[0]}", [])

    if events_q is None:
        totals: dict[str, int] = dict.fromkeys(["entered", *flags], 0)
        entry_set = None
    else:
        events = Event.objects.for_workspace(workspace).filter(
            events_q, contact_id__isnull=False, occurred_at__gte=since, occurred_at__lte=now
        )
        entry_set = EntrySet(workspace=workspace, events=events, atoms=atoms)
        selects = ", ".join(
            ["COUNT(*)", *(f"COUNT(*) FILTER (WHERE {sql})" for sql, _p in flags.values())]
        )
        values = entry_set.run(selects, [x for _s, ps in flags.values() for x in ps])[0]
        totals = dict(zip(["entered", *flags], values, strict=True))

    comparable: dict[str, int] = {}
    steps = []
    emails = []
    for index, key in enumerate(order):
        step = graph["steps"][key]
        row: dict[str, Any] = {
            "key": key,
            "kind": step["kind"],
            "path": step["path"],
            "count": totals.get(f"s{index}", 0),
        }
        taken = {o: totals.get(f"s{index}_{o}", 0) for o, _w, _m in outcomes.get(key, [])}
        if taken:
            row["outcomes"] = taken
        if f"c{index}" in totals:
            row["with_comparable_emails"] = totals[f"c{index}"]
            comparable[key] = totals[f"c{index}"]
        if step["kind"] not in SIMULATIONS:
            row["simulated"] = False
        steps.append(row)
        if step["kind"] in ("send_email", "send_survey"):
            emails.append({"step": key, "template": _email_name(step), "count": row["count"]})
    replay.note(_("Each contact enters once, at their first matching event in the window."))
    if graph["goal"] is not None:
        replay.note(_("The goal is read on today's data."))
    return {
        "days": days,
        "from": since,
        "to": now,
        "entered": totals.get("entered", 0),
        "steps": steps,
        "goal_reached": totals.get("goal", 0),
        "emails": emails,
        "sample": _sample(replay, entry_set, order, flags),
        "notes": replay.notes,
    }


def _email_name(step: dict) -> str:
    """The email a send step sends, as the replay lists it: the template, or for a survey
    sent with its own email "survey:<slug>"."""
    return step.get("template") or f"survey:{step['survey']}"


@dataclass
class EntrySet:
    """The entry set as one statement: the first matching event of each entrant in the window
    (one GROUP BY over the events, a CTE), joined to the entrants' atoms (one column each,
    computed once per entrant), and the caller's aggregate or columns over that."""

    workspace: Workspace
    events: Any
    atoms: list[Q]

    def sql(
        self, selects: str, params: list[Any], limit: int | None = None, order: str = ""
    ) -> tuple[str, list]:
        first_sql, first_params = (
            self.events.order_by()
            .values("contact_id")
            .annotate(entered_at=Min("occurred_at"))
            .values("contact_id", "entered_at")
            .query.sql_with_params()
        )
        chosen = "SELECT contact_id FROM replay_entry"
        if limit is not None:
            chosen += f" ORDER BY entered_at, contact_id LIMIT {int(limit)}"
        people = Contact.objects.for_workspace(self.workspace).filter(pk__in=RawSQL(chosen, []))
        people = people.annotate(
            **{
                f"a{index}": ExpressionWrapper(q, output_field=BooleanField())
                for index, q in enumerate(self.atoms)
            }
        ).values("pk", "email", *(f"a{index}" for index in range(len(self.atoms))))
        people_sql, people_params = people.query.sql_with_params()
        return (
            # MATERIALIZED: each atom is computed once per entrant, not once per flag reading it
            f"WITH replay_entry AS ({first_sql}), "
            f"replay_people AS MATERIALIZED (SELECT p.*, e.entered_at FROM ({people_sql}) p "
            "JOIN replay_entry e ON e.contact_id = p.pk) "
            f"SELECT {selects} FROM replay_people t {order}",
            [*first_params, *people_params, *params],
        )

    def run(
        self, selects: str, params: list[Any], limit: int | None = None, order: str = ""
    ) -> list[tuple]:
        sql, all_params = self.sql(selects, params, limit, order)
        with connection.cursor() as cursor:
            cursor.execute(sql, all_params)
            return cursor.fetchall()


def _sample(
    replay: Replay, entry: EntrySet | None, order: list[str], flags: dict[str, tuple[str, list]]
) -> list[dict[str, Any]]:
    """Up to SAMPLE entrants (the first to enter) with the emails each would have received:
    one statement, the send steps' flags over those few contacts only."""
    if entry is None:
        return []
    sends = [
        (index, key)
        for index, key in enumerate(order)
        if replay.graph["steps"][key]["kind"] in ("send_email", "send_survey")
        and f"s{index}" in flags
    ]
    columns = ["t.pk", "t.email", "t.entered_at"]
    params: list[Any] = []
    for index, _key in sends:
        sql, sql_params = flags[f"s{index}"]
        columns.append(f"CASE WHEN {sql} THEN 1 ELSE 0 END")
        params += sql_params
    rows = entry.run(", ".join(columns), params, limit=SAMPLE, order="ORDER BY t.entered_at, t.pk")
    return [
        {
            "contact_id": row[0],
            "email": row[1],
            "entered_at": _as_datetime(row[2]),
            "emails": [
                _email_name(replay.graph["steps"][key])
                for (_index, key), hit in zip(sends, row[3:], strict=True)
                if hit
            ],
        }
        for row in rows
    ]


def _as_datetime(value: Any) -> dt.datetime:
    """A raw MIN(occurred_at): an aware datetime on PostgreSQL, naive UTC text on SQLite."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value
