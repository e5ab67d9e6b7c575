"""Random but reproducible contacts, companies, consents and events for checking the compiler
against plain Python. Values are messy on purpose: case, surrounding spaces, missing keys, a
text where a number belongs, anonymous events."""

from __future__ import annotations

import datetime as dt
import random

from volano.contacts.models import Company, Consent, Contact
from volano.contacts.services import custom_field_create
from volano.events.models import Event

NOW = dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC)

CUSTOM_FIELDS = (
    ("fatturato", "Fatturato annuo", "money", "contact", None),
    ("interesse", "Interesse", "choice", "contact", ["macchine", "ricambi", "assistenza"]),
    ("scadenza", "Scadenza contratto", "date", "contact", None),
    ("newsletter", "Newsletter", "boolean", "contact", None),
    ("settori", "Settori", "multi_choice", "contact", ["agricoltura", "edilizia", "verde"]),
    ("note", "Note", "text", "contact", None),
    ("fatturato", "Fatturato", "money", "company", None),
    ("distributore", "Distributore", "boolean", "company", None),
)
TEXTS = {
    "first_name": ["Anna", " anna ", "ANNA", "Luca", "", "Lucia"],
    "job_title": ["Responsabile acquisti", "Ufficio Acquisti ", "CEO", "", "titolare"],
    "city": ["Milano", " milano", "MILANO ", "Bergamo", "Roma", "", "Brescia"],
    "province": ["MI", "BG", "RM", "mi", "", "BS"],
    "region": ["Lombardia", "lombardia ", "Lazio", "", "Veneto"],
    "source": ["fiera", "web", "", "import"],
    "language": ["it", "en", ""],
    "postal_code": ["20100", "24121", "00100", ""],
}
URLS = ["/prezzi", "/prezzi/ricambi", "/PREZZI ", "/chi-siamo", "/blog/prezzi-2026", "/contatti"]


def workspace_fill(workspace, *, seed: int, owners: list, contacts: int = 60) -> None:
    rng = random.Random(seed)
    for key, label, type_, entity, choices in CUSTOM_FIELDS:
        custom_field_create(
            workspace=workspace, key=key, label=label, type=type_, entity=entity, choices=choices
        )
    companies = Company.objects.bulk_create(
        [
            Company(
                workspace=workspace,
                name=rng.choice(["Rossi Srl", "rossi spa ", "Agri Bianchi", "Verdi & C."]),
                sector=rng.choice(["Agricoltura", "Edilizia", ""]),
                size_band=rng.choice(["1-9", "10-49", "50-249", ""]),
                province=rng.choice(["MI", "BG", "RM", ""]),
                region=rng.choice(["Lombardia", "Lazio", ""]),
                city=rng.choice(["Milano", "Roma", ""]),
                ateco_code=rng.choice(["28.30", "01.11", ""]),
                custom=_some(
                    rng,
                    {
                        "fatturato": rng.choice([500_000, 1_000_000, 2_500_000.5, "n/d"]),
                        "distributore": rng.choice([True, False]),
                    },
                ),
            )
            for _ in range(8)
        ]
    )
    rows = []
    for i in range(contacts):
        created = NOW - dt.timedelta(days=rng.uniform(0, 400))
        rows.append(
            Contact(
                workspace=workspace,
                email=f"c{i}-{seed}@example.it" if rng.random() < 0.9 else "",
                **{name: rng.choice(options) for name, options in TEXTS.items()},
                company=rng.choice(companies) if rng.random() < 0.7 else None,
                owner=rng.choice([*owners, None]),
                tags=rng.sample(
                    ["cliente", "vip", "Fiera-EIMA-2025", "prospect"], rng.randint(0, 2)
                ),
                custom=_some(
                    rng,
                    {
                        "fatturato": rng.choice([0, 250_000, 1_000_000, 1_500_000.5, "tanto"]),
                        "interesse": rng.choice(["macchine", "ricambi", "assistenza"]),
                        "scadenza": (
                            NOW.date() + dt.timedelta(days=rng.randint(-100, 100))
                        ).isoformat(),
                        "newsletter": rng.choice([True, False]),
                        "settori": rng.sample(
                            ["agricoltura", "edilizia", "verde"], rng.randint(0, 2)
                        ),
                        "note": rng.choice(["Chiamare", " cliente storico ", ""]),
                    },
                ),
                created_at=created,
                updated_at=created + dt.timedelta(days=rng.uniform(0, 30)),
            )
        )
    contacts_made = Contact.objects.bulk_create(rows)
    consents, events = [], []
    for contact in contacts_made:
        for purpose in ("email_marketing", "profiling"):
            status = rng.choice(["granted", "pending", "denied", "revoked", None])
            if status:
                consents.append(
                    Consent(workspace=workspace, contact=contact, purpose=purpose, status=status)
                )
        for _ in range(rng.randint(0, 14)):
            events.append(_event(rng, workspace, contact))
    for _ in range(15):
        events.append(_event(rng, workspace, None))
    Consent.objects.bulk_create(consents)
    Event.objects.bulk_create(events)


