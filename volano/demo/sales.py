"""The demo's sales side: catalogue, territories, score models, threshold rules and a year of
lifecycle history (stages, deals, hand-offs), derived from the generated behaviour.

The history is written as rows (StageChange, Deal, Assignment and their timeline events), not by
replaying the services: replaying would hand hundreds of old leads to the reps and fill the
outbox. From the end of the load on, the rules are live: a new webinar attendance can push a
lead over the threshold, make it SQL and hand it to its rep, with the email.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Q

from volano.contacts.models import Contact
from volano.core.models import Membership, Role, User, Workspace
from volano.deals.models import Deal, DealLine, DealStage, Product, ProductLine
from volano.demo import catalog
from volano.demo.generator import TERRITORIES
from volano.events.models import Channel, Event, EventType
from volano.handoff.models import Assignment, AssignmentRule, AssignmentStatus, HandoffSettings
from volano.lifecycle.models import ChangeSource, LifecycleStage, StageChange, ThresholdRule
from volano.lifecycle.services import threshold_rule_save
from volano.orders.models import Order
from volano.scoring.models import ModelKind, ScoreModel
from volano.scoring.services import score_model_save, scores_compute

LINES = (
    ("macchine", "Macchine agricole"),
    ("ricambi", "Ricambi"),
    ("assistenza", "Assistenza e manutenzione"),
)
MQL_AT = 50
NEGATIVES = [
    {
        "kind": "negative",
        "when": {"field": "consent.email_marketing", "op": "eq", "value": "revoked"},
        "points": -50,
        "label": "Ha revocato il consenso email",
    },
    {
        "kind": "negative",
        "when": {"event": "email_bounced", "within_days": 180},
        "points": -20,
        "label": "Email rimbalzata negli ultimi 6 mesi",
    },
    {
        "kind": "negative",
        "when": {"field": "email", "op": "contains", "value": "studenti"},
        "points": -40,
        "label": "Studente",
    },
    {
        "kind": "negative",
        "when": {"field": "tags", "op": "contains", "value": "concorrente"},
        "points": -100,
        "label": "Concorrente",
    },
]


def _model(slug: str, name: str, interest: str, url: str, extra: list[dict]) -> dict:
    return {
        "slug": slug,
        "name": name,
        "product_line": slug,
        "rules": [
            {
                "kind": "fit",
                "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
                "points": 15,
                "label": "Si occupa di acquisti",
            },
            {
                "kind": "fit",
                "when": {"field": "custom.interesse", "op": "eq", "value": interest},
                "points": 15,
                "label": f"Interessato a {name.lower()}",
            },
            {
                "kind": "fit",
                "when": {"field": "company.size_band", "op": "in", "value": ["10-49", "50-249"]},
                "points": 10,
                "label": "Azienda da 10 a 249 dipendenti",
            },
            {
                "kind": "engagement",
                "when": {"event": "page_view", "where": {"url": {"contains": url}}},
                "points": 4,
                "max_times": 5,
                "half_life_days": 30,
                "label": f"Ha visitato le pagine {url}",
            },
            {
                "kind": "engagement",
                "when": {"event": "webinar_attended"},
                "points": 30,
                "max_times": 2,
                "half_life_days": 60,
                "label": "Ha partecipato a un webinar",
            },
            {
                "kind": "engagement",
                "when": {"event": "form_submitted", "where": {"form": "richiesta-preventivo"}},
                "points": 25,
                "max_times": 2,
                "half_life_days": 90,
                "label": "Ha chiesto un preventivo",
            },
            {
                "kind": "engagement",
                "when": {"event": "content_downloaded"},
                "points": 10,
                "max_times": 3,
                "half_life_days": 60,
                "label": "Ha scaricato un contenuto",
            },
            {
                "kind": "engagement",
                "when": {"event": "email_clicked"},
                "points": 3,
                "max_times": 5,
                "half_life_days": 30,
                "label": "Ha cliccato un'email",
            },
            *extra,
            *NEGATIVES,
        ],
    }


MODELS = (
    _model(
        "ricambi",
        "Ricambi",
        "ricambi",
        "/ricambi",
        [
            {
                "kind": "fit",
                "when": {"field": "tags", "op": "contains", "value": "rivenditore"},
                "points": 10,
                "label": "Rivenditore",
            }
        ],
    ),
    _model(
        "macchine",
        "Macchine agricole",
        "macchine",
        "/prodotti",
        [
            {
                "kind": "engagement",
                "when": {"event": "event_attended"},
                "points": 25,
                "max_times": 2,
                "half_life_days": 120,
                "label": "Incontrato in fiera",
            }
        ],
    ),
)
RECENT_INTEREST = {
    "any": [
        {"event": "webinar_attended", "within_days": 30},
        {"event": "form_submitted", "where": {"form": "richiesta-preventivo"}, "within_days": 30},
    ]
}
RULES = (
    {
        "name": "Punteggio ≥ 50 → MQL",
        "from_stages": ["lead", "recycled"],
        "to_stage": "mql",
        "condition": {
            "any": [
                {"field": "score.ricambi", "op": "gte", "value": MQL_AT},
                {"field": "score.macchine", "op": "gte", "value": MQL_AT},
            ]
        },
    },
    {
        "name": "MQL ricambi con webinar o preventivo → SQL",
        "from_stages": ["mql"],
        "to_stage": "sql",
        "product_line": "ricambi",
        "condition": {
            "all": [{"field": "score.ricambi", "op": "gte", "value": MQL_AT}, RECENT_INTEREST]
        },
    },
    {
        "name": "MQL macchine con webinar o preventivo → SQL",
        "from_stages": ["mql"],
        "to_stage": "sql",
        "product_line": "macchine",
        "condition": {
            "all": [{"field": "score.macchine", "op": "gte", "value": MQL_AT}, RECENT_INTEREST]
        },
    },
)
DEAL_STAGES = {
    "offerta_inviata": DealStage.OFFER_SENT,
    "trattativa": DealStage.NEGOTIATION,
    "vinta": DealStage.WON,
    "persa": DealStage.LOST,
}
LOST_REASONS = ("prezzo troppo alto", "ha scelto un concorrente", "progetto rinviato")
DISQUALIFY_REASONS = ("non in target", "studente", "nessun budget", "dati non validi")
REJECT_REASONS = ("budget non disponibile", "già seguito da un rivenditore", "non interessato")


def demo_sales_create(*, workspace: Workspace, now: dt.datetime, seed: int = 2026) -> None:
    """The sales side of the demo (called by `demo_load` after the generated data)."""
    rng = random.Random(seed)
    admin = User.objects.filter(memberships__workspace=workspace, memberships__role=Role.ADMIN)
    reps = {zone: User.objects.get(email=email) for _name, email, zone, _regions in TERRITORIES}
    with transaction.atomic():
        _catalogue(workspace)
        _territories(workspace, reps, admin.first())
        for model in MODELS:
            score_model_save(workspace=workspace, actor=None, data=model)
        for rule in RULES:
            threshold_rule_save(workspace=workspace, actor=None, data=rule)
        _history(workspace, now, rng, reps)
    for model in ScoreModel.objects.for_workspace(workspace).filter(kind=ModelKind.RULES):
        scores_compute(workspace=workspace, model=model, now=now)
    with transaction.atomic():
        _qualified(workspace, now, rng, reps)


def _catalogue(workspace: Workspace) -> None:
    lines = {
        slug: ProductLine.objects.create(workspace=workspace, slug=slug, name=name)
        for slug, name in LINES
    }
    Product.objects.bulk_create(
        Product(
            workspace=workspace,
            sku=sku,
            name=name,
            product_line=lines[line],
            price=Decimal(str(price)),
        )
        for sku, name, line, price, *_rest in catalog.PRODUCTS
    )


def _territories(workspace: Workspace, reps: dict[str, User], fallback: User | None) -> None:
    for position, (_name, _email, zone, regions) in enumerate(TERRITORIES):
        AssignmentRule.objects.create(
            workspace=workspace,
            name=zone,
            position=position,
            regions=list(regions),
            product_lines=[slug for slug, _ in LINES],
            reps=[reps[zone].pk],
        )
    Membership.objects.filter(workspace=workspace, role=Role.SALES).update(lead_capacity=60)
    HandoffSettings.objects.create(workspace=workspace, fallback_owner=fallback, sla_hours=8)


class _Writer:
    """Collects stage changes (and their timeline events) and contacts' final stages."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.changes: list[StageChange] = []
        self.events: list[Event] = []
        self.final: dict[int, tuple[str, dt.datetime]] = {}
        self.entered: dict[tuple[int, str], dt.datetime] = {}

    def move(
        self,
        contact_id: int,
        old: str,
        new: str,
        at: dt.datetime,
        source: str,
        *,
        rule: ThresholdRule | None = None,
        actor: User | None = None,
        reason: str = "",
    ) -> None:
        self.changes.append(
            StageChange(
                workspace=self.workspace,
                contact_id=contact_id,
                from_stage=old,
                to_stage=new,
                changed_at=at,
                source=source,
                rule=rule,
                actor=actor,
                reason=reason,
            )
        )
        properties = {"from": old, "to": new, "source": source}
        if reason:
            properties["reason"] = reason
        if rule is not None:
            properties["rule"] = rule.name
        if actor is not None:
            properties["by"] = actor.email
        self.events.append(
            Event(
                workspace=self.workspace,
                contact_id=contact_id,
                type=EventType.LIFECYCLE_CHANGED,
                occurred_at=at,
                received_at=at,
                channel=Channel.SYSTEM,
                source="volano",
                properties=properties,
            )
        )
        self.final[contact_id] = (new, at)
        self.entered[(contact_id, new)] = at

    def final_at(self, contact_id: int, stage: str) -> dt.datetime | None:
        """When the contact last entered `stage` in the changes written so far."""
        return self.entered.get((contact_id, stage))

    def save(self) -> None:
        StageChange.objects.bulk_create(self.changes, batch_size=2_000)
        Event.objects.bulk_create(self.events, batch_size=2_000)
        updates = [
            Contact(pk=contact_id, lifecycle_stage=stage, lifecycle_changed_at=at)
            for contact_id, (stage, at) in self.final.items()
        ]
        Contact.all_workspaces.bulk_update(
            updates, ["lifecycle_stage", "lifecycle_changed_at"], batch_size=2_000
        )


