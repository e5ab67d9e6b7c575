"""What a template may read about a contact, as plain dicts (never model instances).

`contact.*`, `company.*`, `owner.*`, custom fields by key (`contact.custom.<key>`,
`company.custom.<key>`), and `blocks.<key>`. Loaded for many contacts in one query."""

from __future__ import annotations

from typing import Any

CONTACT_FIELDS = (
    "email", "first_name", "last_name", "full_name", "phone", "job_title", "street",
    "postal_code", "city", "province", "region", "country", "language", "lifecycle_stage",
    "tags",
)  # fmt: skip
COMPANY_FIELDS = (
    "name", "vat_number", "sector", "size_band", "street", "postal_code", "city", "province",
    "region", "country", "website", "phone",
)  # fmt: skip
OWNER_FIELDS = ("full_name", "first_name", "last_name", "email")
ROOTS = {"contact": CONTACT_FIELDS, "company": COMPANY_FIELDS, "owner": OWNER_FIELDS}


def _owner(user: Any) -> dict:
    if user is None:
        return {}
    full = user.full_name or ""
    first, _, last = full.partition(" ")
    return {"full_name": full, "first_name": first, "last_name": last, "email": user.email}


def contact_context(contact: Any) -> dict[str, Any]:
    data = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    data["custom"] = dict(contact.custom or {})
    company = contact.company
    company_data: dict[str, Any] = {}
    if company is not None:
        company_data = {name: getattr(company, name) for name in COMPANY_FIELDS}
        company_data["custom"] = dict(company.custom or {})
    # empty values read as missing, so `|default("cliente")` applies to a blank first name
    return {
        "contact": {k: v for k, v in data.items() if v not in ("", None)},
        "company": {k: v for k, v in company_data.items() if v not in ("", None)},
        "owner": {k: v for k, v in _owner(contact.owner).items() if v},
    }
