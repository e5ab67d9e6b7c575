"""The dashboard at speed: 8 widgets for a year at weekly granularity, compared with the year before.

    python -m bench.dashboard --quick                      # 5k contacts on a temp SQLite
    python -m bench.dashboard --full --database-url postgres://postgres@127.0.0.1:5432/volano_dash18_1m

--full reads the workspace "bench-1m" made by `python -m bench.generate --full` (1M contacts,
~10M events, orders), or, with `--contacts 1000000 --events 10000000` on PostgreSQL, fills an
empty "bench-1m" set-based (contacts, one order for one contact in 20 over the last year, then
the events below) in minutes instead of the generator's hours. The generator writes behaviour only, so the bench adds, set-based, a
stage history (a third of the contacts become MQL 5 days after they arrive, a ninth SQL after
15, a 27th customers after 30) and a deal for one contact in 50 (won, lost or open), once.
Goal (issue 18): the dashboard of 8 widgets (funnel, stages, engagement, email, revenue, CAC/ROI,
velocity, accounts at risk) for a year by week at 1M contacts / 10M events under 1 s on
PostgreSQL. Printed: the first read (which rolls the year up, and computes the health parts
once for the day) and then `--runs` warm reads with their median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench.generate import django_setup, quick_workspace

WIDGETS = ["funnel", "stages", "engagement", "email", "revenue", "cac_roi", "velocity", "at_risk"]


def history_add(workspace) -> None:
    """Stage changes and deals for the generated contacts, once (set-based statements)."""
    from django.db import connection

    from volano.lifecycle.models import StageChange

    if StageChange.objects.for_workspace(workspace).exists():
        return
    postgres = connection.vendor == "postgresql"

    def plus(column: str, days: int) -> str:
        return (
            f"{column} + interval '{days} days'"
            if postgres
            else f"datetime({column}, '+{days} days')"
        )

    now = "now()" if postgres else "datetime('now')"
    steps = [("lead", "mql", 3, 5), ("mql", "sql", 9, 15), ("sql", "customer", 27, 30)]
    with connection.cursor() as cursor:
        for old, new, every, days in steps:
            cursor.execute(
                "INSERT INTO lifecycle_stagechange (workspace_id, contact_id, from_stage, to_stage,"
                " changed_at, source, reason) SELECT workspace_id, id, %s, %s, "
                f"{plus('created_at', days)}, 'import', '' FROM contacts_contact "
                f"WHERE workspace_id = %s AND id %% {every} = 0 AND {plus('created_at', days)} < {now}",
                [old, new, workspace.pk],
            )
        stage = "CASE WHEN id %% 150 = 0 THEN 'won' WHEN id %% 150 = 50 THEN 'lost' ELSE 'negotiation' END"
        closed = f"CASE WHEN id %% 150 IN (0, 50) THEN {plus('created_at', 40)} END"
        cursor.execute(
            "INSERT INTO deals_deal (workspace_id, name, contact_id, stage, amount, currency,"
            " closed_at, lost_reason, created_at, updated_at) SELECT workspace_id, 'Bench', id,"
            f" {stage}, 1000 + id %% 7 * 250, 'EUR', {closed}, '', created_at, created_at"
            " FROM contacts_contact WHERE workspace_id = %s AND id %% 50 = 0",
            [workspace.pk],
        )
        if postgres:
            cursor.execute("ANALYZE lifecycle_stagechange; ANALYZE deals_deal")


EVENT_MIX = (
    "'email_sent'",
    "'email_sent'",
    "'email_opened'",
    "'email_clicked'",
    "'page_view'",
    "'page_view'",
    "'page_view'",
    "'form_submitted'",
    "'email_bounced'",
    "'survey_answered'",
)


def contacts_add(workspace, wanted: int) -> None:
    """PostgreSQL: `wanted` contacts created over the last 365 days (contiguous ids), one order
    for one contact in 20 (completed, 150–2,400 €), once."""
    from django.db import connection

    from volano.contacts.models import Contact

    if Contact.objects.for_workspace(workspace).exists() or connection.vendor != "postgresql":
        return
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (workspace_id, email, first_name, last_name, phone,"
            " job_title, street, postal_code, city, province, region, country, language, tags,"
            " source, custom, created_at, updated_at, lifecycle_stage) SELECT %s,"
            " 'c' || g || '@bench.example', 'Nome' || g %% 500, 'Cognome', '', '', '', '', '',"
            " '', (ARRAY['Lombardia','Veneto','Emilia-Romagna','Piemonte'])[1 + g %% 4], 'IT',"
            " 'it', '[]'::jsonb, 'bench', '{}'::jsonb,"
            " now() - (g %% 525600) * interval '1 minute', now(), 'lead'"
            " FROM generate_series(1, %s) AS g",
            [workspace.pk, wanted],
        )
        cursor.execute(
            "INSERT INTO orders_order (workspace_id, number, ordered_at, status, channel,"
            " currency, total, created_at, contact_id) SELECT workspace_id, 'B-' || id,"
            " created_at + interval '2 days', 'completed', 'shop', 'EUR',"
            " 150 + (id %% 16) * 150, created_at, id FROM contacts_contact"
            " WHERE workspace_id = %s AND id %% 20 = 0 AND created_at + interval '2 days' < now()",
            [workspace.pk],
        )
        cursor.execute("ANALYZE contacts_contact; ANALYZE orders_order")
    print(f"  contacts {wanted:,} and their orders in {time.perf_counter() - t:.0f} s", flush=True)


def events_add(workspace, wanted: int) -> None:
    """PostgreSQL: fill up to `wanted` events over the last 365 days, one statement per million
    (the contacts' ids are contiguous, as the generator writes them). For a database whose
    generation stopped before its events were written."""
    from django.db import connection

    from volano.events.models import Event

    have = Event.objects.for_workspace(workspace).count()
    if have >= wanted // 2 or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), count(*) FROM contacts_contact WHERE workspace_id = %s", [workspace.pk]
        )
        first, contacts = cursor.fetchone()
        mix = "ARRAY[" + ", ".join(EVENT_MIX) + "]"
        for start in range(0, wanted - have, 1_000_000):
            stop = min(start + 1_000_000, wanted - have)
            t = time.perf_counter()
            cursor.execute(
                "INSERT INTO events_event (workspace_id, contact_id, type, occurred_at, received_at,"
                " channel, source, utm_source, utm_medium, utm_campaign, utm_term, utm_content,"
                " campaign, content, properties) SELECT %s, %s + (g::bigint * 7919) %% %s,"
                f" ({mix})[1 + g %% {len(EVENT_MIX)}],"
                " now() - (g %% 525600) * interval '1 minute' - (g %% 60) * interval '1 second',"
                " now(), 'email', 'bench', '', '', '', '', '', '', '',"
                " CASE WHEN g %% 10 = 9 THEN jsonb_build_object('score', g %% 11, 'kind', 'nps')"
                " WHEN g %% 37 = 2 THEN '{\"label\": \"privacy_proxy\"}'::jsonb ELSE '{}'::jsonb END"
                " FROM generate_series(%s, %s) AS g",
                [workspace.pk, first, contacts, start, stop - 1],
            )
            print(f"  events {stop:,} in {time.perf_counter() - t:.0f} s", flush=True)
        cursor.execute("ANALYZE events_event")


def by_hand(workspace) -> float:
    """The by-hand reference: one statement counting the year's events per week and type (what
    one events widget would cost without the daily rollup), timed the same way."""
    from django.db import connection

    week = (
        "date_trunc('week', occurred_at)"
        if connection.vendor == "postgresql"
        else "strftime('%%Y-%%W', occurred_at)"
    )
    since = (
        "now() - interval '365 days'"
        if connection.vendor == "postgresql"
        else "datetime('now', '-365 days')"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {week}, type, count(*) FROM events_event WHERE workspace_id = %s"
            f" AND occurred_at >= {since} GROUP BY 1, 2",
            [workspace.pk],
        )
        cursor.fetchall()
    return time.perf_counter() - started


def dashboard_once(workspace) -> tuple[float, list[tuple[str, float]]]:
    from django.utils import timezone, translation

    from volano.reports.dashboards import kpis
    from volano.reports.dashboards.period import period_parse

    with translation.override("it"):
        started = time.perf_counter()
        period = period_parse(
            {"range": "12m", "granularity": "week", "compare": "previous"},
            today=timezone.localdate(),
        )
        ctx = kpis.Context(workspace, period)
        read = (ctx.current, ctx.previous)  # read once, for every widget
        parts = [("figures", time.perf_counter() - started)]
        assert read
        for key in WIDGETS:
            t = time.perf_counter()
            kpis.widget_compute(ctx, key)
            parts.append((key, time.perf_counter() - t))
        return time.perf_counter() - started, parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="drop the rollup first")
    parser.add_argument("--events", type=int, default=0, help="PostgreSQL: fill up to N events")
    parser.add_argument(
        "--contacts", type=int, default=0, help="PostgreSQL: fill an empty workspace with N"
    )
    args = parser.parse_args()
    django_setup(None if args.quick else args.database_url)
    from django.db import connection

    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.events.models import Event
    from volano.reports.dashboards.models import AccountHealth, DailyFigure

    if args.quick:
        workspace = quick_workspace(
            "bench-dashboard", contacts=5_000, companies=500, anonymous_visitors=500
        )
    elif args.contacts:
        from volano.core.services import workspace_create

        workspace = Workspace.objects.filter(slug=args.workspace).first() or workspace_create(
            slug=args.workspace, name="Bench 1M"
        )
        contacts_add(workspace, args.contacts)
    else:
        workspace = Workspace.objects.get(slug=args.workspace)
    started = time.perf_counter()
    history_add(workspace)
    print(f"history added in {time.perf_counter() - started:.1f} s", flush=True)
    if args.events:
        events_add(workspace, args.events)
    if args.rebuild or args.quick:
        DailyFigure.objects.for_workspace(workspace).delete()
        AccountHealth.objects.for_workspace(workspace).delete()
    events = Event.objects.for_workspace(workspace).count()
    contacts = Contact.objects.for_workspace(workspace).count()
    load = os.getloadavg()[0]
    first, parts = dashboard_once(workspace)
    print(
        f"first read (rollup + health of the day): {first:.2f} s "
        + " ".join(f"{k}={v:.2f}" for k, v in parts),
        flush=True,
    )
    runs = []
    for _ in range(args.runs):
        cpu = time.process_time()
        seconds, parts = dashboard_once(workspace)
        cpu = time.process_time() - cpu
        runs.append(seconds)
        reference = by_hand(workspace)
        print(
            f"  warm: {seconds * 1000:.0f} ms (this process's CPU {cpu * 1000:.0f} ms; by hand, "
            f"one grouped count of the year's events by week and type: {reference * 1000:.0f} ms, "
            f"ratio {seconds / reference:.2f}; load {os.getloadavg()[0]:.1f}) "
            + " ".join(f"{k}={v * 1000:.0f}" for k, v in parts),
            flush=True,
        )
    print(
        f"dashboard: db={connection.vendor} events={events:,} contacts={contacts} "
        f"widgets={len(WIDGETS)} median={statistics.median(runs) * 1000:.0f} ms "
        f"max={max(runs) * 1000:.0f} ms load_start={load:.1f} load_end={os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