def _history(
    workspace: Workspace, now: dt.datetime, rng: random.Random, reps: dict[str, User]
) -> None:
    """Customers went through the funnel before their first order; deals from the generated
    deal events; some contacts were disqualified, some customers were lost."""
    rules = {r.to_stage: r for r in ThresholdRule.objects.for_workspace(workspace)}
    contacts = Contact.objects.for_workspace(workspace)
    orders = {
        row["contact_id"]: (row["first"], row["last"])
        for row in Order.objects.for_workspace(workspace)
        .filter(contact_id__isnull=False)
        .values("contact_id")
        .annotate(first=Min("ordered_at"), last=Max("ordered_at"))
    }
    engaged = set(
        Event.objects.for_workspace(workspace)
        .filter(
            Q(type__in=["webinar_attended", "content_downloaded", "event_attended"])
            | Q(type="form_submitted", properties__form="richiesta-preventivo")
        )
        .values_list("contact_id", flat=True)
        .distinct()
    )
    deal_events = defaultdict(list)
    for contact_id, at, properties in (
        Event.objects.for_workspace(workspace)
        .filter(type=EventType.DEAL_CHANGED, contact_id__isnull=False)
        .order_by("occurred_at")
        .values_list("contact_id", "occurred_at", "properties")
    ):
        deal_events[contact_id].append((at, properties))
    writer = _Writer(workspace)
    assignments: list[Assignment] = []
    owners = dict(contacts.values_list("pk", "owner_id"))
    rep_by_id = {user.pk: user for user in reps.values()}
    products = {p.sku: p for p in Product.objects.for_workspace(workspace)}
    for contact_id, created in contacts.order_by("pk").values_list("pk", "created_at"):
        owner = rep_by_id.get(owners.get(contact_id) or 0)
        if contact_id in orders:
            first, last = orders[contact_id]
            _funnel_to_customer(writer, rules, contact_id, created, first, owner, rng)
            _accepted(assignments, writer, contact_id, owner, rng)
            if last < now - dt.timedelta(days=270) and rng.random() < 0.5:
                writer.move(
                    contact_id,
                    LifecycleStage.CUSTOMER,
                    LifecycleStage.LOST_CUSTOMER,
                    last + dt.timedelta(days=180),
                    ChangeSource.USER,
                    actor=owner,
                    reason="nessun ordine da oltre sei mesi",
                )
        elif contact_id in deal_events:
            _deal_story(
                workspace,
                writer,
                rules,
                contact_id,
                created,
                deal_events[contact_id],
                owner,
                products,
                rng,
            )
            _accepted(assignments, writer, contact_id, owner, rng)
        elif contact_id in engaged and rng.random() < 0.3:
            _rejected_story(writer, rules, assignments, contact_id, created, now, owner, rng)
        elif (contact_id not in engaged and rng.random() < 0.3) or rng.random() < 0.04:
            at = min(created + dt.timedelta(days=rng.randint(3, 60)), now - dt.timedelta(hours=1))
            writer.move(
                contact_id,
                LifecycleStage.LEAD,
                LifecycleStage.DISQUALIFIED,
                max(at, created),
                ChangeSource.USER,
                actor=owner,
                reason=rng.choice(DISQUALIFY_REASONS),
            )
    writer.save()
    Assignment.objects.bulk_create(assignments, batch_size=2_000)


