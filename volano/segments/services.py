"""Writes for segments, personas and static lists.

Membership is materialised and refreshed as a set-based diff, a handful of statements whatever
the segment's size:

1. UPDATE the current memberships whose contact no longer matches: left_at = now (NOT EXISTS);
2. INSERT … SELECT a membership for each matching contact that is not a current member;
3. INSERT … SELECT one `segment_left` / `segment_entered` event per changed membership, found
   by its exact timestamp, onto the contacts' timelines (so automation can start from them).

An incremental refresh (`segments_refresh_contacts`) runs the same statements restricted to some
contacts, and only for the segments whose definition reads what changed.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DataError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from volano.conditions.compiler import condition_q
from volano.conditions.facts import EventFacts, event_facts
from volano.conditions.failures import refused_reason
from volano.conditions.types import Condition, ConditionError
from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.db import db_now
from volano.core.errors import ApplicationError, NotFound
from volano.core.facts import (
    ListMembershipChanged,
    ReferenceDeleting,
    SegmentEnteredInBulk,
    SegmentMembershipChanged,
)
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.core.sqlcache import statement_cached_at
from volano.core.tenancy import ensure_in_workspace
from volano.events.models import Event, EventType
from volano.events.services import system_events_insert_select
from volano.segments.models import (
    ContactList,
    ListMembership,
    Segment,
    SegmentKind,
    SegmentMembership,
    SegmentSize,
)
from volano.segments.resolver import (
    Dependencies,
    SegmentResolver,
    condition_dependencies,
    segment_condition_parse,
)

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_IDS_PER_STATEMENT = 5000
# From this many contacts entering in one full refresh, their timeline events are written after
# commit (SegmentEnteredInBulk → segment_entries_record), not in the refresh's transaction.
ENTRIES_RECORDED_AFTER_COMMIT_FROM = 20_000


@dataclass(frozen=True)
class RefreshResult:
    entered: int
    left: int
    size: int


# /api/v1/segments/preview is a route of its own: a segment of that slug could not be read.
RESERVED_SLUGS = {"preview"}


def _slug_check(slug: str) -> str:
    slug = (slug or "").strip()
    if not SLUG_RE.match(slug):
        raise ApplicationError(
            _("a slug is 1-80 lowercase letters, digits or hyphens (e.g. fiera-2025)"),
            field="slug",
        )
    return slug


# -- segments -------------------------------------------------------------------------------


def segment_compile(
    *,
    workspace: Workspace,
    slug: str,
    definition: Any,
    now: dt.datetime | None = None,
    facts: EventFacts | None = None,
) -> Q:
    """The Q over Contact for a segment's definition; raises ConditionError (cycles included).

    `facts`: event aggregates a refresh of many segments computed once (conditions/facts.py).
    """
    resolver = SegmentResolver(workspace, overrides={slug: definition})
    condition = resolver.parsed(slug, None)
    return condition_q(
        workspace=workspace,
        condition=condition,
        now=now,
        resolver=resolver,
        chain=(slug,),
        facts=facts,
    )


def segment_save(
    *,
    workspace: Workspace,
    actor: User | None,
    slug: str,
    name: str,
    definition: Any,
    description: str = "",
    kind: str = SegmentKind.SEGMENT,
    goals: str = "",
    pains: str = "",
    channels: str = "",
    job_titles: str = "",
) -> Segment:
    """Create or replace the segment `slug`, then refresh its membership (and its dependents').

    The definition is validated first (cycles included); nothing is saved when it is invalid.
    """
    slug = _slug_check(slug)
    if slug in RESERVED_SLUGS:
        raise ApplicationError(
            _("“%(slug)s” is a route of the API (/segments/%(slug)s): choose another slug")
            % {"slug": slug},
            field="slug",
        )
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("a segment needs a name"), field="name")
    if kind not in SegmentKind.values:
        raise ApplicationError(
            _("kind is one of: %(kinds)s") % {"kinds": ", ".join(SegmentKind.values)},
            field="kind",
        )
    segment_compile(workspace=workspace, slug=slug, definition=definition)
    now = timezone.now()
    with transaction.atomic():
        segment = Segment.objects.for_workspace(workspace).filter(slug=slug).first()
        if segment is None:
            segment = Segment(workspace=workspace, slug=slug, created_by=actor, created_at=now)
        segment.name = name
        segment.description = description or ""
        segment.kind = kind
        segment.definition = definition
        segment.goals, segment.pains = goals or "", pains or ""
        segment.channels, segment.job_titles = channels or "", job_titles or ""
        segment.updated_at = now
        segment.disabled_reason, segment.disabled_at = "", None
        segment.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="segment.save",
            obj=segment,
            changes={"slug": slug, "name": name},
        )
        segment_refresh(workspace=workspace, segment=segment)
        for dependent in _dependents(workspace=workspace, slug=slug):
            _refresh_guarded(workspace, dependent)
    return segment


def segment_delete(*, workspace: Workspace, actor: User | None, segment: Segment) -> None:
    if segment.workspace_id != workspace.pk:
        raise NotFound("no such segment")
    users = [
        s.slug
        for s in Segment.objects.for_workspace(workspace).exclude(pk=segment.pk)
        if segment.slug in _dependencies_readable(workspace, s).segments
    ]
    if users:
        raise ApplicationError(
            _("segment '%(slug)s' is used by: %(users)s")
            % {"slug": segment.slug, "users": ", ".join(sorted(users))},
            field="slug",
        )
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="segment.delete",
            obj=segment,
            changes={"slug": [segment.slug, None]},
        )
        segment.delete()


def segment_refresh(
    *,
    workspace: Workspace,
    segment: Segment,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    known_moved: bool = False,
    facts: EventFacts | None = None,
) -> RefreshResult:
    """Bring the segment's materialised membership up to date (only `contact_ids`, if given).

    `known_moved` says the caller already checked that some of `contact_ids` move (see
    segments_refresh_contacts, which checks many segments in one query). `facts`: see
    segments_refresh_all.

    The condition is evaluated once and diffed against the current memberships (`_diff`; on
    PostgreSQL a full refresh uses one FULL JOIN, `_full_diff_postgresql`). A full refresh records a
    SegmentSize row; an incremental one adjusts the cached size and first checks, in one
    query, whether anything moved at all.
    """
    if segment.workspace_id != workspace.pk:
        raise NotFound("no such segment")
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids is not None and not ids:
        return RefreshResult(0, 0, segment.size)
    now = now or timezone.now()
    if ids is None:
        q = segment_compile(
            workspace=workspace,
            slug=segment.slug,
            definition=segment.definition,
            now=now,
            facts=facts,
        )
    else:
        if not known_moved and not _moved_among(workspace, [segment], ids, now):
            return RefreshResult(0, 0, segment.size)
    at = db_now(now)
    entered_ids: list[int] | None = None  # known when the diff returned them
    left_ids: list[int] | None = None
    with transaction.atomic():
        # One refresh of a segment at a time (PostgreSQL row lock; SQLite serialises writers).
        Segment.objects.for_workspace(workspace).select_for_update().filter(pk=segment.pk).first()
        with connection.cursor() as cursor:
            if ids is None:
                picked = _picked(Contact.objects.for_workspace(workspace).filter(q))
                if connection.vendor == "postgresql":
                    entered, left = _full_diff_postgresql(cursor, segment, picked, at)
                else:
                    entered, left = _diff(cursor, segment, picked, at, ids)
            elif connection.vendor == "postgresql":
                picked = _picked_few(workspace, segment, ids, now)
                entered_ids, left_ids = _few_diff_postgresql(cursor, segment, picked, at, ids)
                entered, left = len(entered_ids), len(left_ids)
            else:
                entered, left = _diff(
                    cursor, segment, _picked_few(workspace, segment, ids, now), at, ids
                )
        if left:
            _events_insert(workspace, segment, EventType.SEGMENT_LEFT, "left_at", now)
        if entered >= ENTRIES_RECORDED_AFTER_COMMIT_FROM and ids is None:
            # the segment is usable now; its members' `segment_entered` events, dated `now`,
            # are written after commit (segment_entries_record): 900k of them cost more than
            # the memberships themselves
            announce(SegmentEnteredInBulk(workspace.pk, segment.pk, now.isoformat()))
        elif entered:
            _events_insert(workspace, segment, EventType.SEGMENT_ENTERED, "entered_at", now)
        if (entered or left) and entered_ids is not None:
            announce(  # who entered and left is known: the diff returned them
                SegmentMembershipChanged(
                    workspace_id=workspace.pk,
                    segment=segment.slug,
                    entered_ids=frozenset(entered_ids),
                    left_ids=frozenset(left_ids or ()),
                )
            )
        elif entered or left:
            _membership_announce(workspace, segment, now, entered=bool(entered), left=bool(left))
        fields: dict[str, Any] = {}
        if ids is None:
            size = (
                SegmentMembership.objects.for_workspace(workspace)
                .filter(segment=segment, left_at__isnull=True)
                .count()
            )
            fields = {"size": size, "refreshed_at": now}
            SegmentSize.objects.create(workspace=workspace, segment=segment, at=now, size=size)
        elif entered or left:
            fields = {"size": F("size") + entered - left}
        if fields:
            Segment.objects.for_workspace(workspace).filter(pk=segment.pk).update(**fields)
        if ids is None:
            segment.size, segment.refreshed_at = fields["size"], now
        else:
            segment.size = segment.size + entered - left
    return RefreshResult(entered=entered, left=left, size=segment.size)


def segment_entries_record(*, workspace: Workspace, segment_id: int, entered_at: str) -> int:
    """Write the `segment_entered` events of the contacts who entered `segment_id` at
    `entered_at` in one bulk refresh (SegmentEnteredInBulk), dated that moment, once: a second
    run finds them written. Those who left since did enter then, so they are included.
    Returns the number of events written."""
    segment = Segment.objects.for_workspace(workspace).filter(pk=segment_id).first()
    if segment is None:  # deleted since: its memberships went with it
        return 0
    at = dt.datetime.fromisoformat(entered_at)
    with transaction.atomic():
        # one writer at a time per segment (the refresh takes the same lock)
        Segment.objects.for_workspace(workspace).select_for_update().filter(pk=segment.pk).first()
        written = (
            Event.objects.for_workspace(workspace)
            .filter(type=EventType.SEGMENT_ENTERED, occurred_at=at, contact_id__isnull=False)
            .filter(properties__segment=segment.slug)
        )
        if written.exists():
            return 0
        membership = SegmentMembership._meta.db_table
        return system_events_insert_select(
            workspace=workspace,
            type=EventType.SEGMENT_ENTERED,
            at=at,
            select_sql=(
                f"SELECT m.contact_id FROM {membership} m "
                "WHERE m.segment_id = %s AND m.entered_at = %s"
            ),
            params=[segment.pk, db_now(at)],
            properties={"segment": segment.slug, "name": segment.name, "kind": segment.kind},
        )


def _membership_announce(
    workspace: Workspace, segment: Segment, now: dt.datetime, *, entered: bool, left: bool
) -> None:
    """Say who entered and who left in this refresh (their stays are stamped exactly `now`):
    workflows start on it."""
    stays = SegmentMembership.objects.for_workspace(workspace).filter(segment=segment)
    announce(
        SegmentMembershipChanged(
            workspace_id=workspace.pk,
            segment=segment.slug,
            entered_ids=set(
                stays.filter(entered_at=now, left_at__isnull=True).values_list(
                    "contact_id", flat=True
                )
            )
            if entered
            else frozenset(),
            left_ids=set(stays.filter(left_at=now).values_list("contact_id", flat=True))
            if left
            else frozenset(),
        )
    )


MATCH_TABLE = "volano_segment_match"
DIFF_TABLE = "volano_segment_diff"


def _diff(
    cursor: Any, segment: Segment, picked: tuple[str, Any], at: Any, ids: list[int] | None
) -> tuple[int, int]:
    """Close the stays of contacts that no longer match, open stays for those that now do
    (only `ids`, if given); (entered, left). The condition is evaluated once, into a temporary
    table of matching ids; the diff is then two indexed statements."""
    memberships = SegmentMembership._meta.db_table
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {MATCH_TABLE} (id bigint PRIMARY KEY)")
    cursor.execute(f"DELETE FROM {MATCH_TABLE}")
    sql, params = picked
    cursor.execute(f"INSERT INTO {MATCH_TABLE} (id) SELECT sub.picked_id FROM ({sql}) sub", params)
    if connection.vendor == "postgresql" and (ids is None or len(ids) > FEW):
        # (a few contacts' diff is probed by their ids: no plan to choose)
        cursor.execute(f"ANALYZE {MATCH_TABLE}")
    only = ""
    if ids is not None:
        only = f" AND m.contact_id IN ({', '.join(['%s'] * len(ids))})"
    cursor.execute(
        f"UPDATE {memberships} SET left_at = %s WHERE id IN ("
        f"SELECT m.id FROM {memberships} m WHERE m.segment_id = %s "
        f"AND m.left_at IS NULL{only} AND NOT EXISTS "
        f"(SELECT 1 FROM {MATCH_TABLE} s WHERE s.id = m.contact_id))",
        [at, segment.pk, *(ids or ())],
    )
    left = max(cursor.rowcount, 0)
    cursor.execute(
        f"INSERT INTO {memberships} (workspace_id, segment_id, contact_id, entered_at, "
        f"left_at) SELECT %s, %s, s.id, %s, NULL FROM {MATCH_TABLE} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM {memberships} m WHERE m.segment_id = %s AND m.left_at IS NULL "
        f"AND m.contact_id = s.id)",
        [segment.workspace_id, segment.pk, at, segment.pk],
    )
    return max(cursor.rowcount, 0), left


def _few_diff_postgresql(
    cursor: Any, segment: Segment, picked: tuple[str, Any], at: Any, ids: list[int]
) -> tuple[list[int], list[int]]:
    """An incremental refresh (given contacts) on PostgreSQL: the stays that close and those
    that open in one statement (data-modifying CTEs), which returns who entered and who left.
    Under load each statement costs a scheduling slice; the general diff takes five."""
    memberships = SegmentMembership._meta.db_table
    sql, params = picked
    listed = ", ".join(["%s"] * len(ids))
    cursor.execute(
        f"WITH picked AS MATERIALIZED (SELECT sub.picked_id FROM ({sql}) sub), "
        f"gone AS (UPDATE {memberships} SET left_at = %s WHERE segment_id = %s "
        f"AND left_at IS NULL AND contact_id IN ({listed}) "
        "AND contact_id NOT IN (SELECT picked_id FROM picked) RETURNING contact_id), "
        f"came AS (INSERT INTO {memberships} (workspace_id, segment_id, contact_id, entered_at, "
        "left_at) SELECT %s, %s, p.picked_id, %s, NULL FROM picked p WHERE NOT EXISTS "
        f"(SELECT 1 FROM {memberships} o WHERE o.segment_id = %s AND o.left_at IS NULL "
        "AND o.contact_id = p.picked_id) RETURNING contact_id) "
        "SELECT TRUE, contact_id FROM came UNION ALL SELECT FALSE, contact_id FROM gone",
        [*params, at, segment.pk, *ids, segment.workspace_id, segment.pk, at, segment.pk],
    )
    entered: list[int] = []
    left: list[int] = []
    for came, contact_id in cursor.fetchall():
        (entered if came else left).append(contact_id)
    return entered, left


def _full_diff_postgresql(
    cursor: Any, segment: Segment, picked: tuple[str, Any], at: Any
) -> tuple[int, int]:
    """A full refresh on PostgreSQL: one FULL JOIN of the current members with the condition
    (which may run in parallel, with the memory to hash in RAM) finds who enters and who
    leaves; usually few rows, written next. Two anti-joins over a temporary table of all
    matches cost 3 s for a segment of 685k contacts at 1M, this ~1.5 s."""
    memberships = SegmentMembership._meta.db_table
    sql, params = picked
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute(f"DROP TABLE IF EXISTS {DIFF_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {DIFF_TABLE} AS SELECT m.id AS leaving, s.picked_id AS entering "
        f"FROM (SELECT id, contact_id FROM {memberships} WHERE segment_id = %s "
        f"AND left_at IS NULL) m FULL JOIN ({sql}) s ON s.picked_id = m.contact_id "
        f"WHERE m.id IS NULL OR s.picked_id IS NULL",
        [segment.pk, *params],
    )
    cursor.execute(
        f"UPDATE {memberships} SET left_at = %s WHERE id IN "
        f"(SELECT leaving FROM {DIFF_TABLE} WHERE leaving IS NOT NULL)",
        [at],
    )
    left = max(cursor.rowcount, 0)
    cursor.execute(
        f"INSERT INTO {memberships} (workspace_id, segment_id, contact_id, entered_at, left_at) "
        f"SELECT %s, %s, entering, %s, NULL FROM {DIFF_TABLE} WHERE entering IS NOT NULL",
        [segment.workspace_id, segment.pk, at],
    )
    return max(cursor.rowcount, 0), left


def _picked(matching: Any) -> tuple[str, Any]:
    return matching.annotate(picked_id=F("pk")).values("picked_id").query.sql_with_params()


def _picked_few(
    workspace: Workspace, segment: Segment, ids: list[int], now: dt.datetime
) -> tuple[str, list]:
    """The ids among `ids` that match the segment (SELECT … picked_id). For a few contacts
    (an event's) the statement is compiled once per segment version and kept across moments
    (core/sqlcache.py): compiling it through the ORM costs more than running it."""

    def build(slots: list[int], at: dt.datetime) -> tuple[str, Any]:
        q = _restrict(_incremental_q(workspace, segment, at), slots) & Q(pk__in=slots)
        return _picked(Contact.objects.for_workspace(workspace).filter(q))

    if len(ids) > FEW:
        return build(ids, now)
    statement = statement_cached_at(
        ("segment-picked", workspace.pk, segment.pk, segment.updated_at),
        len(ids),
        now,
        build,
        time_zone=workspace.time_zone,
    )
    return statement.sql, statement.bind(ids, now)


def _incremental_q(workspace: Workspace, segment: Segment, now: dt.datetime) -> Q:
    return condition_q(
        workspace=workspace,
        condition=_condition(workspace, segment),
        now=now,
        resolver=SegmentResolver(workspace),
        chain=(segment.slug,),
    )


def _restrict(q: Q, ids: list[int]) -> Q:
    """The same Q, with every `pk IN (subquery)` limited to `ids` inside the subquery too, so an
    incremental refresh aggregates only those contacts' events (the planner cannot push the
    outer `pk IN ids` into a GROUP BY … HAVING subquery)."""
    from django.db.models import QuerySet

    children: list[Any] = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_restrict(child, ids))
        elif isinstance(child, tuple) and child[0] == "pk__in" and isinstance(child[1], QuerySet):
            subquery = child[1]
            names = {f.name for f in subquery.model._meta.get_fields()}
            if subquery.model is Contact:
                subquery = subquery.filter(pk__in=ids)
            elif "contact" in names:
                subquery = subquery.filter(contact_id__in=ids)
            children.append((child[0], subquery))
        else:
            children.append(child)
    restricted = Q()
    restricted.children = children
    restricted.connector = q.connector
    restricted.negated = q.negated
    return restricted


FEW = 50  # up to this many contacts (an event's), the check of many segments is compiled once


def _moved_among(
    workspace: Workspace, segments: list[Segment], ids: list[int], now: dt.datetime
) -> set[int]:
    """Which of `segments` would a refresh of `ids` move? For a few contacts the statement is
    compiled once per set of segment versions, kept across moments and bound to the ids and
    `now` (core/sqlcache.py): building it through the ORM costs far more than running it."""

    def conditions(at: dt.datetime, slots: list[int]) -> dict[int, Q]:
        return {
            segment.pk: _restrict(_incremental_q(workspace, segment, at), slots) & Q(pk__in=slots)
            for segment in segments
        }

    if len(ids) > FEW:
        return _moved_segments(workspace, conditions(now, ids), ids)
    key = ("segments-moved", workspace.pk, tuple((s.pk, s.updated_at) for s in segments))
    statement = statement_cached_at(
        key,
        len(ids),
        now,
        lambda slots, at: _moved_query(
            workspace, conditions(at, slots), slots
        ).query.sql_with_params(),
        time_zone=workspace.time_zone,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.bind(ids, now))
        return _moved_from_rows(cursor.fetchall(), [s.pk for s in segments])


def _moved_segments(workspace: Workspace, conditions: dict[int, Q], ids: list[int]) -> set[int]:
    """One query for many segments: which of them have a contact among `ids` that matches but
    is not a member, or is a member but no longer matches? `conditions` maps segment id → Q."""
    return _moved_from_rows(_moved_query(workspace, conditions, ids), list(conditions))


def _moved_from_rows(rows: Any, segment_ids: list[int]) -> set[int]:
    moved = set()
    for row in rows:
        for n, segment_id in enumerate(segment_ids):
            if bool(row[2 * n]) != bool(row[2 * n + 1]):
                moved.add(segment_id)
    return moved


def _moved_query(workspace: Workspace, conditions: dict[int, Q], ids: list[int]) -> Any:
    """Per contact of `ids`, for each segment: (matches, is a member)."""
    from django.db.models import BooleanField, ExpressionWrapper

    annotations: dict[str, Any] = {}
    for n, (segment_id, q) in enumerate(conditions.items()):
        current = SegmentMembership.objects.for_workspace(workspace).filter(
            segment_id=segment_id, left_at__isnull=True, contact_id=OuterRef("pk")
        )
        annotations[f"matches_{n}"] = ExpressionWrapper(q, output_field=BooleanField())
        annotations[f"member_{n}"] = Exists(current)
    return (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=ids)
        .annotate(**annotations)
        .values_list(*annotations)
    )


def _events_insert(
    workspace: Workspace, segment: Segment, event_type: str, stamp: str, now: dt.datetime
) -> None:
    """INSERT … SELECT one timeline event per membership stamped exactly `now`."""
    membership = SegmentMembership._meta.db_table
    where = f"m.segment_id = %s AND m.{stamp} = %s"
    if stamp == "entered_at":
        where += " AND m.left_at IS NULL"
    system_events_insert_select(
        workspace=workspace,
        type=event_type,
        at=now,
        select_sql=f"SELECT m.contact_id FROM {membership} m WHERE {where}",
        params=[segment.pk, db_now(now)],
        properties={"segment": segment.slug, "name": segment.name, "kind": segment.kind},
    )


# -- many segments ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _parsed_cached(workspace_id: int, segment_id: int, updated_at: Any, definition: str) -> Any:
    import json

    workspace = Workspace.objects.get(pk=workspace_id)
    return segment_condition_parse(json.loads(definition), workspace=workspace)


def _condition(workspace: Workspace, segment: Segment) -> Condition:
    import json

    return _parsed_cached(
        workspace.pk,
        segment.pk,
        segment.updated_at,
        json.dumps(segment.definition, sort_keys=True),
    )


def _dependencies(workspace: Workspace, segment: Segment) -> Dependencies:
    return condition_dependencies(_condition(workspace, segment))


def _dependencies_readable(workspace: Workspace, segment: Segment) -> Dependencies:
    """What a segment reads, or nothing when its stored definition no longer parses (it cannot
    run, so it does not hold another segment or a list in place)."""
    try:
        return _dependencies(workspace, segment)
    except ConditionError:
        return Dependencies()


def _ordered(workspace: Workspace) -> list[Segment]:
    """The workspace's segments that can run, each after the segments it refers to.

    A segment switched off is left out; one whose stored definition no longer parses is
    switched off here, with its reason (`_segment_disable`), so it cannot stop the others."""
    segments = {}
    runnable = Segment.objects.for_workspace(workspace).filter(disabled_at__isnull=True)
    for segment in runnable.order_by("pk"):
        try:
            with translation.override(workspace.language):
                _condition(workspace, segment)
        except ConditionError as error:
            _segment_disable(workspace, segment, error)
            continue
        segments[segment.slug] = segment
    ordered: list[Segment] = []
    seen: set[str] = set()

    def visit(slug: str, path: tuple[str, ...]) -> None:
        if slug in seen or slug not in segments:
            return
        if slug in path:
            raise ConditionError(
                _("segments form a cycle: %(cycle)s") % {"cycle": " → ".join((*path, slug))}
            )
        for ref in sorted(_dependencies(workspace, segments[slug]).segments):
            visit(ref, (*path, slug))
        seen.add(slug)
        ordered.append(segments[slug])

    for slug in segments:
        visit(slug, ())
    return ordered


def _segment_disable(workspace: Workspace, segment: Segment, error: Exception) -> None:
    """Switch off a segment whose definition cannot run any more, saying why in the
    workspace's language (the marketer reads it on the segment's page and in the API)."""
    with translation.override(workspace.language):
        detail = refused_reason(error)
    now = timezone.now()
    logger.warning("segment %s of workspace %s switched off: %s", segment.pk, workspace.pk, detail)
    Segment.objects.for_workspace(workspace).filter(pk=segment.pk).update(
        disabled_reason=detail[:500], disabled_at=now
    )
    segment.disabled_reason, segment.disabled_at = detail[:500], now


def _refresh_guarded(
    workspace: Workspace, segment: Segment, **arguments: Any
) -> RefreshResult | None:
    """`segment_refresh` in a savepoint: a segment that cannot compile or that the database
    refuses is switched off (None), and the transaction the others run in goes on."""
    try:
        with transaction.atomic(), translation.override(workspace.language):
            return segment_refresh(workspace=workspace, segment=segment, **arguments)
    except (ConditionError, DataError) as error:
        _segment_disable(workspace, segment, error)
        return None


def _dependents(*, workspace: Workspace, slug: str) -> list[Segment]:
    """Segments that refer to `slug`, directly or through others, in refresh order."""
    affected = {slug}
    result = []
    for segment in _ordered(workspace):
        if segment.slug != slug and _dependencies(workspace, segment).segments & affected:
            affected.add(segment.slug)
            result.append(segment)
    return result


def segments_refresh_all(
    *, workspace: Workspace, now: dt.datetime | None = None
) -> dict[str, RefreshResult]:
    """Full refresh of every segment and persona (sliding windows move contacts in and out).

    Conditions on the same event type are aggregated in one pass over those events first
    (conditions/facts.py): fifty segments read the page views once, not fifty times. Events
    stored while the refresh ran are not in those aggregates, so their contacts are refreshed
    incrementally at the end. Each segment refreshes on its own: one that cannot run is
    switched off with its reason, and the others are refreshed (not in the result).
    """
    now = now or timezone.now()
    ordered = _ordered(workspace)
    events = Event.objects.for_workspace(workspace)
    last_event = events.order_by("-pk").values_list("pk", flat=True).first() or 0
    with event_facts(
        workspace=workspace,
        conditions=[_condition(workspace, segment) for segment in ordered],
        now=now,
    ) as facts:
        results = {}
        for segment in ordered:
            result = _refresh_guarded(workspace, segment, now=now, facts=facts)
            if result is not None:
                results[segment.slug] = result
    late = (
        events.filter(pk__gt=last_event, contact_id__isnull=False)
        .exclude(type__in=(EventType.SEGMENT_ENTERED, EventType.SEGMENT_LEFT))
        .values_list("contact_id", "type")
        .distinct()
    )
    if late_rows := list(late):
        segments_refresh_contacts(
            workspace=workspace,
            contact_ids={contact_id for contact_id, _type in late_rows},
            changed={f"event:{event_type}" for _id, event_type in late_rows},
            now=timezone.now(),
        )
    return results


def segments_refresh_contacts(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int],
    changed: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, RefreshResult]:
    """Re-evaluate `contact_ids` in the segments that read what `changed` names.

    `changed` holds tokens: "event:page_view", "field:province", "field:company" (any company
    field), "field:custom", "consent:email_marketing" (same as "field:consent.email_marketing"),
    "list:fiera-2025", or "*" / None for every segment. Segments that refer to a segment whose
    membership moved are re-evaluated too, after it.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    tokens = {"*"} if changed is None else _tokens(changed)
    now = now or timezone.now()
    moved: set[str] = set()
    results: dict[str, RefreshResult] = {}
    ordered = _ordered(workspace)
    # Segments that refer to no other segment are checked together, one query per chunk of ids;
    # only those that moved are refreshed. The others follow in order, after what they read.
    independent = [
        segment
        for segment in ordered
        if not _dependencies(workspace, segment).segments
        and _dependencies(workspace, segment).touched_by(tokens)
    ]
    moved_ids: dict[int, set[int]] = {}
    try:
        with transaction.atomic():
            for start in range(0, len(ids), MAX_IDS_PER_STATEMENT):
                part_ids = ids[start : start + MAX_IDS_PER_STATEMENT]
                for segment_id in (
                    _moved_among(workspace, independent, part_ids, now) if independent else ()
                ):
                    moved_ids.setdefault(segment_id, set()).update(part_ids)
        checked = {segment.pk for segment in independent}
    except (ConditionError, DataError):
        # One of them cannot run: each is then checked on its own below, where the one
        # that fails is switched off and the others are refreshed.
        moved_ids, checked = {}, set()
    # The segments that move are written in one transaction (a savepoint each, so one that
    # fails is switched off alone): one commit and one dispatch of their facts per event, where
    # a transaction per segment cost a commit and a queued task each (docs/benchmarks.md).
    with transaction.atomic():
        for segment in ordered:
            deps = _dependencies(workspace, segment)
            if not (deps.touched_by(tokens) or deps.segments & moved):
                continue
            if segment.pk in checked and segment.pk not in moved_ids:
                results[segment.slug] = RefreshResult(0, 0, segment.size)
                continue
            result = _refresh_contacts_guarded(
                workspace, segment, ids, now=now, known_moved=segment.pk in checked
            )
            if result is None:
                continue
            results[segment.slug] = result
            if result.entered or result.left:
                moved.add(segment.slug)
    return results


