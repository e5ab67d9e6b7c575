"""Turning spreadsheet rows into clean values, fast, with an error per bad cell.

The per-row work is kept tiny because an import reads a million rows: each mapped column has one
cleaner, chosen once; the common cases (a plain email, an Italian phone number, a CAP) are judged
by a quick check, and only what fails it goes through `volano.contacts.cleaning`, which gives the
precise message. A value is judged exactly as the services and the API judge it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from volano.contacts import cleaning
from volano.contacts.cleaning import _EMAIL_QUICK, FieldError
from volano.contacts.custom_fields import clean_custom_value
from volano.contacts.models import ConsentStatus, SizeBand
from volano.core import geography
from volano.imports.reading import Table

MAX_LISTED = 50_000  # errors and warnings kept in a report; the counts stay exact


@dataclass(frozen=True)
class Checkpoint:
    """What the chunks written so far hold. An importer hands one over inside each chunk's
    transaction, so the job's copy commits with the rows it counts; a job that resumes skips
    the first `chunks` chunks (chunking is deterministic for a file and a mapping) and starts
    from these counts."""

    chunks: int = 0
    rows: int = 0  # rows of the file read up to the end of the last chunk written
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0


@dataclass
class ImportReport:
    kind: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set, repr=False)

    def error(self, row: int, column: str, value: Any, message: str) -> None:
        self.error_count += 1
        self.error_rows.add(row)
        if len(self.errors) < MAX_LISTED:
            self.errors.append(
                {"row": row, "column": column, "value": _shown(value), "message": message}
            )

    def warning(self, row: int, column: str, value: Any, message: str) -> None:
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(
                {"row": row, "column": column, "value": _shown(value), "message": message}
            )

    def checkpoint(self, *, chunks: int, rows: int, error_count: int) -> Checkpoint:
        """The counts of the chunks written so far; `rows` and `error_count` as they were when
        chunk number `chunks` was cut (the reader runs ahead of the writer)."""
        return Checkpoint(
            chunks=chunks,
            rows=rows,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            error_count=error_count,
        )

    def resume_from(self, point: Checkpoint | None) -> int:
        """Start from what an earlier run of the same job wrote; the chunks to skip. Rows and
        errors are counted again, as the skipped chunks are read again."""
        if point is None:
            return 0
        self.created, self.updated, self.unchanged = point.created, point.updated, point.unchanged
        return point.chunks

    def as_dict(self) -> dict:
        data = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
            "unmapped": self.unmapped,
            "dry_run": self.dry_run,
        }
        if self.error_count > len(self.errors):
            data["error_count"] = self.error_count
        if self.notes:
            data["notes"] = self.notes
        return data


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    if "\x00" in text:  # the report is stored as JSON, which PostgreSQL refuses NUL in
        text = text.replace("\x00", "\\0")
    return text if len(text) <= 200 else text[:199] + "…"


# --- fast cleaners -----------------------------------------------------------------------------


def email(raw: str) -> str:
    text = raw.strip().lower()
    if _EMAIL_QUICK.match(text):
        return text
    return cleaning.clean_email(text)


_PHONE_NOISE = str.maketrans("", "", " .-/()")


def phone(raw: str) -> str:
    text = raw.strip().replace(" ", "")
    if not text.isdigit():  # "+39…", or more noise than spaces: the full treatment
        text = text.translate(_PHONE_NOISE)
    if text.startswith("+39"):
        digits = text[3:]
    elif text.startswith("0039"):
        digits = text[4:]
    else:
        digits = text
    if digits.isdigit() and (
        (digits[0] == "3" and len(digits) == 10) or (digits[0] == "0" and 6 <= len(digits) <= 11)
    ):
        return "+39" + digits
    return cleaning.clean_phone(raw)


def postal_code(raw: str) -> str:
    text = raw.strip()
    if len(text) == 5 and text.isdigit():
        return text
    return cleaning.clean_postal_code(text)


province = lru_cache(maxsize=4096)(cleaning.clean_province)
region = lru_cache(maxsize=1024)(cleaning.clean_region)
country = lru_cache(maxsize=1024)(cleaning.clean_country)
language = lru_cache(maxsize=1024)(cleaning.clean_language)
vat_number = lru_cache(maxsize=65536)(cleaning.clean_vat_number)
tax_code = cleaning.clean_tax_code


def tags(raw: str) -> list[str]:
    return cleaning.clean_tags(raw)


def size_band(raw: str) -> str:
    value = raw.strip().replace(" ", "")
    if value not in SizeBand.values:
        raise FieldError(_("use one of %(choices)s") % {"choices": ", ".join(SizeBand.values)})
    return value


def consent(raw: str) -> str:
    value = cleaning.parse_boolean(raw)
    return ConsentStatus.GRANTED if value else ConsentStatus.DENIED


# The order columns' sizes (12 digits, 3 decimals for a quantity; 14 and 2 for money): a larger
# number is a row error here, not a chunk PostgreSQL refuses.
MAX_QUANTITY = Decimal("1e9")
MAX_MONEY = Decimal("1e11")  # a line's; ten of the largest still fit in an order's total


def quantity(raw: str):
    value = cleaning.parse_decimal(raw)
    if value is not None and abs(value) >= MAX_QUANTITY:
        raise FieldError(_("this number is too large"))
    return value


def money(raw: str):
    value = cleaning.parse_decimal(raw)
    if value is not None and abs(value) >= MAX_MONEY:
        raise FieldError(_("this amount is too large"))
    return value


def date(raw: str):
    return cleaning.parse_datetime(raw)


def currency(raw: str) -> str:
    value = raw.strip().upper()
    if value == "€":
        return "EUR"
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise FieldError(_("use a three-letter currency code (e.g. EUR)"))
    return value


CLEANERS: dict[str, Callable[[str], Any]] = {
    "email": email,
    "customer_email": email,
    "phone": phone,
    "postal_code": postal_code,
    "province": province,
    "region": region,
    "country": country,
    "language": language,
    "vat_number": vat_number,
    "company_vat_number": vat_number,
    "customer_vat_number": vat_number,
    "tax_code": tax_code,
    "website": cleaning.clean_website,
    "tags": tags,
    "size_band": size_band,
    "consent_email_marketing": consent,
    "consent_profiling": consent,
    "consent_third_party": consent,
    "date": date,
    "quantity": quantity,
    "unit_price": money,
    "amount": money,
    "currency": currency,
}


# Every text target is no longer than its database column, checked here so that both databases
# refuse the same cells, as row errors, before anything is written (SQLite would store a longer
# text, PostgreSQL would abort the whole chunk). Plain text targets are trimmed first; cleaned
# ones are checked as cleaned.
TEXT_LIMITS = {
    "email": 254,
    "customer_email": 254,
    "phone": 32,
    "postal_code": 10,
    "province": 2,
    "region": 60,
    "country": 2,
    "language": 8,
    "vat_number": 11,
    "company_vat_number": 11,
    "customer_vat_number": 11,
    "tax_code": 16,
    "currency": 3,
    "first_name": 100,
    "last_name": 100,
    "customer_first_name": 100,
    "customer_last_name": 100,
    "job_title": 200,
    "street": 200,
    "city": 120,
    "company": 200,
    "customer_company": 200,
    "name": 200,
    "sector": 120,
    "ateco_code": 10,
    "number": 64,
    "sku": 64,
    "product_name": 200,
    "product_line": 60,
    "status": 20,
    "channel": 20,
}


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    target: str
    clean: Callable[[str], Any] | None  # None: plain text, trimmed, at most `limit` characters
    limit: int = 200  # for a cleaned value: 0 when it is not text kept in a column of its own
    custom_key: str | None = None


def build_plan(
    headers: list[str], mapping: dict[str, str], custom_fields: Iterable = ()
) -> tuple[list[Column], list[str]]:
    """The mapped columns with their cleaners, and the headers left out."""
    by_key = {f.key: f for f in custom_fields}
    plan: list[Column] = []
    unmapped: list[str] = []
    for index, header in enumerate(headers):
        target = mapping.get(header) or ""
        if not target:
            unmapped.append(header)
        elif target.startswith("custom."):
            key = target.removeprefix("custom.")
            custom = by_key[key]
            cleaner = _custom_cleaner(custom)
            plan.append(Column(index, header, target, cleaner, limit=0, custom_key=key))
        elif target in CLEANERS:
            plan.append(Column(index, header, target, CLEANERS[target], TEXT_LIMITS.get(target, 0)))
        else:
            plan.append(Column(index, header, target, None, TEXT_LIMITS.get(target, 200)))
    return plan, unmapped


def _custom_cleaner(custom) -> Callable[[str], Any]:
    def clean(raw: str) -> Any:
        try:
            return clean_custom_value(custom, raw)
        except ArithmeticError:  # a number past what a Decimal rounds (1e30 as money)
            raise FieldError(_("this number is too large")) from None

    return clean


def clean_rows(
    table: Table, plan: list[Column], report: ImportReport, *, keep_bad: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {target: clean value}) for every non-empty row without errors; only non-empty
    values are present, custom values are under "custom". Bad rows are reported and skipped
    (with `keep_bad`, yielded too, with their good values and "_bad": True)."""
    width = len(table.headers)
    # Plain tuples, unpacked once per cell: cheaper than a dataclass's attributes, a million
    # times over.
    columns = [(c.index, c.header, c.target, c.clean, c.limit, c.custom_key) for c in plan]
    bad_cells = table.bad_cells
    mapped = {c.index for c in plan}
    for line, cells in table.rows:
        unreadable = False
        if line in bad_cells:
            problems = [(i, m) for i, m in bad_cells.pop(line) if i < 0 or i in mapped]
            if problems:
                unreadable = True
                cells = _report_bad_cells(line, cells, problems, table.headers, report)
        if len(cells) != width:
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            elif not any(c.strip() for c in cells):
                continue
            else:
                report.rows += 1
                report.error(
                    line,
                    "",
                    " | ".join(cells),
                    ngettext(
                        "this row has %(cells)d cell but the header has %(width)d columns:"
                        " check separators and quotes in this row",
                        "this row has %(cells)d cells but the header has %(width)d columns:"
                        " check separators and quotes in this row",
                        len(cells),
                    )
                    % {"cells": len(cells), "width": width},
                )
                continue
        values: dict[str, Any] = {}
        bad = unreadable
        empty = not unreadable
        for index, header, target, clean, limit, custom_key in columns:
            raw = cells[index]
            if "\x00" in raw:
                # No database column takes it (PostgreSQL refuses it in text and JSON).
                report.error(
                    line,
                    header,
                    raw,
                    _(
                        "contains a NUL character (an invisible control character), which"
                        " cannot be stored: remove it from the file"
                    ),
                )
                empty, bad = False, True
                continue
            if clean is None:
                value = raw.strip()
                if not value:
                    continue
                empty = False
                if len(value) > limit:
                    report.error(line, header, raw, too_long(limit))
                    bad = True
                    continue
            else:
                if not raw or raw.isspace():
                    continue
                empty = False
                try:
                    value = clean(raw)
                except FieldError as error:
                    report.error(line, header, raw, str(error))
                    bad = True
                    continue
                if value is None or value == "" or value == []:
                    continue
                if limit and value.__class__ is str and len(value) > limit:
                    report.error(line, header, raw, too_long(limit))
                    bad = True
                    continue
            if custom_key is not None:
                values.setdefault("custom", {})[custom_key] = value
            else:
                values[target] = value
        if empty and not any(c.strip() for c in cells):
            continue
        report.rows += 1
        if not bad:
            yield line, values
        elif keep_bad:
            values["_bad"] = True
            yield line, values


