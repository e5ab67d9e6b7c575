"""Segments at speed: full recompute of the issue's segment, the preview count, the incremental
update after one new event (all affected segments), and a full refresh of 50 segments.

    python -m bench.segments --quick                     # ~10k contacts, temp SQLite
    python -m bench.segments --quick --database-url postgres://postgres@127.0.0.1:5432/volano_bench_segcore
    python -m bench.segments --full --database-url URL [--workspace bench-1m]   # existing 1M data
    python -m bench.segments --full --first-materialisation --database-url URL  # a new 900k segment

--quick generates a fresh workspace "bench-segments"; --full uses an existing workspace (as
`python -m bench.generate --full` leaves it) and only adds its own segments (slugs "bench-…",
deleted at the start of a run). Targets at 1M / 10M events on PostgreSQL: recompute < 2 s,
preview < 1 s, incremental < 50 ms, 50 segments < 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

from bench.generate import django_setup, quick_workspace

ISSUE_SEGMENT = {
    "all": [
        {"field": "region", "op": "eq", "value": "Lombardia"},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
        {"not": {"event": "email_clicked", "within_days": 90}},
    ]
}
REGIONS = ("Lombardia", "Veneto", "Emilia-Romagna", "Piemonte", "Toscana")
PAGES = ("/prezzi", "/ricambi", "/trattori", "/assistenza", "/contatti")


def fifty_definitions() -> list[dict]:
    """50 varied segments: attributes, behaviour windows, orders, consent, negations."""
    out: list[dict] = [ISSUE_SEGMENT]
    for region in REGIONS:
        for page in PAGES:
            out.append(
                {
                    "all": [
                        {"field": "region", "op": "eq", "value": region},
                        {
                            "event": "page_view",
                            "where": {"url": {"contains": page}},
                            "within_days": 60,
                        },
                    ]
                }
            )
    for days in (30, 90, 180, 365):
        out.append({"event": "order", "where": {"product_line": "ricambi"}, "within_days": days})
        out.append(
            {"event": "order", "sum": {"property": "total", "gte": 5000}, "within_days": days}
        )
        out.append({"not": {"event": "email_clicked", "within_days": days}})
        out.append({"event": "email_opened", "count": {"gte": 3}, "within_days": days})
    for band in ("1-9", "10-49", "50-249", "250+"):
        out.append({"field": "company.size_band", "op": "eq", "value": band})
    while len(out) < 50:
        out.append({"field": "consent.email_marketing", "op": "eq", "value": "granted"})
    return out[:50]


def statistics_refresh() -> None:
    """ANALYZE what the first materialisation filled (memberships, segment events), as
    PostgreSQL's autovacuum does after that many inserts; this machine runs without it."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE segments_segmentmembership")
            cursor.execute("ANALYZE events_event")