def _refresh_contacts_guarded(
    workspace: Workspace, segment: Segment, ids: list[int], *, now: dt.datetime, known_moved: bool
) -> RefreshResult | None:
    """An incremental refresh of one segment, chunk by chunk, in one savepoint (see
    `_refresh_guarded`): None when the segment could not run and was switched off."""
    result = RefreshResult(0, 0, segment.size)
    try:
        with transaction.atomic(), translation.override(workspace.language):
            for start in range(0, len(ids), MAX_IDS_PER_STATEMENT):
                part = segment_refresh(
                    workspace=workspace,
                    segment=segment,
                    contact_ids=ids[start : start + MAX_IDS_PER_STATEMENT],
                    now=now,
                    known_moved=known_moved,
                )
                result = RefreshResult(
                    result.entered + part.entered, result.left + part.left, part.size
                )
    except (ConditionError, DataError) as error:
        _segment_disable(workspace, segment, error)
        return None
    return result


def _tokens(changed: Iterable[str]) -> set[str]:
    tokens = set()
    for token in changed:
        kind, _, name = token.partition(":")
        tokens.add(f"field:consent.{name}" if kind == "consent" else token)
    return tokens


def segments_refresh_reading(
    *, workspace: Workspace, changed: Iterable[str], now: dt.datetime | None = None
) -> dict[str, RefreshResult]:
    """Full refresh of the segments that read what `changed` names (tokens as in
    `segments_refresh_contacts`), and of those that refer to one whose membership moved, in
    order: for a change whose contacts are not known (a whole query added to a list)."""
    tokens = _tokens(changed)
    now = now or timezone.now()
    moved: set[str] = set()
    results: dict[str, RefreshResult] = {}
    for segment in _ordered(workspace):
        deps = _dependencies(workspace, segment)
        if not (deps.touched_by(tokens) or deps.segments & moved):
            continue
        result = _refresh_guarded(workspace, segment, now=now)
        if result is None:
            continue
        results[segment.slug] = result
        if result.entered or result.left:
            moved.add(segment.slug)
    return results


