"""Server time of the contact page for a contact with a 10,000-event timeline (goal: < 150 ms).

    python -m bench.contact_page --quick     # the contact alone in its workspace, temp SQLite
    python -m bench.contact_page --full      # beside the demo generator's medium size (50k contacts, ~1M events)
    python -m bench.contact_page --quick --database-url postgres://postgres@127.0.0.1:5432/volano_bench_democli

Requests go through Django's test Client (the whole stack: middleware, view, template), signed in
as an admin of the workspace; it reports the median and p95 of the page and of the timeline's
second page (what the "more" button loads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

from bench.generate import bench_workspace, django_setup

TIMELINE_EVENTS = 10_000


def _timeline_rows(workspace_id: int, contact_id: int, now: dt.datetime) -> list[tuple]:
    """10,000 events of every kind, spread over a year, following the property conventions."""
    from volano.demo import catalog

    rows = []
    for n in range(TIMELINE_EVENTS):
        at = now - dt.timedelta(minutes=52 * n + 7)
        kind = n % 10
        utm = ("", "", "")
        campaign = content = ""
        if kind < 5:
            path, title, _w = catalog.PAGES[n % len(catalog.PAGES)]
            type_, channel = "page_view", "web"
            props: dict = {
                "url": catalog.SITE + path,
                "title": title,
                "dwell_seconds": 10 + n % 200,
                "referrer": "https://www.google.com/",
            }
            if n % 50 == 0:
                utm, campaign = ("google", "cpc", "ricambi-originali"), "ricambi-originali"
        elif kind < 8:
            type_ = ("email_sent", "email_opened", "email_clicked")[kind - 5]
            channel = "email"
            props = {"message": f"nl-{n // 30}", "subject": catalog.EMAIL_SUBJECTS[n % 12]}
            if type_ == "email_clicked":
                props["url"] = catalog.SITE + "/ricambi/"
            campaign = "newsletter"
        elif kind == 8:
            type_, channel = "order", "shop"
            props = {
                "number": f"WEB-B-{n:07d}",
                "total": 213.9,
                "currency": "EUR",
                "product_lines": ["ricambi"],
                "lines": [
                    {
                        "sku": "RC-LAMA-160",
                        "product_name": "Kit lame trinciaerba TR 160",
                        "product_line": "ricambi",
                        "quantity": 1,
                        "amount": 189.0,
                    },
                    {
                        "sku": "RC-CINGHIA-A42",
                        "product_name": "Cinghia trapezoidale A42",
                        "product_line": "ricambi",
                        "quantity": 1,
                        "amount": 24.9,
                    },
                ],
            }
        else:
            key, title, url = catalog.CONTENTS[n % len(catalog.CONTENTS)]
            type_, channel, content = "content_downloaded", "web", key
            props = {"content": key, "title": title, "url": catalog.SITE + url}
        rows.append(
            (workspace_id, contact_id, None, type_, at, at, channel, "bench", *utm, "", "",
             campaign, content, props, None)
        )  # fmt: skip
    return rows


def _measure(client, url: str, runs: int, headers: dict | None = None) -> list[float]:
    for _ in range(3):
        assert client.get(url, headers=headers).status_code == 200
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    django_setup(args.database_url)

    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from volano.contacts import services
    from volano.core.models import Role
    from volano.core.services import membership_set, user_create
    from volano.demo.load import demo_generate
    from volano.demo.writer import TableWriter, tables_analyze
    from volano.events.models import Event
    from volano.events.services import EVENT_COLUMNS

    workspace = bench_workspace("bench-contact-page")
    now = timezone.now()
    if args.full:
        print("loading the medium demo beside the contact…", flush=True)
        demo_generate(workspace=workspace, size="medium", now=now)
    contact = services.contact_create(
        workspace=workspace,
        actor=None,
        data={"email": "molto.attivo@example.it", "first_name": "Molto", "last_name": "Attivo"},
    )
    TableWriter(Event, EVENT_COLUMNS).write(_timeline_rows(workspace.pk, contact.pk, now))
    tables_analyze([Event])
    from volano.core.models import User

    user = User.objects.filter(email="bench@volano.local").first() or user_create(
        email="bench@volano.local", password=None
    )
    membership_set(workspace=workspace, user=user, role=Role.ADMIN)

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session["volano_workspace_id"] = workspace.pk
    session.save()
    page = _measure(client, reverse("contacts:detail", args=[contact.pk]), args.runs)
    more = _measure(
        client,
        reverse("contacts:timeline", args=[contact.pk]) + "?page=2",
        args.runs,
        headers={"HX-Request": "true"},
    )

    def summary(values: list[float]) -> str:
        p95 = sorted(values)[int(len(values) * 0.95) - 1]
        return f"median={statistics.median(values):.1f}ms p95={p95:.1f}ms"

    size = "medium-background" if args.full else "alone"
    print(f"contact_page: db={connection.vendor} events={TIMELINE_EVENTS:,} data={size} "
          f"page {summary(page)} | timeline page 2 {summary(more)} (goal < 150 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
