"""The seven attribution models over 1M journeys (10M touch events) on PostgreSQL, and Markov
alone against the `channelattribution` package on the same journeys.

    python -m bench.attribution --quick          # temp SQLite, 2,000 journeys
    python -m bench.attribution --full --database-url postgres://postgres@127.0.0.1:5432/volano_attrib_1m
    python -m bench.attribution --full ... --channelattribution /tmp/attrib-ca/bin/python

The full database is filled in SQL with generate_series (`--generate`, ~20 min on 2 shared
cores; far faster than bench/generate.py): 1M contacts, 10 page views each with UTM tags over
12 source/medium/campaign combinations, 30% of them reaching SQL 62 days after they were
created. The clock covers what a request does: the one SQL statement that builds the distinct
paths, then each model on them. Target: all seven < 60 s together.

`channelattribution` is GPL: it is never a dependency of Volano; it runs in its own venv
(`--channelattribution PYTHON`), in a child process, on the same paths written to a file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time

from bench.generate import bench_workspace, django_setup

SLUG = "bench-attrib"
GENERATE_SQL = """
DELETE FROM lifecycle_stagechange WHERE workspace_id = %(ws)s;
DELETE FROM events_event WHERE workspace_id = %(ws)s;
DELETE FROM contacts_contact WHERE workspace_id = %(ws)s;
INSERT INTO contacts_contact (email, first_name, last_name, phone, job_title, street, postal_code,
    city, province, region, country, language, tags, source, custom, created_at, updated_at,
    workspace_id, lifecycle_stage)
SELECT 'c' || i || '@bench-attrib.it', '', '', '', '', '', '', '', '', '', 'IT', 'it', '[]',
       'bench', '{}', timestamptz '2026-01-01 00:00+00' + ((i %% 300) || ' days')::interval, now(),
       %(ws)s, CASE WHEN i %% 10 < 3 THEN 'sql' ELSE 'lead' END
FROM generate_series(1, %(n)s) AS i;
CREATE TEMP TABLE combos (k int, src text, med text, camp text, chan text);
INSERT INTO combos VALUES
 (0,'google','cpc','search-brand','web'), (1,'google','organic','','web'),
 (2,'facebook','paid_social','meta-fiera','web'), (3,'linkedin','cpc','linkedin-b2b','web'),
 (4,'newsletter','email','newsletter-mensile','email'), (5,'','','','web'),
 (6,'partner.it','referral','','web'), (7,'instagram','social','','web'),
 (8,'fiera','offline','fiera-milano','event'), (9,'bing','cpc','search-generic','web'),
 (10,'criteo','display','retargeting','web'), (11,'volano','email','nurturing','email');
INSERT INTO events_event (type, occurred_at, received_at, channel, source, utm_source, utm_medium,
    utm_campaign, utm_term, utm_content, campaign, content, properties, workspace_id, contact_id)
SELECT 'page_view', c.created_at + (((j * 7919 + c.id * 31) %% 1440) || ' hours')::interval
       + (j || ' hours')::interval, now(), co.chan, '', co.src, co.med, co.camp, '',
       'ad-' || ((c.id + j) %% 5), '', '', '{}', %(ws)s, c.id
FROM contacts_contact c
CROSS JOIN generate_series(0, %(per)s - 1) AS j
JOIN combos co ON co.k = ((c.id * 13 + j * j * 7 + (c.id / 7) * j) %% 12)
WHERE c.workspace_id = %(ws)s;
INSERT INTO lifecycle_stagechange (from_stage, to_stage, changed_at, source, reason, contact_id,
    workspace_id)
SELECT 'mql', 'sql', c.created_at + interval '62 days', 'rule', '', c.id, %(ws)s
FROM contacts_contact c WHERE c.workspace_id = %(ws)s AND c.lifecycle_stage = 'sql';
ANALYZE contacts_contact; ANALYZE events_event; ANALYZE lifecycle_stagechange;
"""

CA_SCRIPT = r"""
import json, sys, time
import pandas as pd
from ChannelAttribution import markov_model
data = json.load(open(sys.argv[1]))
frame = pd.DataFrame(data)
started = time.perf_counter()
result = markov_model(frame, "path", "conv", var_null="null", order=1, out_more=True,
                      verbose=0, ncore=1, flg_pro=False)
elapsed = time.perf_counter() - started
table = result["result"] if isinstance(result, dict) else result
print(json.dumps({"seconds": elapsed,
                  "credit": dict(zip(table["channel_name"], map(float, table["total_conversions"])))}))