def _by_rule(writer, rules, contact_id, old: str, new: str, at: dt.datetime) -> None:
    rule = rules.get(new)
    reason = rule.name if rule else ""
    writer.move(contact_id, old, new, at, ChangeSource.RULE, rule=rule, reason=reason)


def _accepted(assignments, writer, contact_id, owner, rng) -> None:
    """The hand-off of a lead that went on to an offer: accepted within a working day."""
    sql_at = writer.final_at(contact_id, "sql")
    if owner is None or sql_at is None:
        return
    assignments.append(
        Assignment(
            workspace=writer.workspace,
            contact_id=contact_id,
            rep=owner,
            product_line="",
            # the work is over once the lead is a customer or back in nurturing
            status=AssignmentStatus.ACCEPTED
            if writer.final[contact_id][0] in (LifecycleStage.SQL, LifecycleStage.OPPORTUNITY)
            else AssignmentStatus.CLOSED,
            why="MQL con webinar o preventivo",
            assigned_at=sql_at,
            due_at=sql_at + dt.timedelta(hours=8),
            answered_at=sql_at + dt.timedelta(hours=rng.randint(1, 20)),
            notified_at=sql_at,
        )
    )


def _rejected_story(writer, rules, assignments, contact_id, created, now, owner, rng) -> None:
    """An engaged lead qualified months ago, handed to its rep, sent back to nurturing."""
    if owner is None:
        return
    start = max(created, now - dt.timedelta(days=330))
    if now - start < dt.timedelta(days=45):
        return
    mql = start + dt.timedelta(days=rng.randint(1, 20))
    sql = mql + dt.timedelta(days=rng.randint(1, 15))
    answered = sql + dt.timedelta(hours=rng.randint(1, 30))
    reason = rng.choice(REJECT_REASONS)
    _by_rule(writer, rules, contact_id, "lead", "mql", mql)
    _by_rule(writer, rules, contact_id, "mql", "sql", sql)
    writer.move(
        contact_id, "sql", "recycled", answered, ChangeSource.HANDOFF, actor=owner, reason=reason
    )
    assignments.append(
        Assignment(
            workspace=writer.workspace,
            contact_id=contact_id,
            rep=owner,
            status=AssignmentStatus.REJECTED,
            why="MQL con webinar o preventivo",
            assigned_at=sql,
            due_at=sql + dt.timedelta(hours=8),
            answered_at=answered,
            reason=reason,
            notified_at=sql,
        )
    )