# -- static lists -----------------------------------------------------------------------------


def list_create(
    *, workspace: Workspace, actor: User | None, slug: str, name: str, description: str = ""
) -> ContactList:
    slug = _slug_check(slug)
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("a list needs a name"), field="name")
    if ContactList.objects.for_workspace(workspace).filter(slug=slug).exists():
        raise ApplicationError(_("a list '%(slug)s' already exists") % {"slug": slug}, field="slug")
    with transaction.atomic():
        contact_list = ContactList.objects.create(
            workspace=workspace, slug=slug, name=name, description=description or ""
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="list.create",
            obj=contact_list,
            changes={"slug": slug, "name": name},
        )
    return contact_list


def list_update(
    *, workspace: Workspace, actor: User | None, contact_list: ContactList, data: dict
) -> ContactList:
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            raise ApplicationError(_("a list needs a name"), field="name")
        contact_list.name = name
    if "description" in data:
        contact_list.description = data["description"] or ""
    with transaction.atomic():
        contact_list.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="list.update",
            obj=contact_list,
            changes={k: data[k] for k in ("name", "description") if k in data},
        )
    return contact_list


def list_delete(*, workspace: Workspace, actor: User | None, contact_list: ContactList) -> None:
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    users = [
        s.slug
        for s in Segment.objects.for_workspace(workspace)
        if contact_list.slug in _dependencies_readable(workspace, s).lists
    ]
    if users:
        raise ApplicationError(
            _("list '%(slug)s' is used by: %(users)s")
            % {"slug": contact_list.slug, "users": ", ".join(sorted(users))},
            field="slug",
        )
    with transaction.atomic():
        # a domain that uses the list (a published workflow) refuses here, with its reason
        announce(ReferenceDeleting(workspace_id=workspace.pk, kind="list", slug=contact_list.slug))
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="list.delete",
            obj=contact_list,
            changes={"slug": [contact_list.slug, None]},
        )
        contact_list.delete()


