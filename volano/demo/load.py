"""Loading the demo workspace "officina-rossi": its team, its custom fields and its generated data.

`demo_load` is idempotent: when the workspace exists it is reused as it is (`force` wipes and
reloads it). The admin's password is generated once and kept in DATA_DIR/demo-login.txt, so every
run prints the same login.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from volano.contacts.models import Company, Consent, Contact, CustomField
from volano.contacts.services import custom_field_create
from volano.core import services as core_services
from volano.core.models import Role, User, Workspace
from volano.demo.generator import (
    COMPANY_COLUMNS,
    CONSENT_COLUMNS,
    CONTACT_COLUMNS,
    ORDER_COLUMNS,
    ORDER_LINE_COLUMNS,
    SIZES,
    TERRITORIES,
    VISITOR_COLUMNS,
    DemoGenerator,
)
from volano.demo.writer import (
    IdRange,
    TableWriter,
    TimeOrderedEvents,
    sequences_reset,
    tables_analyze,
)
from volano.events.models import Event, Form, Visitor
from volano.events.services import EVENT_COLUMNS
from volano.events.webforms import form_create
from volano.orders.models import Order, OrderLine

SLUG = "officina-rossi"
NAME = "Officina Rossi S.r.l."
URL = "http://127.0.0.1:8000"
ADMIN_EMAIL = "demo@volano.local"
TEAM = (
    # (email, full name, role, regions, product lines)
    ("giulia.verdi@officinarossi.it", "Giulia Verdi", Role.MARKETER, (), ()),
    *(
        (email, name, Role.SALES, regions, ("macchine", "ricambi", "assistenza"))
        for name, email, _zone, regions in TERRITORIES
    ),
)
LOADED_MODELS = (Company, Contact, Consent, Visitor, Order, OrderLine, Event)


@dataclass(frozen=True)
class DemoLogin:
    url: str
    email: str
    password: str
    created: bool  # False when an existing demo was reused
    contacts: int
    events: int
    seconds: float


def demo_load(
    *,
    size: str = "small",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DemoLogin:
    """Create (or reuse) the demo workspace and return the login to print."""
    started = time.monotonic()
    workspace = Workspace.objects.filter(slug=SLUG).first()
    if workspace and force:
        workspace_wipe(workspace=workspace)
        workspace = None
    created = workspace is None
    if workspace is None:
        workspace = core_services.workspace_create(slug=SLUG, name=NAME)
    password = _admin_password()
    owners = _team(workspace, password)
    if created:
        demo_custom_fields_create(workspace=workspace)
        demo_forms_create(workspace=workspace)
        demo_generate(
            workspace=workspace, size=size, owners=owners, now=timezone.now(), progress=progress
        )
        from volano.demo.sales import demo_sales_create
        from volano.demo.segments import demo_segments_create
        from volano.emails.demo import demo_broadcasts_create, demo_email_templates_create

        now = timezone.now()
        demo_sales_create(workspace=workspace, now=now)
        demo_segments_create(workspace=workspace, now=now)
        demo_email_templates_create(workspace=workspace)
        from volano.campaigns.demo import demo_campaigns_create

        demo_campaigns_create(workspace=workspace, now=now)
        from volano.campaigns.costs.demo import demo_costs_create

        demo_costs_create(workspace=workspace, now=now)
        demo_broadcasts_create(workspace=workspace, now=now)
        from volano.budgets.demo import demo_budgets_create

        demo_budgets_create(workspace=workspace, now=now)
        from volano.budgets.plan_demo import demo_plan_create

        demo_plan_create(workspace=workspace, now=now)
        from volano.workflows.demo import demo_workflows_create

        demo_workflows_create(workspace=workspace, now=now)
        from volano.reports.demo import demo_value_create
        from volano.surveys.demo import demo_surveys_create

        demo_surveys_create(workspace=workspace, now=now)
        demo_predictive_train(workspace=workspace, now=now)
        from volano.maturity.demo import demo_maturity_create

        demo_maturity_create(workspace=workspace, now=now)
        from volano.goals.demo import demo_goals_create

        demo_goals_create(workspace=workspace, now=now)
        # after the predictive training: its churn_risk events are today's, not history
        demo_value_create(workspace=workspace, now=now)
        # the generator and the demos write events straight into the table: the contacts'
        # first campaign and content touches (the ROI reports' joins) are built once, here
        from volano.campaigns.touches import first_touches_refresh

        first_touches_refresh(workspace=workspace)
    return DemoLogin(
        url=URL,
        email=ADMIN_EMAIL,
        password=password,
        created=created,
        contacts=Contact.objects.for_workspace(workspace).count(),
        events=Event.objects.for_workspace(workspace).count(),
        seconds=time.monotonic() - started,
    )


def demo_generate(
    *,
    workspace: Workspace,
    size: str,
    now: dt.datetime,
    owners: dict[str, int] | None = None,
    seed: int = 2026,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Fill a workspace with generated data, chunk by chunk; returns the rows written."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}")
    generator = DemoGenerator(
        workspace_id=workspace.pk, size=SIZES[size], now=now, owners=owners, seed=seed
    )
    writers = {
        "companies": TableWriter(Company, COMPANY_COLUMNS),
        "contacts": TableWriter(Contact, CONTACT_COLUMNS),
        "consents": TableWriter(Consent, CONSENT_COLUMNS),
        "visitors": TableWriter(Visitor, VISITOR_COLUMNS),
        "orders": TableWriter(Order, ORDER_COLUMNS),
        "order_lines": TableWriter(OrderLine, ORDER_LINE_COLUMNS),
    }
    events = TimeOrderedEvents(Event, EVENT_COLUMNS)
    companies = generator.companies_generate(IdRange(Company).next)
    with transaction.atomic():
        for start in range(0, len(companies), 5_000):
            writers["companies"].write(companies[start : start + 5_000])
    first_contact, first_order = IdRange(Contact).next, IdRange(Order).next
    done = 0
    for chunk in generator.contact_chunks(first_contact, first_order):
        with transaction.atomic():
            for name in ("contacts", "consents", "visitors", "orders", "order_lines"):
                writers[name].write(getattr(chunk, name))
            events.write(chunk.events)
        done += len(chunk.contacts)
        if progress:
            progress(done, SIZES[size].contacts)
    with transaction.atomic():
        events.finish()
    sequences_reset([Company, Contact, Order])
    tables_analyze(LOADED_MODELS)
    return sum(w.rows_written for w in writers.values()) + events.rows_written


def demo_predictive_train(*, workspace: Workspace, now: dt.datetime) -> dict | None:
    """Train the predictive model on the demo's history and score the open leads, so the
    contact pages show a probability from the first login; None when there is too little
    history (a size too small to learn from)."""
    from volano.core.errors import ApplicationError
    from volano.scoring.predictive import predictive_score, predictive_train

    try:
        report = predictive_train(workspace=workspace, now=now)
    except ApplicationError:
        return None
    predictive_score(workspace=workspace, now=now)
    return report


def workspace_wipe(*, workspace: Workspace) -> None:
    """Delete a workspace and its data with one DELETE per table (no row-by-row cascade)."""
    from volano.campaigns.models import Campaign, ChannelRule, ContentAsset, CostEntry
    from volano.deals.models import Deal, DealLine, Product, ProductLine
    from volano.handoff.models import Assignment, AssignmentRule, HandoffSettings
    from volano.lifecycle.models import StageChange, StageName, ThresholdRule
    from volano.notifications.models import Notification
    from volano.scoring.models import Score, ScoreModel
    from volano.segments.models import (
        ContactList,
        ListMembership,
        Segment,
        SegmentMembership,
        SegmentSize,
    )
    from volano.workflows.models import WorkflowMailing

    tables = (
        # a workflow's mailing is PROTECTed by its link row: once a workflow had sent an email,
        # the workspace's cascade stopped on it (`demo --force` failed)
        WorkflowMailing,
        CostEntry, ContentAsset, Campaign, ChannelRule,
        SegmentMembership, ListMembership, SegmentSize, Segment, ContactList,
        Score, ScoreModel, StageChange, StageName, ThresholdRule,
        Notification, Assignment, AssignmentRule, HandoffSettings,
        DealLine, Deal, Product, ProductLine,
        Event, OrderLine, Order, Visitor, Consent, Contact, Company, CustomField, Form,
    )  # fmt: skip
    with transaction.atomic():
        for model in tables:
            model.objects.for_workspace(workspace)._raw_delete(connection.alias)
        workspace.delete()


def _login_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-login.txt"


def _admin_password() -> str:
    """The demo password: read from the login file, or made once and written there."""
    path = _login_file()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("password:"):
                return line.split(":", 1)[1].strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"url: {URL}\nemail: {ADMIN_EMAIL}\npassword: {password}\n"
        "# The demo team (marketer giulia.verdi@…, reps marco.neri@, elena.galli@, luca.conti@,\n"
        "# sara.esposito@officinarossi.it) shares this password.\n"
    )
    path.chmod(0o600)
    return password


def _team(workspace: Workspace, password: str) -> dict[str, int]:
    """The admin, the marketer and the four reps; returns {region: rep user id}."""
    owners: dict[str, int] = {}
    password_hash = make_password(password)  # hashed once: the team shares it
    for email, full_name, role, regions, lines in (
        (ADMIN_EMAIL, "Demo Volano", Role.ADMIN, (), ()),
        *TEAM,
    ):
        user = User.objects.filter(email=email).first()
        fresh = user is None
        if user is None:
            user = core_services.user_create(email=email, password=None, full_name=full_name)
        # a new user takes the shared hash as it is; only an existing one is checked (a
        # password check costs as much as hashing one)
        if fresh or (user.password != password_hash and not user.check_password(password)):
            user.password = password_hash
            user.save(update_fields=["password"])
        core_services.membership_set(
            workspace=workspace,
            user=user,
            role=role,
            regions=list(regions),
            product_lines=list(lines),
        )
        for region in regions:
            owners[region] = user.pk
    return owners


def demo_custom_fields_create(*, workspace: Workspace) -> None:
    """The demo's custom fields (the benchmarks add them to their own workspaces too)."""
    for key, label, type_, entity, choices in (
        ("interesse", "Interesse", "choice", "contact", ["macchine", "ricambi", "assistenza"]),
        ("scadenza_contratto", "Scadenza contratto di assistenza", "date", "contact", None),
        ("fatturato", "Fatturato annuo", "money", "company", None),
        ("macchine_installate", "Macchine installate", "number", "company", None),
    ):
        custom_field_create(
            workspace=workspace, key=key, label=label, type=type_, entity=entity, choices=choices
        )


