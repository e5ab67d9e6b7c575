"""Export a segment or list: CSV and XLSX of the members, and a remarketing audience file.

Everything streams: rows are read in chunks from the database (`iterator`) and written as they
come, so a segment of a million contacts never sits in memory. The audience file carries only
SHA-256 hashes of normalised emails and phones, as Google Ads Customer Match and Meta Custom
Audiences expect, and only for contacts whose consent to third-party use is granted. Every cell
goes through volano/core/exports.py, so no stored text reaches a spreadsheet as a live formula.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet

from volano.contacts.models import Consent, ConsentStatus, Contact, Purpose
from volano.core.exports import csv_lines, xlsx_row
from volano.core.models import Workspace

CHUNK = 2000
COLUMNS = [
    ("id", "id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("phone", "phone"),
    ("job_title", "job_title"),
    ("company", "company__name"),
    ("city", "city"),
    ("province", "province"),
    ("region", "region"),
    ("country", "country"),
    ("created_at", "created_at"),
]
PLATFORMS = ("google", "meta")


def export_rows(*, workspace: Workspace, contacts: QuerySet[Contact]) -> Iterator[list[Any]]:
    """The header, then one row per contact, read in chunks."""
    yield [name for name, _ in COLUMNS]
    scoped = Contact.objects.for_workspace(workspace).filter(pk__in=contacts.values("pk"))
    for row in scoped.order_by("pk").values_list(*[f for _, f in COLUMNS]).iterator(CHUNK):
        yield ["" if value is None else value for value in row]


def export_csv(*, workspace: Workspace, contacts: QuerySet[Contact]) -> Iterator[str]:
    """CSV text, line by line (for a StreamingHttpResponse or a file)."""
    return csv_lines(export_rows(workspace=workspace, contacts=contacts))


def export_xlsx(*, workspace: Workspace, contacts: QuerySet[Contact], out: IO[bytes]) -> None:
    """An .xlsx workbook written with openpyxl's write-only mode (rows are not kept)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("contacts")
    for row in export_rows(workspace=workspace, contacts=contacts):
        sheet.append(xlsx_row(sheet, row))
    book.save(out)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def normalise_phone(phone: str, platform: str = "google") -> str:
    """E.164 (`+393331234567`) for Google; the same digits without `+` for Meta."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if not digits:
        return ""
    if (phone or "").strip().startswith("00"):
        digits = digits[2:]
    return ("+" + digits) if platform == "google" else digits


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


def audience_rows(
    *, workspace: Workspace, contacts: QuerySet[Contact], platform: str = "google"
) -> Iterator[list[str]]:
    """Header then (hashed email, hashed phone) for consenting contacts with an email or phone."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform is one of {PLATFORMS}")
    yield ["Email", "Phone"] if platform == "google" else ["email", "phone"]
    consenting = Consent.objects.for_workspace(workspace).filter(
        purpose=Purpose.THIRD_PARTY, status=ConsentStatus.GRANTED
    )
    scoped = (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=contacts.values("pk"))
        .filter(pk__in=consenting.values("contact_id"))
    )
    for email, phone in scoped.order_by("pk").values_list("email", "phone").iterator(CHUNK):
        hashed = [sha256(normalise_email(email)), sha256(normalise_phone(phone, platform))]
        if any(hashed):
            yield hashed


def audience_csv(
    *, workspace: Workspace, contacts: QuerySet[Contact], platform: str = "google"
) -> Iterator[str]:
    return csv_lines(audience_rows(workspace=workspace, contacts=contacts, platform=platform))