def list_add(
    *,
    workspace: Workspace,
    contact_list: ContactList,
    contact_ids: Iterable[int],
    source: str = "manual",
    actor: User | None = None,
) -> int:
    """Add the workspace's contacts among `contact_ids`; returns how many were new."""
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    wanted = sorted({int(i) for i in contact_ids})
    with transaction.atomic():
        new = _list_add(workspace, contact_list, wanted, source)
        if new:
            announce(
                ListMembershipChanged(
                    workspace_id=workspace.pk, list_slug=contact_list.slug, contact_ids=new
                )
            )
        _list_activity(workspace, actor, "list.add", contact_list, len(new))
    return len(new)


def _list_activity(
    workspace: Workspace, actor: User | None, verb: str, contact_list: ContactList, count: int
) -> None:
    if count:
        activity_record(
            workspace=workspace,
            actor=actor,
            verb=verb,
            obj=contact_list,
            changes={"list": contact_list.slug, "contacts": count},
        )


def _list_add(
    workspace: Workspace, contact_list: ContactList, wanted: list[int], source: str
) -> set[int]:
    """Insert the memberships that are new; returns their contacts' ids."""
    added: set[int] = set()
    now = timezone.now()
    for start in range(0, len(wanted), MAX_IDS_PER_STATEMENT):
        part = wanted[start : start + MAX_IDS_PER_STATEMENT]
        new = list(
            Contact.objects.for_workspace(workspace)
            .filter(pk__in=part)
            .exclude(Exists(contact_list.memberships.filter(contact_id=OuterRef("pk"))))
            .values_list("pk", flat=True)
        )
        ListMembership.objects.bulk_create(
            [
                ListMembership(
                    workspace=workspace,
                    list=contact_list,
                    contact_id=cid,
                    added_at=now,
                    source=source[:100],
                )
                for cid in new
            ],
            ignore_conflicts=True,
        )
        added.update(new)
    return added