def too_long(limit: int) -> str:
    return _("too long (at most %(limit)s characters)") % {"limit": limit}


def _report_bad_cells(
    line: int,
    cells: list[str],
    problems: list[tuple[int, str]],
    headers: list[str],
    report: ImportReport,
) -> list[str]:
    """Report the mapped cells the reader could not use (bad bytes, NUL, too long) and blank
    them, so the rest of the row is still judged and its other errors listed too. A bad cell in
    an ignored column costs nothing: it is not imported."""
    cells = list(cells)
    for index, message in problems:
        if index < 0:
            report.error(line, "", "", message)
            continue
        header = headers[index] if index < len(headers) else ""
        value = cells[index] if index < len(cells) else ""
        # NUL shown as \0: the report is stored as JSON, which PostgreSQL refuses NUL in.
        report.error(line, header, value.replace("\x00", "\\0"), message)
        if index < len(cells):
            cells[index] = ""
    return cells


def fill_address(values: dict[str, Any]) -> None:
    """The comune and province from the CAP and the region from the province, when the file
    leaves them out (as contact_create does for the API)."""
    if "postal_code" in values and ("province" not in values or "city" not in values):
        comune = _comune(values["postal_code"], values.get("city"))
        if comune is not None and values.get("province", comune.province) == comune.province:
            values["province"] = comune.province
            values.setdefault("city", comune.name)
    if "province" in values and "region" not in values:
        found = _region_of(values["province"])
        if found:
            values["region"] = found


_region_of = lru_cache(maxsize=1024)(geography.region_of)


@lru_cache(maxsize=16384)
def _comune(cap: str, city: str | None):
    return geography.comune_for(cap=cap, city=city)


def chunked(iterator: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in iterator:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def combine_rows(into: dict[str, Any], later: dict[str, Any]) -> None:
    """Fold a later row of the same file about the same contact or company into the first one:
    later values win, custom fields merge key by key, tags add up."""
    for key, value in later.items():
        if key == "custom":
            into["custom"] = {**into.get("custom", {}), **value}
        elif key == "tags":
            into["tags"] = into.get("tags", []) + [
                t for t in value if t not in into.get("tags", [])
            ]
        else:
            into[key] = value