def timed(fn, runs: int = 1):
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return result, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m", help="--full: the workspace slug")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-refresh50", action="store_true", help="skip the 50-segment full refresh (minutes)"
    )
    parser.add_argument(
        "--first-materialisation",
        action="store_true",
        help="only: save a new segment of ~90%% of the contacts, time until it is usable, "
        "beside a hand-written INSERT … SELECT of the same condition",
    )
    args = parser.parse_args()
    django_setup(args.database_url)
    if args.first_materialisation:
        return first_materialisation(args)

    from django.db import connection
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.events.models import Event
    from volano.events.services import event_append
    from volano.segments import selectors, services
    from volano.segments.models import Segment

    if args.quick:
        workspace = quick_workspace(
            "bench-segments", contacts=10_000, companies=2_000, anonymous_visitors=2_000
        )
    else:
        workspace = Workspace.objects.filter(slug=args.workspace).first()
        if workspace is None:
            print(f"no workspace {args.workspace!r}: run python -m bench.generate --full first")
            return 2
        Segment.objects.for_workspace(workspace).filter(slug__startswith="bench-").delete()
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()
    load = os.getloadavg()[0]

    # 1. the issue's segment: first materialisation (everyone enters), then a steady refresh
    issue, first = timed(
        lambda: services.segment_save(
            workspace=workspace,
            actor=None,
            slug="bench-issue",
            name="Lombardia prezzi",
            definition=ISSUE_SEGMENT,
        )
    )
    _, recompute = timed(
        lambda: services.segment_refresh(workspace=workspace, segment=issue), args.runs
    )
    # 2. the preview count while editing
    count, preview = timed(
        lambda: selectors.segment_preview_count(workspace=workspace, definition=ISSUE_SEGMENT),
        args.runs,
    )
    # 3. 49 more segments, then a full refresh of all 50
    for n, definition in enumerate(fifty_definitions()[1:], start=2):
        Segment.objects.create(
            workspace=workspace, slug=f"bench-{n:02d}", name=f"Bench {n}", definition=definition
        )
    full_first, full = [float("nan")], [float("nan")]
    if not args.no_refresh50:
        _, full_first = timed(lambda: services.segments_refresh_all(workspace=workspace))
        statistics_refresh()  # autovacuum's job after millions of new rows (it is off here)
        _, full = timed(lambda: services.segments_refresh_all(workspace=workspace))
    # 4. one new page view on /prezzi for a Lombard contact outside the segment
    outside = (
        Contact.objects.for_workspace(workspace)
        .filter(region="Lombardia")
        .exclude(pk__in=selectors.segment_members(workspace=workspace, segment=issue))
        .order_by("pk")
        .values_list("pk", flat=True)[:: max(1, contacts // 200)]
    )
    increments = []
    affected = 0
    for contact_id in list(outside)[: args.runs * 2]:
        event_append(
            workspace=workspace,
            contact_id=contact_id,
            type="page_view",
            occurred_at=timezone.now() - dt.timedelta(minutes=5),
            properties={"url": "https://www.officinarossi.it/prezzi"},
        )
        results, timing = timed(
            lambda cid=contact_id: services.segments_refresh_contacts(
                workspace=workspace, contact_ids=[cid], changed=["event:page_view"]
            )
        )
        affected = len(results)
        increments += timing
    by_hand = _increment_by_hand(workspace, list(outside)[: args.runs * 2])
    print(
        f"segments: db={connection.vendor} contacts={contacts:,} events={events:,} "
        f"load_1min_start={load:.1f} load_1min_end={os.getloadavg()[0]:.1f} "
        f"issue_members={issue.size:,} preview_count={count:,} "
        f"first_materialise_s={first[0]:.3f} recompute_s_median={statistics.median(recompute):.3f} "
        f"preview_s_median={statistics.median(preview):.3f} "
        f"incremental_ms_median={1000 * statistics.median(increments):.1f} "
        f"incremental_ms_max={1000 * max(increments):.1f} affected_segments={affected} "
        f"refresh50_first_s={full_first[0]:.2f} refresh50_s={full[0]:.2f}"
    )
    if by_hand:
        print(
            f"incremental by hand (the issue segment's condition for the contact, one"
            f" hand-written statement, and its membership, committed): median"
            f" {1000 * statistics.median(by_hand):.1f} ms, max {1000 * max(by_hand):.1f} ms;"
            f" ratio by hand/incremental (medians)"
            f" {statistics.median(by_hand) / statistics.median(increments):.2f}"
        )
    return 0


ISSUE_BY_HAND = (  # ISSUE_SEGMENT written by hand for one contact (%s: workspace, contact, now)
    "SELECT c.id FROM contacts_contact c WHERE c.workspace_id = %(ws)s AND c.id = %(cid)s "
    "AND c.region = 'Lombardia' AND (SELECT COUNT(*) FROM events_event e "
    "WHERE e.workspace_id = %(ws)s AND e.contact_id = c.id AND e.type = 'page_view' "
    "AND e.properties ->> 'url' LIKE '%%/prezzi%%' "
    "AND e.occurred_at >= %(now)s - INTERVAL '30 days') >= 3 "
    "AND NOT EXISTS (SELECT 1 FROM events_event e WHERE e.workspace_id = %(ws)s "
    "AND e.contact_id = c.id AND e.type = 'email_clicked' "
    "AND e.occurred_at >= %(now)s - INTERVAL '90 days')"
)


def _increment_by_hand(workspace, contact_ids: list[int]) -> list[float]:
    """The least an event's refresh does for one segment that moves, by hand (PostgreSQL): the
    issue segment's condition for the event's contact in one hand-written statement, and the
    contact's membership of a scratch segment inserted, committed; timed per contact."""
    from django.db import connection, transaction
    from django.utils import timezone

    from volano.segments.models import Segment

    if connection.vendor != "postgresql" or not contact_ids:
        return []
    scratch = Segment.objects.create(
        workspace=workspace, slug="bench-by-hand", name="Bench by hand", definition=ISSUE_SEGMENT
    )
    timings = []
    for contact_id in contact_ids:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            now = timezone.now()
            cursor.execute(ISSUE_BY_HAND, {"ws": workspace.pk, "cid": contact_id, "now": now})
            if cursor.fetchone() is not None:
                cursor.execute(
                    "INSERT INTO segments_segmentmembership (workspace_id, segment_id, contact_id,"
                    " entered_at) VALUES (%s, %s, %s, %s)",
                    [workspace.pk, scratch.pk, contact_id, now],
                )
        timings.append(time.perf_counter() - started)
    scratch.delete()
    return timings


# ~91% of the demo's contacts (every region but two)
LARGE_SEGMENT = {"not": {"field": "region", "op": "in", "value": ["Lazio", "Campania"]}}
LARGE_BY_HAND = "NOT (c.region IN ('Lazio', 'Campania'))"


def first_materialisation(args) -> int:
    """A new segment of ~900k contacts at 1M: the time from saving it until it is usable (its
    members, count and first export rows readable), then the after-commit writing of its
    `segment_entered` events; beside the same work by hand, a hand-written INSERT … SELECT of
    the same condition into the same indexed memberships table, committed."""
    from django.db import connection, transaction
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.core.models import OutboxStatus, ReactionOutbox, Workspace
    from volano.core.reactions import outbox_run
    from volano.events.models import Event
    from volano.segments import selectors, services
    from volano.segments.export import export_rows
    from volano.segments.models import Segment, SegmentMembership

    if args.quick:
        workspace = quick_workspace(
            "bench-segments", contacts=10_000, companies=2_000, anonymous_visitors=2_000
        )
    else:
        workspace = Workspace.objects.filter(slug=args.workspace).first()
        if workspace is None:
            print(f"no workspace {args.workspace!r}: run python -m bench.generate --full first")
            return 2
    old = Segment.objects.for_workspace(workspace).filter(slug__startswith="bench-")
    old.delete()
    contacts = Contact.objects.for_workspace(workspace).count()
    load = os.getloadavg()[0]

    def usable() -> tuple[int, int]:
        segment = services.segment_save(
            workspace=workspace,
            actor=None,
            slug="bench-large",
            name="Bench large",
            definition=LARGE_SEGMENT,
        )
        members = selectors.segment_members(workspace=workspace, segment=segment)
        first_rows = export_rows(workspace=workspace, contacts=members)
        rows = [next(first_rows) for _ in range(101)]  # the header and 100 contacts
        return members.count(), len(rows)

    (size, _rows), saved = timed(usable)
    segment = Segment.objects.for_workspace(workspace).get(slug="bench-large")
    pending = list(
        ReactionOutbox.objects.filter(status=OutboxStatus.PENDING, fact_type="SegmentEnteredInBulk")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _, entries = timed(lambda: outbox_run(outbox_ids=pending))
    entered_events = (
        Event.objects.for_workspace(workspace)
        .filter(type="segment_entered", properties__segment="bench-large")
        .filter(occurred_at=segment.refreshed_at)  # this run's (earlier runs' events stay)
        .count()
    )
    # by hand: the same condition in SQL, its memberships into the same table, committed
    by_hand = Segment.objects.create(
        workspace=workspace, slug="bench-by-hand", name="Bench by hand", definition=LARGE_SEGMENT
    )
    memberships = SegmentMembership._meta.db_table

    def hand_written() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {memberships} (workspace_id, segment_id, contact_id, entered_at) "
                f"SELECT %s, %s, c.id, %s FROM {Contact._meta.db_table} c "
                f"WHERE c.workspace_id = %s AND {LARGE_BY_HAND}",
                [workspace.pk, by_hand.pk, timezone.now(), workspace.pk],
            )
            return cursor.rowcount

    hand_rows, hand = timed(hand_written)
    by_hand.delete()
    segment.delete()
    print(
        f"first materialisation: db={connection.vendor} contacts={contacts:,} "
        f"load_1min={load:.1f} members={size:,} usable_s={saved[0]:.2f} "
        f"entered_events_after_commit={entered_events:,} entries_s={entries[0]:.2f} "
        f"by_hand_insert_select_s={hand[0]:.2f} (rows {hand_rows:,}) "
        f"ratio_by_hand/usable={hand[0] / saved[0]:.2f} "
        f"ratio_by_hand/usable+entries={hand[0] / (saved[0] + entries[0]):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