def list_remove(
    *,
    workspace: Workspace,
    contact_list: ContactList,
    contact_ids: Iterable[int],
    actor: User | None = None,
) -> int:
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    wanted = sorted({int(i) for i in contact_ids})
    removed = 0
    left: set[int] = set()
    with transaction.atomic():
        for start in range(0, len(wanted), MAX_IDS_PER_STATEMENT):
            part = wanted[start : start + MAX_IDS_PER_STATEMENT]
            deleted = (
                ListMembership.objects.for_workspace(workspace)
                .filter(list=contact_list, contact_id__in=part)
                .delete()[0]
            )
            if deleted:
                removed += deleted
                left.update(part)
        if left:
            announce(
                ListMembershipChanged(
                    workspace_id=workspace.pk, list_slug=contact_list.slug, contact_ids=left
                )
            )
        _list_activity(workspace, actor, "list.remove", contact_list, removed)
    return removed


def contact_ids_by_email(
    *, workspace: Workspace, emails: Iterable[str]
) -> tuple[list[int], list[str]]:
    """Emails (any case, spaces) → (the workspace's contact ids, the emails no contact has)."""
    normal = sorted({e.strip().lower() for e in emails if e and e.strip()})
    found: dict[str, int] = {}
    for start in range(0, len(normal), MAX_IDS_PER_STATEMENT):
        found.update(
            Contact.objects.for_workspace(workspace)
            .filter(email__in=normal[start : start + MAX_IDS_PER_STATEMENT])
            .values_list("email", "pk")
        )
    return sorted(found.values()), [e for e in normal if e not in found]