def _some(rng: random.Random, values: dict) -> dict:
    return {key: value for key, value in values.items() if rng.random() < 0.75}


def _event(rng: random.Random, workspace, contact) -> Event:
    kind = rng.choice(
        ["page_view", "page_view", "email_clicked", "order", "survey_answered", "webinar_attended"]
    )
    properties: dict
    match kind:
        case "page_view":
            properties = {"url": rng.choice(URLS), "dwell_seconds": rng.randint(1, 120)}
        case "email_clicked":
            properties = {"message": "nl-marzo", "url": rng.choice(URLS)}
        case "order":
            properties = {
                "number": f"OR-{rng.randint(1, 999)}",
                "total": rng.choice([100, 2500.5, 5000, 7000]),
                "product_lines": rng.sample(
                    ["ricambi", "macchine", "assistenza"], rng.randint(1, 2)
                ),
                "paid": rng.choice([True, False]),
            }
        case "survey_answered":
            properties = {"survey": "nps", "score": rng.choice([3, 7, 9, 10, "n/a"])}
        case _:
            properties = {"webinar": rng.choice(["potatura", "Manutenzione"])}
    return Event(
        workspace=workspace,
        contact=contact,
        anonymous_id=None if contact else f"anon-{rng.randint(1, 10**6)}",
        type=kind,
        occurred_at=NOW - dt.timedelta(days=rng.uniform(0, 200)),
        properties=properties,
    )


ISSUE_EXAMPLE = {
    "all": [
        {"field": "province", "op": "in", "value": ["MI", "BG"]},
        {"field": "custom.fatturato", "op": "gte", "value": 1000000},
        {"field": "company.size_band", "op": "eq", "value": "10-49"},
        {"field": "consent.email_marketing", "op": "eq", "value": "granted"},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
        {"not": {"event": "email_clicked", "within_days": 90}},
        {"any": [{"list": "fiera-2025"}, {"segment": "clienti-attivi"}]},
        {"event": "order", "where": {"product_line": "ricambi"}, "count": {"gte": 1}},
        {"not": {"event": "order", "where": {"product_line": "assistenza"}}},
    ]
}


class SegmentsInMemory:
    """A resolver as the segments domain will write it: definitions by slug, compiled on demand."""

    def __init__(self, workspace, definitions: dict, lists: dict):
        from volano.conditions.parse import condition_parse

        self.workspace, self.definitions, self.lists = workspace, definitions, lists
        self.conditions = {
            slug: condition_parse(definition, workspace=workspace)
            for slug, definition in definitions.items()
        }

    def resolve_list(self, slug):
        emails = self.lists[slug]
        return Contact.objects.for_workspace(self.workspace).filter(email__in=emails).values("pk")

    def resolve_segment(self, slug, chain):
        from volano.conditions.compiler import condition_q

        condition = self.conditions[slug]
        q = condition_q(workspace=self.workspace, condition=condition, resolver=self, chain=chain)
        return Contact.objects.for_workspace(self.workspace).filter(q).values("pk")