def _funnel_to_customer(writer, rules, contact_id, created, first_order, owner, rng) -> None:
    span = first_order - created
    if span < dt.timedelta(days=6) or rng.random() < 0.35:
        # bought straight away (the web shop, the ERP): Lead → Customer
        writer.move(
            contact_id, "lead", "customer", first_order, ChangeSource.ORDER, reason="primo ordine"
        )
        return
    steps = sorted(rng.random() for _ in range(3))
    mql, sql, opportunity = (created + span * (0.1 + 0.8 * s) for s in steps)
    _by_rule(writer, rules, contact_id, "lead", "mql", mql)
    _by_rule(writer, rules, contact_id, "mql", "sql", sql)
    writer.move(
        contact_id,
        "sql",
        "opportunity",
        opportunity,
        ChangeSource.DEAL,
        actor=owner,
        reason="offerta inviata",
    )
    writer.move(
        contact_id,
        "opportunity",
        "customer",
        first_order,
        ChangeSource.ORDER,
        reason="primo ordine",
    )


def _deal_story(
    workspace, writer, rules, contact_id, created, events, owner, products, rng
) -> None:
    first_at, first = events[0]
    last_at, last = events[-1]
    stage = DEAL_STAGES.get(last.get("stage", ""), DealStage.OFFER_SENT)
    # the generated offer's lines, at the catalogue's prices: the amount is their sum
    lines = [(products[line["sku"]], Decimal(str(line["quantity"]))) for line in first["lines"]]
    amounts = [(product.price * quantity).quantize(Decimal("0.01")) for product, quantity in lines]
    amount = sum(amounts, Decimal("0.00"))
    product = lines[0][0]
    deal = Deal.objects.create(
        workspace=workspace,
        name=f"{product.name} — {first.get('deal', contact_id)}",
        contact_id=contact_id,
        owner=owner,
        stage=stage,
        amount=amount,
        expected_close=(last_at + dt.timedelta(days=30)).date(),
        closed_at=last_at if stage in (DealStage.WON, DealStage.LOST) else None,
        lost_reason=rng.choice(LOST_REASONS) if stage == DealStage.LOST else "",
        created_at=first_at,
        updated_at=last_at,
    )
    DealLine.objects.bulk_create(
        DealLine(
            workspace=workspace,
            deal=deal,
            product=product,
            quantity=quantity,
            unit_price=product.price,
            amount=line_amount,
        )
        for (product, quantity), line_amount in zip(lines, amounts, strict=True)
    )
    mql = created + (first_at - created) * 0.3
    sql = created + (first_at - created) * 0.6
    _by_rule(writer, rules, contact_id, "lead", "mql", mql)
    _by_rule(writer, rules, contact_id, "mql", "sql", sql)
    writer.move(
        contact_id, "sql", "opportunity", first_at, ChangeSource.DEAL, actor=owner, reason=deal.name
    )
    if stage == DealStage.WON:
        writer.move(
            contact_id,
            "opportunity",
            "customer",
            last_at,
            ChangeSource.DEAL,
            actor=owner,
            reason=f"trattativa vinta: {deal.name}",
        )
    elif stage == DealStage.LOST:
        writer.move(
            contact_id,
            "opportunity",
            "recycled",
            last_at,
            ChangeSource.DEAL,
            actor=owner,
            reason=f"trattativa persa: {deal.lost_reason}",
        )