def list_add_contacts(
    *,
    workspace: Workspace,
    contact_list: ContactList,
    contacts: Any,
    source: str = "manual",
    actor: User | None = None,
) -> int:
    """Add every contact of a QuerySet (of this workspace) in one INSERT … SELECT.

    The members already there are skipped by the unique key (list, contact): `ON CONFLICT DO
    NOTHING`, not a `NOT EXISTS` on the memberships. A list that grew since the last `ANALYZE`
    (a workflow adding 10,000 contacts per pass) has statistics saying it is empty, and
    PostgreSQL then planned the anti-join as a nested loop over every member for every
    contact: 10,000 × 80,000 comparisons, 10 s and more for one step (session wf15)."""
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    picked = (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=contacts.values("pk"))
        .annotate(picked_id=F("pk"))
        .values("picked_id")
    )
    sql, params = picked.query.sql_with_params()
    table = ListMembership._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # `WHERE 1 = 1`: SQLite's parser needs a WHERE before an INSERT … SELECT's ON CONFLICT
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, list_id, contact_id, added_at, source) "
            f"SELECT %s, %s, sub.picked_id, %s, %s FROM ({sql}) sub WHERE 1 = 1 "
            "ON CONFLICT DO NOTHING",
            [workspace.pk, contact_list.pk, db_now(timezone.now()), source[:100], *params],
        )
        added = max(cursor.rowcount, 0)
        if added:
            # which contacts is not read back: the segments reading the list refresh in full
            announce(
                ListMembershipChanged(
                    workspace_id=workspace.pk, list_slug=contact_list.slug, contact_ids=None
                )
            )
        _list_activity(workspace, actor, "list.add", contact_list, added)
    return added


