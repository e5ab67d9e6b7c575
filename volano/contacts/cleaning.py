"""Turning what people type into clean values, with a message that says what is wrong.

Used by the services, the importer and the API alike, so a value is judged the same way
wherever it comes from. Each `clean_*` returns the clean value or raises `FieldError`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import phonenumbers
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email
from stdnum.it import codicefiscale, iva

from volano.core import geography


class FieldError(ValueError):
    """A value that cannot be used; str(error) is the message a user reads."""


# A quick pre-check that every address email-validator accepts also passes; rejects are re-judged
# by email-validator so the message is precise.
_EMAIL_QUICK = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"
)


def normalise_email(raw: str | None) -> str:
    """The form emails are stored and compared in: trimmed, lowercase."""
    return (raw or "").strip().lower()


@lru_cache(maxsize=65536)
def clean_email(raw: str | None) -> str:
    email = normalise_email(raw)
    if not email:
        return ""
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise FieldError(_("not an email address (%(reason)s)") % {"reason": error}) from None
    return result.normalized.lower()


def clean_phone(raw: str | None, *, default_region: str = "IT") -> str:
    """Any way an Italian writes a phone number → E.164 (+393331234567)."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise FieldError(_("not a phone number")) from None
    if not phonenumbers.is_possible_number(number):
        raise FieldError(_("not a phone number (wrong number of digits)"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_vat_number(raw: str | None) -> str:
    """Partita IVA: 11 digits with a valid check digit; an "IT" prefix and spaces are dropped."""
    text = re.sub(r"[\s.-]", "", (raw or "")).upper()
    if text.startswith("IT"):
        text = text[2:]
    if not text:
        return ""
    if not text.isdigit() or len(text) != 11:
        raise FieldError(_("a partita IVA has 11 digits"))
    if not iva.is_valid(text):
        raise FieldError(_("not a valid partita IVA (check digit does not match)"))
    return text


def clean_tax_code(raw: str | None) -> str:
    """Codice fiscale of a person (16 characters) or of a company (11 digits)."""
    text = re.sub(r"\s", "", raw or "").upper()
    if not text:
        return ""
    if text.isdigit():
        if len(text) == 11 and iva.is_valid(text):
            return text
        raise FieldError(_("not a valid codice fiscale"))
    if not codicefiscale.is_valid(text):
        raise FieldError(_("not a valid codice fiscale"))
    return text


def clean_province(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    code = geography.province_code(text)
    if code is None:
        raise FieldError(_("not an Italian province (use the two-letter code, e.g. MI)"))
    return code


def clean_region(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    name = geography.region_name(text)
    if name is None:
        raise FieldError(_("not an Italian region"))
    return name


def clean_postal_code(raw: str | None, *, country: str = "IT") -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    if country == "IT":
        if text.isdigit() and len(text) < 5:
            text = text.zfill(5)  # spreadsheets drop the leading zero of 00184
        if not re.fullmatch(r"\d{5}", text):
            raise FieldError(_("a CAP has 5 digits"))
    return text


def clean_country(raw: str | None) -> str:
    text = (raw or "").strip().upper()
    if not text:
        return "IT"
    if text in {"ITALIA", "ITALY"}:
        return "IT"
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise FieldError(_("use the two-letter country code (e.g. IT)"))
    return text


def clean_language(raw: str | None) -> str:
    text = (raw or "").strip().lower()
    if not text:
        return ""
    aliases = {"italiano": "it", "italian": "it", "inglese": "en", "english": "en"}
    text = aliases.get(text, text)
    if not re.fullmatch(r"[a-z]{2}(-[a-z]{2})?", text):
        raise FieldError(_("use a language code such as it or en"))
    return text


def clean_tags(raw: str | list | None) -> list[str]:
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else re.split(r"[;,|]", str(raw))
    seen: dict[str, None] = {}
    for item in items:
        tag = str(item).strip()
        if tag:
            seen.setdefault(tag[:60], None)
    return list(seen)


def parse_decimal(raw: str | int | float | Decimal | None) -> Decimal | None:
    """1.234,56 (Italian), 1,234.56 (English), 1234.56, "€ 1.234" → Decimal."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise FieldError("not a number")
    if isinstance(raw, int | float | Decimal):
        return Decimal(str(raw))
    text = re.sub(r"[\s€$£]|EUR", "", str(raw))
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".") if text.count(",") == 1 else text.replace(",", "")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    elif re.fullmatch(r"-?\d{1,3}\.\d{3}", text):
        text = text.replace(".", "")  # "1.234" is one thousand two hundred and thirty-four in Italy
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError("not a number") from None
    if not value.is_finite():
        raise FieldError("not a number")
    return value


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y", "%Y/%m/%d")


def parse_date(raw: str | dt.date | dt.datetime | None) -> dt.date | None:
    """31/12/2025 (Italian, day first), 2025-12-31 (ISO) → date."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    if not text:
        return None
    text = text.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FieldError("not a date (use 31/12/2025 or 2025-12-31)")


def parse_datetime(raw: str | dt.date | dt.datetime | None) -> dt.datetime | None:
    """ISO 8601 or an Italian date with optional time; naive values are read as Europe/Rome."""
    from zoneinfo import ZoneInfo

    if raw is None or raw == "":
        return None
    rome = ZoneInfo("Europe/Rome")
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=rome)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=rome)
    text = str(raw).strip()
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=rome)
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=rome)
        except ValueError:
            continue
    day = parse_date(text)
    assert day is not None
    return dt.datetime(day.year, day.month, day.day, tzinfo=rome)


_TRUE = {"1", "true", "yes", "y", "si", "sì", "s", "x", "vero", "on"}
_FALSE = {"0", "false", "no", "n", "falso", "off"}


def parse_boolean(raw: str | bool | int | None) -> bool | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError("not yes or no (use sì/no, yes/no, 1/0)")


# -- cleaners for services that report every problem at once ---------------------------------
# Each appends {"field", "message"} to `errors` and returns a usable value.

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e12")


def text_clean(raw: Any, field: str, limit: int, errors: list[dict]) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str | int):
        errors.append({"field": field, "message": "must be a string"})
        return ""
    text = str(raw).strip()
    if len(text) > limit:
        errors.append({"field": field, "message": f"at most {limit} characters"})
    return text


def amount_clean(
    raw: Any,
    field: str,
    errors: list[dict],
    step: Decimal = CENT,
    *,
    minimum: str = "",
) -> Decimal | None:
    """A money amount or quantity to `step`; `minimum` "zero" refuses negatives, "positive"
    refuses zero too."""
    try:
        value = parse_decimal(raw)
    except FieldError as error:
        errors.append({"field": field, "message": str(error)})
        return None
    if value is None:
        return None
    if abs(value) >= MAX_AMOUNT:
        errors.append({"field": field, "message": "too large"})
        return None
    if minimum and (value < 0 or (minimum == "positive" and value == 0)):
        message = "must be more than 0" if minimum == "positive" else "≥ 0"
        errors.append({"field": field, "message": message})
        return None
    return value.quantize(step, rounding=ROUND_HALF_UP)