NEWSLETTER_CONSENT = (
    "Acconsento a ricevere via email la newsletter e le offerte di Officina Rossi "
    "(informativa privacy v3)."
)


def demo_forms_create(*, workspace: Workspace) -> None:
    """The forms of the demo site: every form slug its generated submissions use is declared."""
    from volano.demo import catalog

    person = ["first_name", "last_name", "phone", "company"]
    forms = [
        ("richiesta-preventivo", "Richiesta preventivo", [*person, "message", "custom.interesse"]),
        ("contatti", "Contatti", [*person, "message"]),
        ("newsletter", "Newsletter", ["first_name"]),
        ("richiesta-assistenza", "Richiesta assistenza", [*person, "message"]),
        *(
            (f"download-{key}", f"Download: {title}", ["first_name", "last_name", "company"])
            for key, title, _url in catalog.CONTENTS
        ),
    ]
    for slug, name, fields in forms:
        form_create(
            workspace=workspace,
            actor=None,
            data={
                "slug": slug,
                "name": name,
                "fields": ["email", *fields],
                "asks_email_consent": slug == "newsletter" or slug.startswith("download-"),
                "consent_text": NEWSLETTER_CONSENT,
                # a sign-up on the demo site is confirmed by email before any marketing mail
                "double_opt_in": True,
            },
        )
