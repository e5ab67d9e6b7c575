"""Personalised rendering: the demo's newsletter (variables and a block per product line) for N
contacts, as the sending side calls it — `variants_for` once per batch, `render_for_contact` each.

    python -m bench.email_render --quick                 # 5,000 contacts, temp SQLite file
    python -m bench.email_render --full [--database-url postgres://…]   # 100,000 contacts

`variants_for` is called once for the whole audience, the contacts loaded and rendered in
batches of 1,000. A quarter of the contacts bought spare parts, a quarter machines; the rest get the default
variant. Prints the set-based variant choice time and renders per second (subject, HTML, text).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from bench.generate import bench_workspace, django_setup

BATCH = 1000


def newsletter_audience(slug: str, n: int, *, consent: bool = False):
    """A bench workspace with the demo's newsletter and `n` contacts, a quarter of whom bought
    spare parts and a quarter machines (the block's conditions), optionally with granted
    email_marketing consent. Returns (workspace, template, contact ids in order)."""
    from django.utils import timezone

    from volano.contacts.models import Consent, Contact
    from volano.emails.demo import demo_email_templates_create
    from volano.emails.models import EmailTemplate
    from volano.events.models import Event

    workspace = bench_workspace(slug)
    demo_email_templates_create(workspace=workspace)
    template = EmailTemplate.objects.for_workspace(workspace).get(slug="newsletter-linee-prodotto")
    Contact.all_workspaces.bulk_create(
        [
            Contact(workspace=workspace, email=f"c{i}@bench.it", first_name=f"Nome{i}")
            for i in range(n)
        ],
        batch_size=5000,
    )
    ids = list(Contact.objects.for_workspace(workspace).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    if consent:
        Consent.all_workspaces.bulk_create(
            [
                Consent(
                    workspace=workspace, contact_id=cid, purpose="email_marketing",
                    status="granted", source="bench",
                )
                for cid in ids
            ],
            batch_size=5000,
        )  # fmt: skip
    Event.all_workspaces.bulk_create(
        [
            Event(
                workspace=workspace, contact_id=cid, type="order", occurred_at=now,
                channel="shop",
                properties={"product_lines": ["ricambi" if i % 4 == 0 else "macchine"]},
            )
            for i, cid in enumerate(ids)
            if i % 4 in (0, 1)
        ],
        batch_size=5000,
    )  # fmt: skip
    return workspace, template, ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="volano-bench-email-")
    database_url = args.database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    django_setup(database_url, data_dir)

    from volano.contacts.models import Contact
    from volano.emails.rendering import render_for_contact, variants_for

    n = 100_000 if args.full else 5_000
    workspace, template, ids = newsletter_audience("bench-email", n)
    began = time.perf_counter()
    variants = variants_for(template, ids)  # once for the whole audience
    choose, render = time.perf_counter() - began, 0.0
    for start in range(0, n, BATCH):
        part = ids[start : start + BATCH]
        began = time.perf_counter()
        contacts = Contact.objects.for_workspace(workspace).filter(pk__in=part)
        contacts = list(contacts.select_related("company", "owner"))
        chosen = time.perf_counter()
        for contact in contacts:
            render_for_contact(template, contact, variants=variants[contact.pk])
        render += time.perf_counter() - chosen
        choose += chosen - began
    vendor = "postgresql" if database_url.startswith("postgres") else "sqlite"
    print(
        f"{n:,} contacts on {vendor}: variants chosen and contacts loaded in {choose:.2f} s "
        f"({n / choose:,.0f}/s), rendered in {render:.2f} s ({n / render:,.0f} emails/s), "
        f"{n / (choose + render):,.0f} emails/s overall"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