def _qualified(
    workspace: Workspace, now: dt.datetime, rng: random.Random, reps: dict[str, User]
) -> None:
    """Today's MQLs and SQLs by the live rules' own conditions, with the hand-offs of the
    last months (accepted, rejected back to nurturing, a few still waiting)."""
    from volano.conditions.parse import condition_parse
    from volano.conditions.selectors import contacts_matching

    writer = _Writer(workspace)
    rules = list(ThresholdRule.objects.for_workspace(workspace).order_by("position"))
    mql_rule, sql_rules = rules[0], rules[1:]
    mql_ids = list(
        contacts_matching(
            workspace=workspace,
            condition=condition_parse(mql_rule.condition, workspace=workspace),
            now=now,
        )
        .filter(lifecycle_stage__in=mql_rule.from_stages)
        .values_list("pk", "created_at", "lifecycle_stage", "region", "owner_id")
    )
    sql_line: dict[int, str] = {}
    for rule in sql_rules:
        matching = contacts_matching(
            workspace=workspace,
            condition=condition_parse(rule.condition, workspace=workspace),
            now=now,
        ).values_list("pk", flat=True)
        for contact_id in matching:
            sql_line.setdefault(contact_id, rule.product_line)
    rep_by_id = {user.pk: user for user in reps.values()}
    rep_by_region = {
        region: reps[zone] for _name, _email, zone, regions in TERRITORIES for region in regions
    }
    rule_by_zone = {r.name: r for r in AssignmentRule.objects.for_workspace(workspace)}
    zone_of = {user.pk: zone for zone, user in reps.items()}
    assignments = []
    for contact_id, created, old, region, owner_id in mql_ids:
        at = max(created, now - dt.timedelta(days=rng.randint(1, 120)))
        writer.move(
            contact_id, old, "mql", at, ChangeSource.RULE, rule=mql_rule, reason=mql_rule.name
        )
        rep = rep_by_id.get(owner_id or 0) or rep_by_region.get(region)
        if contact_id not in sql_line or rep is None:
            continue
        sql_at = min(at + dt.timedelta(days=rng.randint(1, 20)), now - dt.timedelta(hours=2))
        sql_rule = next(r for r in sql_rules if r.product_line == sql_line[contact_id])
        writer.move(
            contact_id, "mql", "sql", sql_at, ChangeSource.RULE, rule=sql_rule, reason=sql_rule.name
        )
        outcome = rng.random()
        recent = now - sql_at < dt.timedelta(days=1)
        status = (
            AssignmentStatus.PENDING
            if recent or outcome < 0.1
            else AssignmentStatus.REJECTED
            if outcome < 0.3
            else AssignmentStatus.ACCEPTED
        )
        answered = sql_at + dt.timedelta(hours=rng.randint(1, 30))
        reason = rng.choice(REJECT_REASONS) if status == AssignmentStatus.REJECTED else ""
        assignments.append(
            Assignment(
                workspace=workspace,
                contact_id=contact_id,
                rep=rep,
                rule=rule_by_zone.get(zone_of.get(rep.pk, "")),
                product_line=sql_line[contact_id],
                status=status,
                why=sql_rule.name,
                assigned_at=sql_at,
                due_at=sql_at + dt.timedelta(hours=8),
                answered_at=None if status == AssignmentStatus.PENDING else answered,
                reason=reason,
                notified_at=sql_at,
            )
        )
        if status == AssignmentStatus.REJECTED:
            writer.move(
                contact_id,
                "sql",
                "recycled",
                answered,
                ChangeSource.HANDOFF,
                actor=rep,
                reason=reason,
            )
    Assignment.objects.bulk_create(assignments)
    writer.save()
