"""A condition in plain Italian or English, for the segment builder and the rule editors.

The phrases are a small explicit table per language rather than gettext messages: a sentence
is assembled from pieces whose order and agreement differ between the languages ("visited a
page" / "ha visitato una pagina"), and a table keeps each language's whole vocabulary in one
place, complete and tested, without depending on the compiled catalogue. See docs/conditions.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.formats import date_format

from volano.conditions.fields import CONSENT_VALUES
from volano.conditions.types import (
    AllOf,
    AnyOf,
    Bounds,
    Condition,
    EventCondition,
    FieldCondition,
    FieldSpec,
    ListCondition,
    Not,
    PropertyFilter,
    SegmentCondition,
    When,
)

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "and": " and ",
        "or": " or ",
        "not": "not ({})",
        "eq": "{field} is {value}",
        "neq": "{field} is not {value}",
        "in": "{field} is one of {value}",
        "not_in": "{field} is none of {value}",
        "contains": "{field} contains {value}",
        "contains_many": "{field} contain {value}",
        "starts_with": "{field} starts with {value}",
        "gt": "{field} is more than {value}",
        "gte": "{field} is at least {value}",
        "lt": "{field} is less than {value}",
        "lte": "{field} is at most {value}",
        "between": "{field} is between {low} and {high}",
        "is_set": "{field} is filled in",
        "is_not_set": "{field} is empty",
        "older_than_days": "{field} is more than {value} days ago",
        "within_last_days": "{field} is in the last {value} days",
        "date_gt": "{field} is after {value}",
        "date_lt": "{field} is before {value}",
        "date_gte": "{field} is on or after {value}",
        "date_lte": "{field} is on or before {value}",
        "true": "yes",
        "false": "no",
        "list_sep": ", ",
        "list": "is in the list {value}",
        "segment": "is in the segment {value}",
        "custom": "{label}",
        "company": "company {field}",
        "consent": "consent to {field}",
        "score": "the {model} score",
        "page_contains": "a page containing {value}",
        "page_is": "the page {value}",
        "form_is": "the form “{value}”",
        "named": "“{value}”",
        "with": "with {filters}",
        "property_eq": "{field} {value}",
        "count_eq": "exactly {n} times",
        "count_gte": "at least {n} times",
        "count_gt": "more than {n} times",
        "count_lte": "at most {n} times",
        "count_lt": "fewer than {n} times",
        "once": "at least once",
        "within_days": "in the last {n} days",
        "between_days": "between {low} and {high}",
        "sum": "for a total {property} {bounds}",
        "first": ", the first time {when}",
        "last": ", the last time {when}",
        "when_older_than_days": "more than {n} days ago",
        "when_within_days": "in the last {n} days",
        "when_before": "before {value}",
        "when_after": "after {value}",
        "bound_eq": "of {value}",
        "bound_gte": "of at least {value}",
        "bound_gt": "of more than {value}",
        "bound_lte": "of at most {value}",
        "bound_lt": "of less than {value}",
    },
    "it": {
        "and": " e ",
        "or": " o ",
        "not": "non ({})",
        "eq": "{field} è {value}",
        "neq": "{field} non è {value}",
        "in": "{field} è uno tra {value}",
        "not_in": "{field} non è nessuno tra {value}",
        "contains": "{field} contiene {value}",
        "contains_many": "{field} contengono {value}",
        "starts_with": "{field} inizia con {value}",
        "gt": "{field} è maggiore di {value}",
        "gte": "{field} è almeno {value}",
        "lt": "{field} è minore di {value}",
        "lte": "{field} è al massimo {value}",
        "between": "{field} è tra {low} e {high}",
        "is_set": "{field} è compilato",
        "is_not_set": "{field} è vuoto",
        "older_than_days": "{field} è di più di {value} giorni fa",
        "within_last_days": "{field} è negli ultimi {value} giorni",
        "date_gt": "{field} è dopo il {value}",
        "date_lt": "{field} è prima del {value}",
        "date_gte": "{field} è dal {value} in poi",
        "date_lte": "{field} è fino al {value}",
        "true": "sì",
        "false": "no",
        "list_sep": ", ",
        "list": "è nella lista {value}",
        "segment": "è nel segmento {value}",
        "custom": "{label}",
        "company": "{field} dell'azienda",
        "consent": "il consenso a {field}",
        "score": "il punteggio {model}",
        "page_contains": "una pagina contenente {value}",
        "page_is": "la pagina {value}",
        "form_is": "il modulo «{value}»",
        "named": "«{value}»",
        "with": "con {filters}",
        "property_eq": "{field} {value}",
        "count_eq": "esattamente {n} volte",
        "count_gte": "almeno {n} volte",
        "count_gt": "più di {n} volte",
        "count_lte": "al massimo {n} volte",
        "count_lt": "meno di {n} volte",
        "once": "almeno una volta",
        "within_days": "negli ultimi {n} giorni",
        "between_days": "tra il {low} e il {high}",
        "sum": "per un {property} totale {bounds}",
        "first": ", la prima volta {when}",
        "last": ", l'ultima volta {when}",
        "when_older_than_days": "più di {n} giorni fa",
        "when_within_days": "negli ultimi {n} giorni",
        "when_before": "prima del {value}",
        "when_after": "dopo il {value}",
        "bound_eq": "di {value}",
        "bound_gte": "di almeno {value}",
        "bound_gt": "di più di {value}",
        "bound_lte": "di al massimo {value}",
        "bound_lt": "di meno di {value}",
    },
}

FIELD_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "email": "email",
        "first_name": "first name",
        "last_name": "last name",
        "phone": "phone",
        "job_title": "job title",
        "street": "street",
        "postal_code": "CAP",
        "city": "city",
        "province": "province",
        "region": "region",
        "country": "country",
        "language": "language",
        "source": "source",
        "created_at": "creation date",
        "updated_at": "last update",
        "tags": "tags",
        "owner": "owner",
        "lifecycle_stage": "lifecycle stage",
        "lifecycle_changed_at": "date of the last stage change",
        "name": "name",
        "vat_number": "VAT number",
        "ateco_code": "ATECO code",
        "sector": "sector",
        "size_band": "size",
        "email_marketing": "email marketing",
        "profiling": "profiling",
        "third_party": "third-party use",
        "granted": "granted",
        "pending": "awaiting confirmation",
        "denied": "denied",
        "revoked": "revoked",
        "none": "never asked",
        "product_lines": "product line",
        "url": "page",
        "total": "amount",
    },
    "it": {
        "email": "l'email",
        "first_name": "il nome",
        "last_name": "il cognome",
        "phone": "il telefono",
        "job_title": "il ruolo",
        "street": "l'indirizzo",
        "postal_code": "il CAP",
        "city": "la città",
        "province": "la provincia",
        "region": "la regione",
        "country": "il paese",
        "language": "la lingua",
        "source": "la provenienza",
        "created_at": "la data di creazione",
        "updated_at": "la data di aggiornamento",
        "tags": "le etichette",
        "owner": "il referente",
        "lifecycle_stage": "la fase",
        "lifecycle_changed_at": "la data dell'ultimo cambio di fase",
        "name": "la ragione sociale",
        "vat_number": "la partita IVA",
        "ateco_code": "il codice ATECO",
        "sector": "il settore",
        "size_band": "la dimensione",
        "email_marketing": "email marketing",
        "profiling": "profilazione",
        "third_party": "cessione a terzi",
        "granted": "dato",
        "pending": "in attesa di conferma",
        "denied": "negato",
        "revoked": "revocato",
        "none": "mai chiesto",
        "product_lines": "linea di prodotto",
        "url": "pagina",
        "total": "importo",
    },
}

# What the contact did: (English, English negated, Italian). Italian negates with "non".
EVENT_VERBS: dict[str, tuple[str, str, str]] = {
    "page_view": ("visited {page}", "did not visit {page}", "ha visitato {page}"),
    "form_submitted": ("submitted a form", "did not submit a form", "ha compilato un modulo"),
    "content_downloaded": (
        "downloaded a content",
        "did not download a content",
        "ha scaricato un contenuto",
    ),
    "email_sent": ("was sent an email", "was not sent an email", "ha ricevuto un invio email"),
    "email_delivered": (
        "received an email",
        "did not receive an email",
        "ha ricevuto un'email",
    ),
    "email_opened": ("opened an email", "did not open an email", "ha aperto un'email"),
    "email_clicked": ("clicked an email", "did not click an email", "ha cliccato un'email"),
    "email_bounced": (
        "had an email bounce",
        "had no email bounce",
        "ha avuto un'email respinta",
    ),
    "email_unsubscribed": (
        "unsubscribed",
        "did not unsubscribe",
        "si è disiscritto",
    ),
    "email_complained": (
        "marked an email as spam",
        "did not mark an email as spam",
        "ha segnalato un'email come spam",
    ),
    "webinar_registered": (
        "registered for a webinar",
        "did not register for a webinar",
        "si è iscritto a un webinar",
    ),
    "webinar_attended": (
        "attended a webinar",
        "did not attend a webinar",
        "ha partecipato a un webinar",
    ),
    "event_attended": (
        "attended an event",
        "did not attend an event",
        "ha partecipato a un evento",
    ),
    "order": ("placed an order", "did not place an order", "ha fatto un ordine"),
    "call": ("had a phone call with us", "had no phone call with us", "ha avuto una telefonata"),
    "meeting": ("had a meeting with us", "had no meeting with us", "ha avuto un incontro"),
    "note": ("has a note from us", "has no note from us", "ha una nota"),
    "survey_answered": (
        "answered a survey",
        "did not answer a survey",
        "ha risposto a un sondaggio",
    ),
    "deal_changed": (
        "had a deal change",
        "had no deal change",
        "ha avuto una trattativa aggiornata",
    ),
    "ticket": (
        "opened a support ticket",
        "did not open a support ticket",
        "ha aperto una richiesta di assistenza",
    ),
    "consent_changed": (
        "changed a consent",
        "did not change a consent",
        "ha cambiato un consenso",
    ),
    "contact_merged": ("was merged", "was not merged", "è stato unito"),
    "segment_entered": ("entered a segment", "did not enter a segment", "è entrato in un segmento"),
    "segment_left": ("left a segment", "did not leave a segment", "è uscito da un segmento"),
    "imported": (
        "was imported from a file",
        "was not imported from a file",
        "è stato importato da un file",
    ),
    "lifecycle_changed": (
        "changed lifecycle stage",
        "did not change lifecycle stage",
        "ha cambiato fase",
    ),
    "score_changed": ("had a score change", "had no score change", "ha cambiato punteggio"),
    "lead_assigned": (
        "was assigned to sales",
        "was not assigned to sales",
        "è stato assegnato alle vendite",
    ),
    "lead_accepted": (
        "was accepted by sales",
        "was not accepted by sales",
        "è stato accettato dalle vendite",
    ),
    "lead_rejected": (
        "was rejected by sales",
        "was not rejected by sales",
        "è stato rifiutato dalle vendite",
    ),
    "custom": ("did a custom event", "did not do a custom event", "ha fatto un evento"),
}
PAGE = {"en": "a page", "it": "una pagina"}
# Fields whose label is plural ("le etichette"): the verb agrees ("contengono").
PLURAL_FIELDS = frozenset({"tags"})
EMPLOYEES = {"en": "employees", "it": "dipendenti"}
SUBMITTED = {"en": ("submitted", "did not submit"), "it": ("ha compilato", "non ha compilato")}


@dataclass(frozen=True)
class Names:
    """What the marketer calls the codes a condition holds, read from the workspace
    (`volano.conditions.selectors.condition_names`): a form by its name, not its slug."""

    forms: Mapping[str, str] = field(default_factory=dict)
    product_lines: Mapping[str, str] = field(default_factory=dict)
    stages: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)  # str(user id) → full name
    lists: Mapping[str, str] = field(default_factory=dict)
    segments: Mapping[str, str] = field(default_factory=dict)
    score_models: Mapping[str, str] = field(default_factory=dict)


def condition_describe(
    condition: Condition, language: str = "it", names: Names | None = None
) -> str:
    """The condition as one sentence in Italian ("it") or English ("en"); with `names`, codes
    (form, product line, stage, owner, list, segment and score model) are said by their names."""
    language = "it" if language.startswith("it") else "en"
    return _Describer(language, names or Names()).node(condition, top=True)


class _Describer:
    def __init__(self, language: str, names: Names):
        self.language = language
        self.phrases = PHRASES[language]
        self.labels = FIELD_LABELS[language]
        self.names = names

    def named(self, column: str, value: Any) -> str:
        """A stage, product line or owner code as the workspace names it."""
        if column == "size_band" and isinstance(value, str) and value[:1].isdigit():
            return f"{value} {EMPLOYEES[self.language]}"
        table = {
            "lifecycle_stage": self.names.stages,
            "product_lines": self.names.product_lines,
            "product_line": self.names.product_lines,
            "owner": self.names.owners,
            "owner_id": self.names.owners,
        }.get(column)
        if table is not None and str(value) in table:
            return table[str(value)]
        return self.value(value)

    def say(self, key: str, **values: Any) -> str:
        return self.phrases[key].format(**values)

    def node(self, node: Condition, *, top: bool = False, negated: bool = False) -> str:
        match node:
            case AllOf(items=items) | AnyOf(items=items):
                joiner = self.phrases["and" if isinstance(node, AllOf) else "or"]
                text = joiner.join(self.node(item) for item in items)
                if negated:
                    return self.phrases["not"].format(text)
                return text if top or len(items) == 1 else f"({text})"
            case Not(item=EventCondition() as event):
                return self.event(event, negated=not negated)
            case Not(item=item):
                return self.node(item, negated=not negated, top=True)
            case EventCondition():
                return self.event(node, negated=negated)
        if isinstance(node, FieldCondition):
            text = self.field(node)
        elif isinstance(node, ListCondition | SegmentCondition):
            kind = "list" if isinstance(node, ListCondition) else "segment"
            known = (self.names.lists if kind == "list" else self.names.segments).get(node.slug)
            text = self.say(kind, value=self.say("named", value=known) if known else node.slug)
        else:
            text = str(node)
        return self.phrases["not"].format(text) if negated else text

    def field_name(self, node: FieldCondition) -> str:
        spec = node.field
        if spec.column == "custom":
            name = self.say("custom", label=spec.label or spec.key)
        elif spec.kind == "consent":
            name = self.say("consent", field=self.labels.get(spec.key, spec.key))
        elif spec.kind == "score":
            name = self.say("score", model=self.names.score_models.get(spec.key, spec.key))
        else:
            name = self.labels.get(spec.column, spec.column)
        if spec.scope == "company":
            name = self.say("company", field=name)
        return name

    def day(self, value: dt.date) -> str:
        """A long date in the describer's language: "3 settembre 2026", "Sept. 3, 2026"."""
        with translation.override(self.language):
            return date_format(value, "DATE_FORMAT")

    def value(self, value: Any) -> str:
        if isinstance(value, bool):
            return self.phrases["true" if value else "false"]
        if isinstance(value, dt.date):
            return self.day(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            return f"{value:,}".replace(",", "." if self.language == "it" else ",")
        if isinstance(value, float):
            return str(value).replace(".", "," if self.language == "it" else ".")
        if value in CONSENT_VALUES:
            return self.labels[value]
        return str(value)

    def field(self, node: FieldCondition) -> str:
        field = self.field_name(node)
        op = node.op
        if op in ("is_set", "is_not_set"):
            return self.say(op, field=field)
        if op == "between":
            low, high = node.value
            return self.say("between", field=field, low=self.value(low), high=self.value(high))
        column = node.field.column
        if op in ("in", "not_in"):
            value = self.phrases["list_sep"].join(self.named(column, v) for v in node.value)
            return self.say(op, field=field, value=value)
        if node.field.kind in ("date", "datetime") and op in ("gt", "lt", "gte", "lte"):
            return self.say(f"date_{op}", field=field, value=self.value(node.value))
        band = re.fullmatch(r"(\d+)-(\d+)", str(node.value)) if column == "size_band" else None
        if band and op == "eq":
            between = self.say("between", field=field, low=band[1], high=band[2])
            return f"{between} {EMPLOYEES[self.language]}"
        if op == "contains" and column in PLURAL_FIELDS and node.field.scope != "company":
            op = "contains_many"
        return self.say(op, field=field, value=self.named(column, node.value))

    def event(self, node: EventCondition, *, negated: bool) -> str:
        english, english_not, italian = EVENT_VERBS[node.type]
        filters = list(node.where)
        page = PAGE[self.language]
        if node.type == "page_view":
            for test in filters:
                if test.property == "url" and test.op in ("contains", "eq"):
                    key = "page_contains" if test.op == "contains" else "page_is"
                    page = self.say(key, value=test.value)
                    filters.remove(test)
                    break
        if self.language == "it":
            verb = ("non " if negated else "") + italian
        else:
            verb = english_not if negated else english
        if node.type == "form_submitted":
            for test in filters:
                if test.property == "form" and test.op == "eq":
                    name = self.names.forms.get(str(test.value), str(test.value))
                    verb = SUBMITTED[self.language][negated] + " " + self.say("form_is", value=name)
                    filters.remove(test)
                    break
        parts = [verb.format(page=page)]
        if filters:
            parts.append(
                self.say("with", filters=self.phrases["and"].join(map(self.property, filters)))
            )
        if node.count_given and node.count != Bounds(gte=1):
            parts.extend(self.say(f"count_{op}", n=self.value(n)) for op, n in node.count.items())
        if node.sum is not None:
            bounds = " ".join(
                self.say(f"bound_{op}", value=self.value(v)) for op, v in node.sum.bounds.items()
            )
            prop = self.labels.get(node.sum.property, node.sum.property)
            parts.append(self.say("sum", property=prop, bounds=bounds))
        for key, when in (("first", node.first), ("last", node.last)):
            if when is not None:
                parts.append(self.say(key, when=self.when(when)))
        if node.within_days is not None:
            parts.append(self.say("within_days", n=self.value(node.within_days)))
        if node.between is not None:
            low, high = node.between
            parts.append(self.say("between_days", low=self.day(low), high=self.day(high)))
        return " ".join(parts).replace(" ,", ",")

    def property(self, test: PropertyFilter) -> str:
        spec = FieldSpec(test.property, "property", "event", test.property)
        if test.op == "eq":
            return self.say(
                "property_eq",
                field=self.labels.get(test.property, test.property),
                value=self.named(test.property, test.value),
            )
        return self.field(FieldCondition(test.path, spec, test.op, test.value))

    def when(self, when: When) -> str:
        parts = []
        for key in ("older_than_days", "within_days"):
            if (n := getattr(when, key)) is not None:
                parts.append(self.say(f"when_{key}", n=self.value(n)))
        for key in ("before", "after"):
            if (day := getattr(when, key)) is not None:
                parts.append(self.say(f"when_{key}", value=self.day(day)))
        return self.phrases["and"].join(parts)
