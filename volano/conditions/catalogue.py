"""What the condition builder may offer (its catalogue), for every editor that uses it.

The builder (static/conditions/builder.js, drawn by templates/conditions/_builder.html) draws
rows from `builder_catalogue`: which fields exist and of which kind, which operators apply to
each kind, which values a select offers. All the words it shows come from here, through
gettext, so the builder speaks the user's language. A context that cannot name lists or
segments (scoring and threshold rules, see `NoReferences`) asks for a catalogue without them,
so the builder never offers what saving would refuse.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from volano.conditions.fields import CUSTOM_KINDS, OPS_BY_KIND
from volano.contacts.models import ConsentStatus, Purpose, SizeBand
from volano.contacts.selectors import custom_fields
from volano.core.geography import provinces, regions
from volano.core.models import Workspace
from volano.events.models import EventType

# Events people do; the system's own bookkeeping events make no sense in a segment rule.
HIDDEN_EVENTS = {"contact_merged", "segment_entered", "segment_left"}

# Properties worth suggesting per event type (docs: common.md "Event property conventions").
EVENT_PROPERTIES: dict[str, list[str]] = {
    "page_view": ["url", "title", "referrer", "dwell_seconds"],
    "form_submitted": ["form", "url"],
    "content_downloaded": ["content", "title", "url"],
    "email_sent": ["message", "subject"],
    "email_delivered": ["message", "subject"],
    "email_opened": ["message", "subject"],
    "email_clicked": ["message", "subject", "url"],
    "email_bounced": ["message", "reason", "kind"],
    "email_unsubscribed": ["message"],
    "email_complained": ["message"],
    "webinar_registered": ["webinar", "title"],
    "webinar_attended": ["webinar", "title"],
    "event_attended": ["event", "title"],
    "order": ["product_line", "total", "currency", "number"],
    "survey_answered": ["survey", "score", "answer"],
    "deal_changed": ["deal", "stage", "amount"],
    "ticket": ["ticket", "subject", "status"],
    "custom": ["name"],
}
NUMERIC_PROPERTIES = ["dwell_seconds", "total", "score", "amount", "quantity"]


def _numeric_property_labels() -> dict[str, str]:
    return {
        "dwell_seconds": _("time on the page (seconds)"),
        "total": _("order amount"),
        "score": _("survey score"),
        "amount": _("deal amount"),
        "quantity": _("quantity"),
    }


def _property_labels() -> dict[str, str]:
    """What the builder calls each suggested event property: "Page address", never "url"."""
    return {
        **_numeric_property_labels(),
        "url": _("Page address"),
        "title": _("Page or content title"),
        "referrer": _("Coming from (referring page)"),
        "form": _("Form"),
        "content": _("Content"),
        "message": _("Email message"),
        "subject": _("Email subject"),
        "reason": _("Bounce reason"),
        "kind": _("Bounce kind"),
        "webinar": _("Webinar"),
        "event": _("Trade show or event"),
        "product_line": _("Product line"),
        "currency": _("Currency"),
        "number": _("Order number"),
        "survey": _("Survey"),
        "answer": _("Answer"),
        "deal": _("Deal"),
        "stage": _("Deal stage"),
        "ticket": _("Ticket"),
        "status": _("Ticket status"),
        "name": _("Event name"),
    }


def _summable_properties() -> dict[str, list[list[str]]]:
    """Per event type, the numeric properties whose total a rule may bound (`sum`)."""
    labels = _numeric_property_labels()
    summable = {
        event: [[p, labels[p]] for p in properties if p in labels]
        for event, properties in EVENT_PROPERTIES.items()
    }
    return {event: pairs for event, pairs in summable.items() if pairs}


def _operator_labels() -> dict[str, dict[str, str]]:
    common = {
        "eq": _("is"),
        "neq": _("is not"),
        "in": _("is one of"),
        "not_in": _("is none of"),
        "contains": _("contains"),
        "starts_with": _("starts with"),
        "gt": _("is more than"),
        "gte": _("is at least"),
        "lt": _("is less than"),
        "lte": _("is at most"),
        "between": _("is between"),
        "is_set": _("is filled in"),
        "is_not_set": _("is empty"),
    }
    dates = {
        **common,
        "gt": _("is after"),
        "gte": _("is on or after"),
        "lt": _("is before"),
        "lte": _("is on or before"),
        "older_than_days": _("is more than … days ago"),
        "within_last_days": _("is in the last … days"),
    }
    labels = {
        kind: {op: (dates if "date" in kind else common)[op] for op in ops}
        for kind, ops in OPS_BY_KIND.items()
    }
    labels["tags"]["contains"] = _("includes")
    labels["multi_choice"]["contains"] = _("includes")
    labels["consent"].update({"eq": _("is"), "neq": _("is not")})
    return labels


def _choices(pairs: Any) -> list[list[str]]:
    return [[str(value), str(label)] for value, label in pairs]


def builder_catalogue(
    *,
    workspace: Workspace,
    lists: list | None = None,
    segments: list | None = None,
    personas: list | None = None,
    references: bool = True,
    stages: list | None = None,
    scores: list | None = None,
) -> dict[str, Any]:
    """Everything the builder shows, as JSON-ready data (rendered with json_script).

    `lists`, `segments`, `personas`: [slug, name] pairs a membership row offers; with
    `references=False` (a context whose resolver refuses them) there is no membership row at
    all. `stages` ([value, name], the workspace's stage names) and `scores` ([slug, name] of
    the score models) add the lifecycle stage and one field per score, first in the list: the
    domains that know them pass them (the conditions domain sits below lifecycle and scoring).
    """
    province_choices = [
        [code, f"{p.name} ({code})"]
        for code, p in sorted(provinces().items(), key=lambda item: item[1].name)
    ]
    region_choices = [[name, name] for name in regions()]
    language_choices = _choices(settings.LANGUAGES)
    contact_fields: list[dict[str, Any]] = [
        {"name": "province", "label": _("Province"), "kind": "text", "choices": province_choices},
        {"name": "region", "label": _("Region"), "kind": "text", "choices": region_choices},
        {"name": "city", "label": _("City"), "kind": "text"},
        {"name": "job_title", "label": _("Job title"), "kind": "text"},
        {"name": "source", "label": _("Source"), "kind": "text"},
        {"name": "tags", "label": _("Tags"), "kind": "tags"},
        {"name": "language", "label": _("Language"), "kind": "text", "choices": language_choices},
        {"name": "created_at", "label": _("Date added"), "kind": "datetime"},
        {"name": "email", "label": _("Email"), "kind": "text"},
        {"name": "first_name", "label": _("First name"), "kind": "text"},
        {"name": "last_name", "label": _("Last name"), "kind": "text"},
        {"name": "postal_code", "label": _("CAP"), "kind": "text"},
        {"name": "country", "label": _("Country"), "kind": "text"},
        {"name": "updated_at", "label": _("Last changed"), "kind": "datetime"},
    ]
    leading: list[dict[str, Any]] = [
        {"name": f"score.{slug}", "label": _("Score “%(name)s”") % {"name": name}, "kind": "score"}
        for slug, name in scores or []
    ]
    if stages:
        leading.append(
            {
                "name": "lifecycle_stage",
                "label": _("Lifecycle stage"),
                "kind": "choice",
                "choices": _choices(stages),
            }
        )
    contact_fields = leading + contact_fields
    company_fields: list[dict[str, Any]] = [
        {"name": "company.name", "label": _("Company name"), "kind": "text"},
        {"name": "company.sector", "label": _("Sector"), "kind": "text"},
        {
            "name": "company.size_band",
            "label": _("Size"),
            "kind": "choice",
            "choices": _choices(SizeBand.choices),
        },
        {
            "name": "company.province",
            "label": _("Province"),
            "kind": "text",
            "choices": province_choices,
        },
        {"name": "company.region", "label": _("Region"), "kind": "text", "choices": region_choices},
        {"name": "company.city", "label": _("City"), "kind": "text"},
        {"name": "company.ateco_code", "label": _("ATECO code"), "kind": "text"},
        {"name": "company.vat_number", "label": _("VAT number"), "kind": "text"},
    ]
    for entity, target, prefix in (
        ("contact", contact_fields, "custom."),
        ("company", company_fields, "company.custom."),
    ):
        for field in custom_fields(workspace=workspace, entity=entity):
            entry: dict[str, Any] = {
                "name": prefix + field.key,
                "label": field.label,
                "kind": CUSTOM_KINDS[field.type],
            }
            if field.choices:
                entry["choices"] = [[str(c), str(c)] for c in field.choices]
            target.append(entry)
    events = [
        [value, str(label)] for value, label in EventType.choices if value not in HIDDEN_EVENTS
    ]
    kinds = {
        "field": _("Contact field"),
        "company": _("Company field"),
        "consent": _("Consent"),
        "member": _("Membership"),
        "event": _("Behaviour"),
    }
    if not references:
        del kinds["member"]
    new_condition: dict[str, Any] = {"field": "province", "op": "in", "value": []}
    if leading:
        new_condition = {"field": leading[0]["name"], "op": "gte" if scores else "eq"}
    return {
        "new_condition": new_condition,
        "contact_fields": contact_fields,
        "company_fields": company_fields,
        "operators": _operator_labels(),
        "purposes": _choices(Purpose.choices),
        "statuses": [*_choices(ConsentStatus.choices), ["none", _("Never asked")]],
        "events": events,
        "event_properties": EVENT_PROPERTIES,
        "numeric_properties": NUMERIC_PROPERTIES,
        "summable_properties": _summable_properties(),
        "numeric_property_labels": _numeric_property_labels(),
        "property_labels": _property_labels(),
        "lists": lists or [],
        "segments": segments or [],
        "personas": personas or [],
        "text": {
            "kind": _("Condition type"),
            "kinds": kinds,
            "field": _("Field"),
            "operator": _("Operator"),
            "value": _("Value"),
            "and": _("and"),
            "or": _("or"),
            "days": _("days"),
            "several": _("Choose one or more (Ctrl/⌘ for several)"),
            "comma": _("Separate values with commas"),
            "yes": _("Yes"),
            "no": _("No"),
            "purpose": _("Consent for"),
            "status": _("Status"),
            "member_in": _("is in"),
            "member_not_in": _("is not in"),
            "member_kind": {
                "list": _("the list"),
                "segment": _("the segment"),
                "persona": _("the persona"),
            },
            "member_pick": _("Which one"),
            "none_available": _("(none yet)"),
            "did": _("did"),
            "did_not": _("did not do"),
            "event": _("What"),
            "count_op": {"gte": _("at least"), "lte": _("at most"), "eq": _("exactly")},
            "times": _("times"),
            "count": _("How many times"),
            "window": _("When"),
            "window_ops": {
                "any": _("at any time"),
                "within": _("in the last"),
                "between": _("between"),
            },
            "window_days": _("Number of days"),
            "window_from": _("From (date)"),
            "window_to": _("To (date, included)"),
            "more": _("More options"),
            "sum_on": _("and the total of"),
            "sum_property": _("Which amount"),
            "sum_op": _("The total"),
            "sum_ops": {
                "gte": _("is at least"),
                "lte": _("is at most"),
                "gt": _("is more than"),
                "lt": _("is less than"),
                "eq": _("is"),
                "between": _("is between"),
            },
            "amount": _("Amount"),
            "amount_low": _("Lowest amount"),
            "amount_high": _("Highest amount"),
            "first_on": _("the first time was"),
            "last_on": _("the last time was"),
            "first_when": _("When the first time was"),
            "last_when": _("When the last time was"),
            "when_ops": {
                "older_than_days": _("more than"),
                "within_days": _("in the last"),
                "before": pgettext("a date in the segment builder", "before"),
                "after": pgettext("a date in the segment builder", "after"),
            },
            "days_ago": _("days ago"),
            "date": _("Date"),
            "add_filter": _("+ Filter on a detail"),
            "property": _("Detail"),
            "property_other": _("Another detail (type its name)…"),
            "property_ops": {
                "contains": _("contains"),
                "eq": _("is"),
                "neq": _("is not"),
                "starts_with": _("starts with"),
                "gte": _("is at least"),
                "lte": _("is at most"),
            },
            "remove": _("Remove"),
            "remove_filter": _("Remove this filter"),
            "add_condition": _("+ Add a condition"),
            "add_group": _("+ Add a group"),
            "match": _("Contacts who match"),
            "all": _("all of these"),
            "any": _("any of these"),
            "negate": _("Exclude the contacts who match this group"),
            "group": _("Group of conditions"),
            "advanced": _("An advanced condition, kept as it is:"),
            "empty": _("No condition yet: add one."),
        },
    }