"""


def quick_fill(workspace, contacts: int) -> None:
    """A small workspace through the ORM (bulk inserts), the same shape as the full one."""
    from volano.contacts.models import Contact
    from volano.events.models import Event
    from volano.lifecycle.models import StageChange

    combos = [
        ("google", "cpc", "search-brand", "web"),
        ("google", "organic", "", "web"),
        ("facebook", "paid_social", "meta-fiera", "web"),
        ("newsletter", "email", "newsletter-mensile", "email"),
        ("", "", "", "web"),
        ("partner.it", "referral", "", "web"),
    ]
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    people = Contact.objects.bulk_create(
        Contact(
            workspace=workspace, email=f"c{i}@bench.it", created_at=t0 + dt.timedelta(days=i % 300)
        )
        for i in range(contacts)
    )
    events = []
    changes = []
    for i, person in enumerate(people):
        for j in range(10):
            source, medium, campaign, channel = combos[(i * 13 + j * j * 7 + (i // 7) * j) % 6]
            events.append(
                Event(
                    workspace=workspace,
                    contact=person,
                    type="page_view",
                    channel=channel,
                    utm_source=source,
                    utm_medium=medium,
                    utm_campaign=campaign,
                    occurred_at=person.created_at
                    + dt.timedelta(hours=(j * 7919 + i * 31) % 1440 + j),
                )
            )
        if i % 10 < 3:
            changes.append(
                StageChange(
                    workspace=workspace,
                    contact=person,
                    from_stage="mql",
                    to_stage="sql",
                    changed_at=person.created_at + dt.timedelta(days=62),
                    source="rule",
                )
            )
    Event.objects.bulk_create(events, batch_size=5000)
    StageChange.objects.bulk_create(changes, batch_size=5000)


def channelattribution_run(python: str, paths) -> dict:
    """The package's Markov model on the same paths (as "a > b > c" strings)."""
    rows = {"path": [], "conv": [], "null": []}
    for i in range(len(paths.lengths)):
        keys = paths.touches[paths.offsets[i] : paths.offsets[i + 1]]
        rows["path"].append(" > ".join(paths.keys[k] for k in keys))
        rows["conv"].append(float(paths.converted[i]))
        rows["null"].append(float(paths.nulls[i]))
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "paths.json")
        script = os.path.join(folder, "run.py")
        with open(data, "w") as handle:
            json.dump(rows, handle)
        with open(script, "w") as handle:
            handle.write(CA_SCRIPT)
        started = time.perf_counter()
        out = subprocess.run([python, script, data], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def simulation_markov(paths, *, walks: int = 1_000_000, seed: int = 7) -> tuple[float, dict]:
    """A Monte-Carlo estimate of the removal effects (what simulation-based tools do), to
    compare with the exact ones when the package is not available."""
    import numpy as np

    from volano.attribution import engine

    counts = engine.transition_counts(paths)
    out = counts.sum(axis=1)
    probabilities = np.divide(
        counts, out[:, None], out=np.zeros_like(counts), where=out[:, None] > 0
    )
    cumulative = probabilities.cumsum(axis=1)
    k = len(paths.keys)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    state = np.zeros(walks, dtype=np.int64)
    visited = np.zeros((walks, k + 3), dtype=bool)
    alive = np.ones(walks, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        draws = rng.random(len(idx))
        nxt = (cumulative[state[idx]] < draws[:, None]).sum(axis=1)
        nxt = np.minimum(nxt, k + 2)
        state[idx] = nxt
        visited[idx, nxt] = True
        alive[idx] = nxt <= k
    converted = state == k + 1
    p = converted.mean()
    effects = {paths.keys[c]: 1 - (converted & ~visited[:, c + 1]).mean() / p for c in range(k)}
    return time.perf_counter() - started, effects


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a process on this machine (the database's backend), from /proc."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def random_paths_bench(n: int, ca_python: str | None) -> None:
    """The models alone on n *distinct* random paths (10 channels, 1–19 touches, ~10 on
    average): the database's paths above repeat, real ones repeat less."""
    import numpy as np

    from volano.attribution import engine

    rng = np.random.default_rng(16)
    lengths = rng.integers(1, 20, size=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    touches = rng.integers(0, 10, size=int(offsets[-1])).astype(np.int64)
    converted = (rng.random(n) < 0.3).astype(np.float64)
    paths = engine.Paths(
        keys=[f"channel_{i}" for i in range(10)],
        offsets=offsets,
        touches=touches,
        ages=rng.random(len(touches)) * 90,
        converted=converted,
        value=converted.copy(),
        nulls=1.0 - converted,
    )
    print(f"random paths: {n:,} distinct, {len(touches):,} touches", flush=True)
    total = 0.0
    for model in engine.MODELS:
        t = time.perf_counter()
        engine.attribute(paths, model)
        elapsed = time.perf_counter() - t
        total += elapsed
        print(f"  {model:<11} {elapsed:.3f} s", flush=True)
    print(f"  all seven   {total:.3f} s", flush=True)
    if ca_python:
        result = channelattribution_run(ca_python, paths)
        if "error" in result:
            print(f"  channelattribution failed: {result['error']}", flush=True)
        else:
            ours = dict(zip(paths.keys, engine.markov(paths), strict=True))
            worst = max(
                abs(result["credit"].get(k, 0.0) - v) / max(v, 1e-9) for k, v in ours.items()
            )
            print(
                f"  channelattribution markov_model: {result['seconds']:.2f} s inside "
                f"({result['wall_seconds']:.2f} s in all); its credits differ from the exact "
                f"ones by up to {worst:.1%}",
                flush=True,
            )


def roi_report(workspace, runs: int = 3) -> None:
    """The ROI report for the year, per campaign and per channel, under the Markov model (the
    slowest) — issue 16: < 2 s at 1M contacts. Cold: nothing kept (the kept results of the
    workspace deleted first), the credits computed from the database (the touches read once
    for the five conversions); then `runs` warm requests (the kept credits, the costs read
    again), then `after_a_change`; and the same by month."""
    from volano.attribution import selectors
    from volano.attribution.models import CreditCache

    query = selectors.query_parse({"from": "2026-01-01", "to": "2026-12-31"})
    CreditCache.objects.for_workspace(workspace).delete()
    for granularity in ("period", "month"):
        for group in ("campaign", "channel"):
            started = time.perf_counter()
            cpu = time.process_time()
            report = selectors.roi(workspace, "markov", query, group=group, granularity=granularity)
            print(
                f"ROI per {group}, a year by {granularity}, Markov, cold: "
                f"{time.perf_counter() - started:.2f} s wall, "
                f"{time.process_time() - cpu:.1f} s of this process's CPU "
                f"({len(report['rows'])} rows)",
                flush=True,
            )
            warm = []
            for _run in range(runs):
                started = time.perf_counter()
                again = selectors.roi(
                    workspace, "markov", query, group=group, granularity=granularity
                )
                warm.append(time.perf_counter() - started)
                assert again["rows"] == report["rows"]
            print(
                f"ROI per {group}, a year by {granularity}, Markov, kept: "
                + ", ".join(f"{w:.3f}" for w in warm)
                + " s (target < 2 s)",
                flush=True,
            )
            after_a_change(workspace, query, group, granularity)


def _worker_pass() -> float:
    """One pass of the real database worker over every queue (what `volano serve` runs)."""
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "db_worker",
        "--batch",
        "--queue-name",
        "*",
        "--no-startup-delay",
        "--no-reload",
        verbosity=0,
    )
    return time.perf_counter() - started


def after_a_change(workspace, query, group: str, granularity: str) -> None:
    """A live touch through the ingest service and the worker's reactions (the inputs change),
    then what the API gets (`wait="if_missing"`): the kept result at once, marked stale, while
    one background recomputation runs (timed as the worker's pass that runs it); then the
    current result."""
    from volano.attribution import selectors
    from volano.contacts.models import Contact
    from volano.events.services import events_ingest

    contact_id = Contact.objects.for_workspace(workspace).values_list("pk", flat=True).first()
    result = events_ingest(
        workspace=workspace,
        items=[
            {
                "type": "page_view",
                "contact_id": contact_id,
                "occurred_at": "2026-06-01T10:00:00+00:00",
                "utm": {"source": "newsletter", "medium": "email", "campaign": "bench-live"},
            }
        ],
    )
    assert not result.rejected, result
    reactions = _worker_pass()
    # as if the kept result were over `cache.REFRESH_EVERY` old (a recomputation is enqueued)
    from django.db.models import F

    from volano.attribution.cache import REFRESH_EVERY
    from volano.attribution.models import CreditCache

    CreditCache.objects.for_workspace(workspace).update(
        computed_at=F("computed_at") - REFRESH_EVERY
    )
    started = time.perf_counter()
    stale = selectors.roi(
        workspace, "markov", query, group=group, granularity=granularity, wait="if_missing"
    )
    answered = time.perf_counter() - started
    assert stale["stale"] and stale["refreshing"], "the change did not make the result stale"
    refreshed = _worker_pass()
    started = time.perf_counter()
    fresh = selectors.roi(
        workspace, "markov", query, group=group, granularity=granularity, wait="if_missing"
    )
    current = time.perf_counter() - started
    assert not fresh["stale"]
    print(
        f"ROI per {group}, a year by {granularity}, Markov, after a live touch (reactions "
        f"{reactions:.2f} s): answered in {answered:.3f} s from the kept result marked stale "
        f"(as of {stale['as_of']}); the background recomputation {refreshed:.2f} s; then "
        f"current in {current:.3f} s (target < 2 s)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--generate", action="store_true", help="(re)fill the full database")
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channelattribution", help="python of a venv with the package")
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the Monte-Carlo check and the models on 1M random paths",
    )
    parser.add_argument("--roi-only", action="store_true", help="only the ROI report")
    parser.add_argument("--no-roi", action="store_true", help="no ROI report")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="volano-bench-attrib-")
    database_url = args.database_url
    if args.quick and not database_url:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    from django.db import connection

    from volano.attribution import engine, journeys
    from volano.core.models import Workspace
    from volano.events.models import Event

    if args.quick:
        workspace = bench_workspace(SLUG)
        quick_fill(workspace, 2000)
    else:
        workspace = Workspace.objects.filter(slug=SLUG).first() or bench_workspace(SLUG)
        if args.generate or not Event.objects.for_workspace(workspace).exists():
            print(f"generating {args.journeys:,} contacts × 10 events …", flush=True)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(GENERATE_SQL, {"ws": workspace.pk, "n": args.journeys, "per": 10})
            print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    events = Event.objects.for_workspace(workspace).count()
    print(f"database: {connection.vendor}, events in the workspace: {events:,}", flush=True)

    if args.roi_only:
        roi_report(workspace)
        return 0
    backend_pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
    cpu_before = _cpu_seconds(backend_pid)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    cpu_started = time.process_time()
    touches = journeys.touches_load(workspace, start - dt.timedelta(days=90), end)
    touch_seconds = time.perf_counter() - started
    conversions = journeys.conversions_load(workspace, "sql", start, end)
    conv_seconds = time.perf_counter() - started - touch_seconds
    paths = journeys.paths_from(
        touches, conversions, dimension="channel", start=start, lookback_days=90
    )
    sql_seconds = time.perf_counter() - started
    print(
        f"this process's CPU for reading and building the journeys: "
        f"{time.process_time() - cpu_started:.1f} s",
        flush=True,
    )
    if backend_pid is not None and cpu_before is not None:
        cpu = _cpu_seconds(backend_pid) - cpu_before
        print(f"PostgreSQL backend CPU for the touches and conversions: {cpu:.1f} s", flush=True)
    journeys_count = paths.converted.sum() + paths.nulls.sum()
    print(
        f"journeys: {sql_seconds:.2f} s — touches read {touch_seconds:.2f} s "
        f"({len(touches.person):,} touches, {len(touches.combos):,} UTM combinations), "
        f"conversions {conv_seconds:.2f} s, built in NumPy "
        f"{sql_seconds - touch_seconds - conv_seconds:.2f} s — {journeys_count:,.0f} journeys, "
        f"{len(paths.lengths):,} paths, {len(paths.touches):,} touches on them, "
        f"{paths.converted.sum():,.0f} converted",
        flush=True,
    )
    model_seconds = {}
    for model in engine.MODELS:
        t = time.perf_counter()
        credit = engine.attribute(paths, model)
        model_seconds[model] = time.perf_counter() - t
        assert abs(credit.sum() - paths.total) < 1e-6 * max(paths.total, 1), model
        print(f"  {model:<11} {model_seconds[model]:.3f} s", flush=True)
    total = sql_seconds + sum(model_seconds.values())
    print(
        f"this process's CPU from the first statement to the last model: "
        f"{time.process_time() - cpu_started:.1f} s",
        flush=True,
    )
    print(f"all seven models, from the database: {total:.2f} s (target < 60 s)", flush=True)

    if not args.no_roi:
        roi_report(workspace)
    ours = engine.markov(paths)
    ours_by_key = dict(zip(paths.keys, ours, strict=True))
    print(f"Markov (exact, ours): {model_seconds['markov']:.3f} s on the paths", flush=True)
    if args.channelattribution:
        result = channelattribution_run(args.channelattribution, paths)
        if "error" in result:
            print(f"channelattribution failed: {result['error']}", flush=True)
        else:
            print(
                f"channelattribution markov_model: {result['seconds']:.2f} s inside "
                f"({result['wall_seconds']:.2f} s with its start-up and reading the paths)",
                flush=True,
            )
            for key in paths.keys:
                theirs = result["credit"].get(key, 0.0)
                print(f"    {key:<16} ours {ours_by_key[key]:>12,.1f}  theirs {theirs:>12,.1f}")
    elif not args.no_extras:
        seconds, effects = simulation_markov(paths, walks=200_000 if args.quick else 1_000_000)
        _, exact = engine.markov_removal_effects(paths)
        print(f"Monte-Carlo removal effects (our simulation): {seconds:.2f} s", flush=True)
        for i, key in enumerate(paths.keys):
            print(f"    {key:<16} exact {exact[i]:.4f}  simulated {effects[key]:.4f}")
    if not args.no_extras:
        random_paths_bench(1_000_000 if args.full else 20_000, args.channelattribution)
    ok = total < 60 or args.quick
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
