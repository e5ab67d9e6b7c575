"""/api/v1/contacts, /companies and /custom-fields: parse, call a service or selector, shape the reply.

In the api layer, as it composes several domains: contacts (and their timeline from events), the
stage a write may set (lifecycle) and the scores a contact reads with (scoring).

Inputs reject unknown fields (naming them); values are judged by the services, the same way as
in the UI and the importer. Lists are paginated with page numbers (volano.core.api_input.Pages).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import IPvAnyAddress

from volano.contacts import selectors, services
from volano.contacts.merge import contact_merge
from volano.contacts.models import Company, Consent, ConsentStatus, Contact, CustomField
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages, column_length
from volano.core.errors import ApplicationError, NotFound
from volano.events.selectors import contact_timeline
from volano.lifecycle.models import ChangeSource, StageChange
from volano.lifecycle.services import stage_set
from volano.scoring.selectors import contact_scores

router = Router(tags=["contacts"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
CONSENT_FILTERS = (*ConsentStatus.values, "none")


def _actor(request: HttpRequest):
    return request.api_token.user  # type: ignore[attr-defined]


class ConsentOut(Schema):
    status: str
    source: str
    recorded_at: dt.datetime
    ip: str | None
    form: str
    proof: str
    confirmed_at: dt.datetime | None


class ContactOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    job_title: str
    company_id: int | None
    street: str
    postal_code: str
    city: str
    province: str
    region: str
    country: str
    language: str
    tags: list[str]
    custom: dict[str, Any]
    consents: dict[str, ConsentOut]
    owner_id: int | None
    source: str
    lifecycle_stage: str
    lifecycle_changed_at: dt.datetime | None
    scores: dict[str, float]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_consents(obj: Contact) -> dict:
        return {consent.purpose: consent for consent in obj.consents.all()}

    @staticmethod
    def resolve_scores(obj: Contact) -> dict:
        """{model slug: points} for every active model; `predictive` is a probability."""
        return contact_scores(workspace=obj.workspace_id, contact=obj)


class ContactIn(Strict):
    """Every field is optional; PATCH changes only the fields given."""

    stored_in = Contact
    # cleaned into the short stored form ("Milano" -> "MI", "+39 333 …" -> E.164)
    input_lengths = {
        "phone": 60,
        "province": 60,
        "country": 60,
        "language": 40,
        "lifecycle_reason": column_length(StageChange, "reason"),
    }

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    job_title: str | None = None
    company_id: int | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    province: str | None = None
    region: str | None = None
    country: str | None = None
    language: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    source: str | None = None
    custom: dict[str, Any] | None = None
    lifecycle_stage: str | None = Field(
        default=None,
        description="lead, mql, sql, opportunity, customer, lost_customer, disqualified or "
        "recycled; the change is recorded with `lifecycle_reason`",
    )
    lifecycle_reason: str | None = None


LIFECYCLE_KEYS = ("lifecycle_stage", "lifecycle_reason")


class MergeIn(Strict):
    duplicate_id: int


class ConsentIn(Strict):
    stored_in = Consent
    status: Literal["granted", "pending", "denied", "revoked"]
    source: str = Field(..., min_length=1, max_length=60)
    ip: IPvAnyAddress | None = None
    form: str = Field("", max_length=100)
    proof: str = ""


class ConsentSetOut(ConsentOut):
    purpose: str


class EventOut(Schema):
    id: int
    type: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    contact_id: int | None
    anonymous_id: str | None
    channel: str
    source: str
    utm: dict[str, str]
    campaign: str
    content: str
    properties: dict[str, Any]
    dedup_key: str | None

    @staticmethod
    def resolve_utm(obj) -> dict:
        keys = ("source", "medium", "campaign", "term", "content")
        return {key: value for key in keys if (value := getattr(obj, f"utm_{key}"))}


class CompanyOut(Schema):
    id: int
    name: str
    vat_number: str
    tax_code: str
    ateco_code: str
    sector: str
    size_band: str
    street: str
    postal_code: str
    city: str
    province: str
    region: str
    country: str
    website: str
    phone: str
    custom: dict[str, Any]
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyIn(Strict):
    stored_in = Company
    input_lengths = {
        "vat_number": 40,
        "tax_code": 40,
        "size_band": 40,
        "province": 60,
        "country": 60,
        "phone": 60,
    }

    name: str | None = None
    vat_number: str | None = None
    tax_code: str | None = None
    ateco_code: str | None = None
    sector: str | None = None
    size_band: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    province: str | None = None
    region: str | None = None
    country: str | None = None
    website: str | None = None
    phone: str | None = None
    source: str | None = None
    custom: dict[str, Any] | None = None


class CustomFieldIn(Strict):
    stored_in = CustomField

    key: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    label: str = Field(..., min_length=1, max_length=100)
    type: str
    entity: Literal["contact", "company"] = "contact"
    choices: list[str] = []
    required: bool = False


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    position: int


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return selectors.contact_get(workspace=request.workspace, contact_id=contact_id)  # type: ignore[attr-defined]


def _company(request: HttpRequest, company_id: int) -> Company:
    return selectors.company_get(workspace=request.workspace, company_id=company_id)  # type: ignore[attr-defined]


def _contact_write(request: HttpRequest, contact: Contact, data: dict[str, Any]) -> None:
    """Fields through contact_update, a stage through the lifecycle (which records it), at once."""
    stage = data.pop("lifecycle_stage", None)
    reason = data.pop("lifecycle_reason", None) or ""
    with transaction.atomic():
        if data:
            services.contact_update(
                workspace=request.workspace,  # type: ignore[attr-defined]
                actor=_actor(request),
                contact=contact,
                data=data,
            )
        if stage is not None:
            stage_set(
                workspace=request.workspace,  # type: ignore[attr-defined]
                actor=_actor(request),
                contact=contact,
                stage=stage,
                source=ChangeSource.API,
                reason=reason,
            )


def _replacement(payload: Strict, current: dict[str, Any]) -> dict[str, Any]:
    """PUT: every field not given goes back to empty; custom values not given are removed."""
    data: dict[str, Any] = {
        name: None
        for name in type(payload).model_fields
        if name not in {"custom", "source", *LIFECYCLE_KEYS}
    }
    if "tags" in data:
        data["tags"] = []
    data.update(payload.model_dump(exclude_unset=True))
    given = data.get("custom") or {}
    data["custom"] = {**{key: None for key in current}, **given}
    return data


# Contacts


@router.get("/contacts", response=list[ContactOut], summary="List or look up contacts")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def contacts_list(
    request: HttpRequest,
    email: str = "",
    search: str = "",
    province: str = "",
    region: str = "",
    tag: str = "",
    source: str = "",
    company_id: int | None = None,
    consent: str = "",
    lifecycle_stage: str = "",
):
    """`email` finds one contact (case and spaces do not matter); the other filters combine.
    `consent` is the email-marketing consent: granted, pending, denied, revoked, or none."""
    if consent and consent not in CONSENT_FILTERS:
        raise ApplicationError(f"use one of {', '.join(CONSENT_FILTERS)}", field="consent")
    return selectors.contact_list(
        workspace=request.workspace,  # type: ignore[attr-defined]
        email=email,
        search=search,
        province=province,
        region=region,
        tag=tag,
        source=source,
        company_id=company_id,
        consent=consent,
        lifecycle_stage=lifecycle_stage,
    ).prefetch_related("consents")


@router.post("/contacts", response={201: ContactOut}, summary="Create a contact")
def contacts_create(request: HttpRequest, payload: ContactIn):
    data = payload.model_dump(exclude_unset=True)
    # The token's user is the actor, but the contact came in through the API, not by hand.
    if not data.get("source"):
        data["source"] = "api"
    stage = {key: data.pop(key) for key in LIFECYCLE_KEYS if key in data}
    with transaction.atomic():
        contact = services.contact_create(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=_actor(request),
            data=data,
        )
        if stage:
            _contact_write(request, contact, stage)
    return 201, _contact(request, contact.pk)


@router.get("/contacts/{contact_id}", response=ContactOut, summary="Get a contact")
def contacts_get(request: HttpRequest, contact_id: int):
    return _contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut, summary="Change some fields")
def contacts_patch(request: HttpRequest, contact_id: int, payload: ContactIn):
    _contact_write(request, _contact(request, contact_id), payload.model_dump(exclude_unset=True))
    return _contact(request, contact_id)


@router.put("/contacts/{contact_id}", response=ContactOut, summary="Replace a contact's fields")
def contacts_put(request: HttpRequest, contact_id: int, payload: ContactIn):
    contact = _contact(request, contact_id)
    _contact_write(request, contact, _replacement(payload, contact.custom))
    return _contact(request, contact.pk)


@router.delete("/contacts/{contact_id}", response={204: None}, summary="Erase a contact")
def contacts_delete(request: HttpRequest, contact_id: int):
    services.contact_delete(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        contact=_contact(request, contact_id),
    )
    return 204, None


@router.post(
    "/contacts/{contact_id}/merge", response=ContactOut, summary="Merge a duplicate into it"
)
def contacts_merge(request: HttpRequest, contact_id: int, payload: MergeIn):
    survivor = _contact(request, contact_id)
    try:
        duplicate = _contact(request, payload.duplicate_id)
    except NotFound:
        raise NotFound("no such contact in this workspace", field="duplicate_id") from None
    merged = contact_merge(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        survivor=survivor,
        duplicate=duplicate,
    )
    return _contact(request, merged.pk)


@router.get(
    "/contacts/{contact_id}/events",
    response=list[EventOut],
    summary="A contact's timeline, newest first",
)
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def contacts_events(request: HttpRequest, contact_id: int):
    return contact_timeline(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact=_contact(request, contact_id),
    )


@router.put(
    "/contacts/{contact_id}/consents/{purpose}",
    response=ConsentSetOut,
    summary="Record a consent decision with its proof",
)
def contacts_consent_set(request: HttpRequest, contact_id: int, purpose: str, payload: ConsentIn):
    consent = services.consent_set(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        contact=_contact(request, contact_id),
        purpose=purpose,
        status=payload.status,
        source=payload.source,
        ip=str(payload.ip) if payload.ip else None,
        form=payload.form,
        proof=payload.proof,
    )
    return consent


# Companies


@router.get("/companies", response=list[CompanyOut], tags=["companies"], summary="List companies")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def companies_list(request: HttpRequest, search: str = "", province: str = ""):
    """`search` matches the name or the exact partita IVA."""
    return selectors.company_list(
        workspace=request.workspace,  # type: ignore[attr-defined]
        search=search,
        province=province,
    )


@router.post(
    "/companies", response={201: CompanyOut}, tags=["companies"], summary="Create a company"
)
def companies_create(request: HttpRequest, payload: CompanyIn):
    data = payload.model_dump(exclude_unset=True)
    if not data.get("source"):
        data["source"] = "api"
    company = services.company_create(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        data=data,
    )
    return 201, company


@router.get(
    "/companies/{company_id}", response=CompanyOut, tags=["companies"], summary="Get a company"
)
def companies_get(request: HttpRequest, company_id: int):
    return _company(request, company_id)


@router.patch(
    "/companies/{company_id}",
    response=CompanyOut,
    tags=["companies"],
    summary="Change some fields",
)
def companies_patch(request: HttpRequest, company_id: int, payload: CompanyIn):
    return services.company_update(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        company=_company(request, company_id),
        data=payload.model_dump(exclude_unset=True),
    )


@router.put(
    "/companies/{company_id}",
    response=CompanyOut,
    tags=["companies"],
    summary="Replace a company's fields",
)
def companies_put(request: HttpRequest, company_id: int, payload: CompanyIn):
    company = _company(request, company_id)
    return services.company_update(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        company=company,
        data=_replacement(payload, company.custom),
    )


@router.delete(
    "/companies/{company_id}",
    response={204: None},
    tags=["companies"],
    summary="Delete a company (its contacts stay, without company)",
)
def companies_delete(request: HttpRequest, company_id: int):
    services.company_delete(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        company=_company(request, company_id),
    )
    return 204, None


# Custom fields


@router.get(
    "/custom-fields",
    response=list[CustomFieldOut],
    tags=["custom fields"],
    summary="List custom fields",
)
def custom_fields_list(request: HttpRequest, entity: Literal["contact", "company"] = "contact"):
    return selectors.custom_fields(workspace=request.workspace, entity=entity)  # type: ignore[attr-defined]


@router.post(
    "/custom-fields",
    response={201: CustomFieldOut},
    tags=["custom fields"],
    summary="Add a custom field",
)
def custom_fields_create(request: HttpRequest, payload: CustomFieldIn):
    field = services.custom_field_create(
        workspace=request.workspace,  # type: ignore[attr-defined]
        key=payload.key,
        label=payload.label,
        type=payload.type,
        entity=payload.entity,
        choices=payload.choices,
        required=payload.required,
    )
    return 201, field
