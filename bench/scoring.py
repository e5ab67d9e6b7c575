"""Lead scoring at speed: the full recompute of a 15-rule model, and the score update (with the
threshold rules) after one new event.

    python -m bench.scoring --quick                      # ~10k contacts, temp SQLite
    python -m bench.scoring --quick --database-url postgres://postgres@127.0.0.1:5432/volano_bench_scoring
    python -m bench.scoring --full --database-url URL [--workspace bench-1m]   # existing 1M data
    python -m bench.scoring --full --update-only --database-url URL   # only the one-event update

--quick generates a fresh workspace "bench-scoring"; --full uses an existing workspace (as
`python -m bench.generate --full` leaves it) and replaces its own model "bench-15" and rules.
Targets at 1M contacts / 10M events on PostgreSQL: full recompute < 30 s, score update after
one event < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from bench.generate import django_setup, quick_workspace
from bench.segments import timed


def fifteen_rules() -> dict:
    """The demo's spare-parts model (13 rules) and two more: 15 rules of every kind."""
    from volano.demo.sales import MODELS

    model = {**MODELS[0], "slug": "bench-15", "name": "Bench 15 rules", "product_line": ""}
    model["rules"] = [
        *model["rules"],
        {
            "kind": "fit",
            "when": {"field": "province", "op": "in", "value": ["MI", "BG", "BS", "VR"]},
            "points": 5,
        },
        {
            "kind": "engagement",
            "when": {"event": "survey_answered"},
            "points": 5,
            "max_times": 1,
            "half_life_days": 180,
        },
    ]
    assert len(model["rules"]) == 15
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workspace", default="bench-1m", help="--full: the workspace slug")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--update-only",
        action="store_true",
        help="only the score update after one event (no full recompute first)",
    )
    args = parser.parse_args()
    django_setup(args.database_url)

    from django.db import connection
    from django.utils import timezone

    from volano.contacts.models import Contact, CustomField
    from volano.core.models import Workspace
    from volano.demo.load import demo_custom_fields_create
    from volano.events.models import Event
    from volano.events.services import event_append
    from volano.lifecycle.models import ThresholdRule
    from volano.lifecycle.services import threshold_rule_save
    from volano.scoring.models import ScoreModel
    from volano.scoring.services import score_model_save, scores_compute, scores_refresh_contacts

    if args.quick:
        workspace = quick_workspace(
            "bench-scoring", contacts=10_000, companies=2_000, anonymous_visitors=2_000
        )
    else:
        workspace = Workspace.objects.filter(slug=args.workspace).first()
        if workspace is None:
            print(f"no workspace {args.workspace!r}: run python -m bench.generate --full first")
            return 2
    if not CustomField.objects.for_workspace(workspace).filter(key="interesse").exists():
        demo_custom_fields_create(workspace=workspace)
    ScoreModel.objects.for_workspace(workspace).filter(slug="bench-15").delete()
    ThresholdRule.objects.for_workspace(workspace).filter(name__startswith="bench ").delete()
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()

    model = score_model_save(workspace=workspace, actor=None, data=fifteen_rules())
    load = os.getloadavg()[0]
    # 1. the full recompute: the first one writes every score (and a score_changed event each),
    #    the next ones only what moved
    if args.update_only:
        return _updates_print(workspace, contacts, events, args.runs)
    first, first_time = timed(lambda: scores_compute(workspace=workspace, model=model))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scoring_score")
    steady, steady_times = timed(
        lambda: scores_compute(workspace=workspace, model=model), args.runs
    )
    # the limit: the model's SELECT alone into a temporary table (every read the computation
    # does, none of its writes), against which the recompute's ratio is printed
    from volano.scoring.services import model_definition
    from volano.scoring.sql import scores_select

    def select_only() -> int:
        sql, params = scores_select(workspace, model_definition(model), None, timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_scores_by_hand")
            cursor.execute(f"CREATE TEMPORARY TABLE bench_scores_by_hand AS {sql}", params)
            cursor.execute("SELECT COUNT(*) FROM bench_scores_by_hand")
            rows = cursor.fetchone()[0]
            cursor.execute("DROP TABLE bench_scores_by_hand")
        return rows

    _rows, select_times = timed(select_only)
    # 2. a threshold rule reading the score, then one new event for one contact at a time
    threshold_rule_save(
        workspace=workspace,
        actor=None,
        data={
            "name": "bench score ≥ 50 → MQL",
            "from_stages": ["lead", "recycled"],
            "to_stage": "mql",
            "condition": {"field": "score.bench-15", "op": "gte", "value": 50},
        },
    )
    sample = list(
        Contact.objects.for_workspace(workspace)
        .filter(lifecycle_stage="lead")
        .order_by("pk")
        .values_list("pk", flat=True)[:: max(1, contacts // 100)][: args.runs * 5]
    )
    updates = []
    for contact_id in sample:
        event_append(
            workspace=workspace,
            type="webinar_attended",
            contact_id=contact_id,
            occurred_at=timezone.now(),
        )
        _, took = timed(
            lambda contact_id=contact_id: scores_refresh_contacts(
                workspace=workspace, contact_ids=[contact_id], changed=["event:webinar_attended"]
            )
        )
        updates += took
    ThresholdRule.objects.for_workspace(workspace).filter(name__startswith="bench ").delete()

    print(
        f"database: {connection.vendor}; contacts {contacts:,}; events {events:,};"
        f" load average at the start {load:.1f}, at the end {os.getloadavg()[0]:.1f}"
    )
    print(
        f"full recompute, 15 rules: first {first_time[0]:.2f} s ({first.scored:,} scored,"
        f" {first.changed:,} changed); steady median {statistics.median(steady_times):.2f} s"
        f" ({steady.changed:,} changed)"
    )
    limit = select_times[0]
    print(
        f"the limit, the model's SELECT alone into a temporary table: {limit:.2f} s; ratio"
        f" limit/first {limit / first_time[0]:.2f}, limit/steady"
        f" {limit / statistics.median(steady_times):.2f}"
    )
    print(
        f"score update after one event (15 rules + threshold rule): median"
        f" {statistics.median(updates) * 1000:.1f} ms, max {max(updates) * 1000:.1f} ms"
        f" over {len(updates)} contacts"
    )
    return 0


def _updates_print(workspace, contacts: int, events: int, runs: int) -> int:
    """The score update after one new event, for `runs * 5` contacts spread over the workspace.

    Beside the wall time, the CPU time of this process (on SQLite it includes the database's
    own work, which runs in the process; on a machine shared by many sessions it is the figure
    that does not move with the load), and the limit: the model's SELECT alone for the same
    contact (the read the update cannot avoid), with the ratio limit / update."""
    import time

    from django.db import connection
    from django.utils import timezone

    from volano.contacts.models import Contact
    from volano.events.services import event_append
    from volano.scoring.models import ScoreModel
    from volano.scoring.services import model_definition, scores_refresh_contacts
    from volano.scoring.sql import scores_select

    definition = model_definition(ScoreModel.objects.for_workspace(workspace).get(slug="bench-15"))
    sample = list(
        Contact.objects.for_workspace(workspace)
        .order_by("pk")
        .values_list("pk", flat=True)[:: max(1, contacts // 100)][: runs * 5]
    )
    updates, cpus, selects = [], [], []
    for contact_id in sample:
        event_append(
            workspace=workspace,
            type="webinar_attended",
            contact_id=contact_id,
            occurred_at=timezone.now(),
        )
        cpu = time.process_time()
        _, took = timed(
            lambda contact_id=contact_id: scores_refresh_contacts(
                workspace=workspace, contact_ids=[contact_id], changed=["event:webinar_attended"]
            )
        )
        cpus.append(time.process_time() - cpu)
        updates += took
        now = timezone.now().replace(second=0, microsecond=0)
        sql, params = scores_select(workspace, definition, [contact_id], now)
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            selects.append(time.perf_counter() - started)
    update, limit = statistics.median(updates[1:]), statistics.median(selects)
    print(f"database: {connection.vendor}; contacts {contacts:,}; events {events:,}")
    print(
        f"score update after one event (15 rules): first (compiles the model's statement)"
        f" {updates[0] * 1000:.1f} ms; the next {len(updates) - 1}: median {update * 1000:.1f} ms,"
        f" max {max(updates[1:]) * 1000:.1f} ms; CPU of this process median"
        f" {statistics.median(cpus[1:]) * 1000:.1f} ms; the limit, the model's SELECT alone for"
        f" the contact: median {limit * 1000:.1f} ms; ratio limit/update {limit / update:.2f};"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
