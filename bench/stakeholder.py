"""The report for the board at speed: a month's figures (with the month before) and its PDF.

    python -m bench.stakeholder --quick                      # the demo generator, 5k contacts, SQLite
    python -m bench.stakeholder --full --database-url postgres://postgres@127.0.0.1:5432/volano_kpi18c_1m

--change: before each run after the first, a touch is appended through the ingest service (the
real reactions run by the database worker): "live" one happening now, "backdated" one dated in
the report's month (the per-day credits recompute the days it can move), "both".

--full reads the workspace "bench-1m" (made by `python -m bench.dashboard --full --contacts …`
or by `python -m bench.generate --full`). Printed per run: the figures (the domains' selectors:
funnel, orders, deals, costs, attribution by channel and by campaign, the goals; for this month
and the month before), the PDF (WeasyPrint) and the total. Goal (issue 18): the PDF under 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

from bench.generate import django_setup, quick_workspace


def once(workspace, start: dt.date, end: dt.date) -> tuple[float, float, int, float]:
    """(figures s, PDF s, PDF bytes, this process's CPU s): on a loaded machine the CPU time
    says what the work costs (with SQLite it includes the database's; not with PostgreSQL)."""
    from volano.reports import services, stakeholder

    cpu = time.process_time()
    t = time.perf_counter()
    figures = services.stakeholder_figures_compared(workspace=workspace, start=start, end=end)
    figures_seconds = time.perf_counter() - t
    t = time.perf_counter()
    pdf = stakeholder.stakeholder_pdf(workspace, figures, language="it")
    return figures_seconds, time.perf_counter() - t, len(pdf), time.process_time() - cpu


def change(workspace, kind: str, start: dt.date, run: int) -> str:
    """Append a touch by a contact that converted in the period (through the ingest service)
    and run the reactions (the database worker, once): what a live workspace does between two
    reads of the report. Returns what was done, with the reactions' seconds."""
    from django.core.management import call_command
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.events.services import events_ingest
    from volano.lifecycle.models import StageChange

    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    later = since + dt.timedelta(days=10)
    # a contact whose SQL (else whose creation, its lead) falls after the backdated touch
    person = (
        StageChange.objects.for_workspace(workspace)
        .filter(changed_at__gte=later, to_stage="sql")
        .order_by("changed_at")
        .values_list("contact_id", flat=True)[run : run + 1]
        .first()
    ) or (
        Contact.objects.for_workspace(workspace)
        .filter(created_at__gte=later)
        .order_by("created_at")
        .values_list("pk", flat=True)[run : run + 1]
        .first()
    )
    items = []
    if kind in ("live", "both"):
        items.append({"occurred_at": timezone.now()})
    if kind in ("backdated", "both"):
        items.append({"occurred_at": since + dt.timedelta(days=9, hours=run)})
    for item in items:
        item.update(
            type="page_view",
            contact_id=person,
            occurred_at=item["occurred_at"].isoformat(),
            utm={"source": "newsletter", "medium": "email", "campaign": f"bench-{run}"},
        )
    result = events_ingest(workspace=workspace, items=items)
    t = time.perf_counter()
    call_command(
        "db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", "--no-reload",
        verbosity=0,
    )  # fmt: skip
    return (
        f"{result.accepted} {kind} touch(es) for contact {person}, reactions "
        f"{time.perf_counter() - t:.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--change", choices=("live", "backdated", "both"))
    args = parser.parse_args()
    django_setup(None if args.quick else args.database_url)
    from django.db import connection
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.core.models import Workspace
    from volano.events.models import Event

    if args.quick:
        workspace = quick_workspace(
            "bench-stakeholder", contacts=5_000, companies=500, anonymous_visitors=500
        )
    else:
        workspace = Workspace.objects.get(slug=args.workspace)
    today = timezone.localdate()
    end = today.replace(day=1) - dt.timedelta(days=1)  # last month, as the schedule sends it
    start = end.replace(day=1)
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()
    print(f"db={connection.vendor} contacts={contacts:,} events={events:,} {start}…{end}")
    import weasyprint  # noqa: F401  (imported once by a running server; not part of a report)

    totals = []
    for run in range(args.runs):
        if run and args.change:
            print(f"  change: {change(workspace, args.change, start, run)}", flush=True)
        load = os.getloadavg()[0]
        figures, pdf, size, cpu = once(workspace, start, end)
        totals.append(figures + pdf)
        print(
            f"  run {run + 1}: figures {figures:.2f} s, PDF {pdf:.2f} s, total "
            f"{figures + pdf:.2f} s, CPU {cpu:.2f} s ({size // 1024} KB) load {load:.1f}",
            flush=True,
        )
    median = statistics.median(totals)
    print(f"stakeholder report: median {median:.2f} s, max {max(totals):.2f} s (goal < 5 s)")
    return 0 if median < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