def list_add_emails(
    *,
    workspace: Workspace,
    contact_list: ContactList,
    emails: Iterable[str],
    source: str = "import",
    actor: User | None = None,
) -> tuple[int, list[str]]:
    """Add contacts by email; returns (how many were new, the emails not found)."""
    ensure_in_workspace(contact_list, workspace)
    ids, missing = contact_ids_by_email(workspace=workspace, emails=emails)
    return list_add(
        workspace=workspace, contact_list=contact_list, contact_ids=ids, source=source, actor=actor
    ), missing


def list_from_segment(
    *,
    workspace: Workspace,
    actor: User | None,
    segment: Segment,
    slug: str,
    name: str,
    description: str = "",
) -> ContactList:
    """A static list holding the segment's current members (one INSERT … SELECT)."""
    if segment.workspace_id != workspace.pk:
        raise NotFound("no such segment")
    with transaction.atomic():
        contact_list = list_create(
            workspace=workspace, actor=actor, slug=slug, name=name, description=description
        )
        members = SegmentMembership.objects.for_workspace(workspace).filter(
            segment=segment, left_at__isnull=True
        )
        list_add_contacts(
            workspace=workspace,
            contact_list=contact_list,
            contacts=Contact.objects.for_workspace(workspace).filter(
                pk__in=members.values("contact_id")
            ),
            source=f"segment:{segment.slug}",
            actor=actor,
        )
    return contact_list
