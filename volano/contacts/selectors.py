"""Reads for contacts and companies. Every function takes the workspace first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from volano.contacts.cleaning import normalise_email
from volano.contacts.models import Company, Consent, Contact, CustomField, Purpose
from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.core.tenancy import access_in_workspace


def contact_list(
    *,
    workspace: Workspace,
    search: str = "",
    province: str = "",
    region: str = "",
    tag: str = "",
    source: str = "",
    company_id: int | None = None,
    email: str = "",
    consent: str = "",
    lifecycle_stage: str = "",
    owner: str = "",
    within: QuerySet | None = None,
) -> QuerySet[Contact]:
    """Contacts matching the filters, newest first. `consent` is a status for email marketing
    ("granted", "revoked", …) or "none" for contacts who never gave an answer; `owner` a user
    id or "none" for contacts nobody owns; `within` a query of contact ids to stay inside (the
    contacts an import job touched, `volano.events.selectors.contacts_imported_by`)."""
    qs = Contact.objects.for_workspace(workspace).select_related("company")
    if email:
        # exclude("") lets the database use the partial unique index on (workspace, email)
        qs = qs.filter(email=normalise_email(email)).exclude(email="")
    if search:
        term = search.strip()
        words = term.split()
        name_q = Q()
        for word in words:
            name_q &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        found = Q(email__icontains=term.lower()) | name_q | Q(company__name__icontains=term)
        if digits := phone_search_digits(term):
            found |= Q(phone__contains=digits)
        qs = qs.filter(found)
    if province:
        qs = qs.filter(province=province.upper())
    if region:
        qs = qs.filter(region=region)
    if source:
        qs = qs.filter(source=source)
    if company_id:
        qs = qs.filter(company_id=company_id)
    if lifecycle_stage:
        qs = qs.filter(lifecycle_stage=lifecycle_stage)
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner.isdigit():
        qs = qs.filter(owner_id=int(owner))
    if tag:
        # Tags are a JSON list; match the quoted tag in its text form on both databases.
        qs = qs.filter(tags__icontains=f'"{tag}"')
    if consent:
        email_consents = Consent.objects.for_workspace(workspace).filter(
            purpose=Purpose.EMAIL_MARKETING
        )
        if consent == "none":
            qs = qs.exclude(pk__in=email_consents.values("contact_id"))
        else:
            qs = qs.filter(pk__in=email_consents.filter(status=consent).values("contact_id"))
    if within is not None:
        qs = qs.filter(pk__in=within)
    return qs.order_by("-created_at", "-id")


_PHONE_TYPED = re.compile(r"\+?[\d\s()./-]{6,}")


def phone_search_digits(term: str) -> str:
    """What a typed phone number looks like inside a stored E.164 one: "338 307 6475",
    "338-3076475", "0039 338…" and "+39 338 307 6475" all become digits (with "+" when the
    country code was typed), so a `contains` finds them; "" when the term is not a number."""
    text = term.strip()
    if not _PHONE_TYPED.fullmatch(text):
        return ""
    digits = re.sub(r"\D", "", text)
    if len(digits) < 4:
        return ""
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits


def contacts_sorted(
    qs: QuerySet[Contact], *, sort: str, stage_order: Sequence[str] = ()
) -> QuerySet[Contact]:
    """`qs` in the order a list header asks for: name, stage (in `stage_order`, the funnel),
    owner or added, "-" first for descending; ties always by id, so pages never overlap."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key == "stage" and stage_order:
        rank = Case(
            *[When(lifecycle_stage=stage, then=Value(i)) for i, stage in enumerate(stage_order)],
            default=Value(len(stage_order)),
            output_field=IntegerField(),
        )
        qs = qs.annotate(stage_rank=rank)
        columns = ["stage_rank"]
    elif key == "name":
        columns = ["last_name", "first_name"]
    elif key == "owner":
        columns = ["owner__full_name", "owner__email"]
    else:
        columns = ["created_at"]
    # Contacts without an owner come last either way, on SQLite as on PostgreSQL.
    order = [
        F(c).desc(nulls_last=True) if descending else F(c).asc(nulls_last=True) for c in columns
    ]
    return qs.order_by(*order, "-id" if descending else "id")


def contact_get(*, workspace: Workspace, contact_id: int) -> Contact:
    try:
        return (
            Contact.objects.for_workspace(workspace)
            .select_related("company", "owner")
            .get(pk=contact_id)
        )
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such contact") from None


def contact_consents(*, workspace: Workspace, contact: Contact) -> dict[str, Consent]:
    return {c.purpose: c for c in Consent.objects.for_workspace(workspace).filter(contact=contact)}


def contact_is_emailable(*, workspace: Workspace, contact: Contact) -> bool:
    """Whether this contact may be sent marketing email (`ContactQuerySet.emailable`)."""
    return Contact.objects.for_workspace(workspace).emailable().filter(pk=contact.pk).exists()


def company_list(
    *, workspace: Workspace, search: str = "", province: str = ""
) -> QuerySet[Company]:
    qs = Company.objects.for_workspace(workspace)
    if search:
        qs = qs.filter(Q(name__icontains=search.strip()) | Q(vat_number=search.strip()))
    if province:
        qs = qs.filter(province=province.upper())
    return qs.order_by("name", "id")


def company_get(*, workspace: Workspace, company_id: int) -> Company:
    try:
        return Company.objects.for_workspace(workspace).get(pk=company_id)
    except (Company.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such company") from None


def custom_fields(*, workspace: Workspace, entity: str = "contact") -> QuerySet[CustomField]:
    return CustomField.objects.for_workspace(workspace).filter(entity=entity)


def access_contact(*, workspace: Workspace, contact_id: Any) -> Contact:
    """Fetch and check in one call (Zulip's access_*): the contact of this workspace, or
    NotFound, another workspace's contact being as absent as a missing one."""
    return access_in_workspace(
        Contact, workspace=workspace, pk=contact_id, related=("company", "owner")
    )


def access_company(*, workspace: Workspace, company_id: Any) -> Company:
    return access_in_workspace(Company, workspace=workspace, pk=company_id)
