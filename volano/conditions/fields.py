"""Which fields a condition may name, and which operators each kind of field accepts."""

from __future__ import annotations

import datetime as dt

from volano.contacts.models import ConsentStatus, FieldType, Purpose

TEXT_OPS: tuple[str, ...] = (
    "eq",
    "neq",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "is_set",
    "is_not_set",
)
NUMBER_OPS: tuple[str, ...] = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between")
NUMBER_OPS += ("is_set", "is_not_set")
DATE_OPS: tuple[str, ...] = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "older_than_days")
DATE_OPS += ("within_last_days", "is_set", "is_not_set")

OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": TEXT_OPS,
    "choice": ("eq", "neq", "in", "not_in", "is_set", "is_not_set"),
    "number": NUMBER_OPS,
    "date": DATE_OPS,
    "datetime": DATE_OPS,
    "boolean": ("eq", "neq", "is_set", "is_not_set"),
    "multi_choice": ("contains", "is_set", "is_not_set"),
    "tags": ("contains", "is_set", "is_not_set"),
    "owner": ("eq", "neq", "in", "not_in", "is_set", "is_not_set"),
    "consent": ("eq", "neq", "in", "not_in"),
    "score": ("eq", "neq", "gt", "gte", "lt", "lte", "between"),
}
ALL_OPS = tuple(dict.fromkeys(op for ops in OPS_BY_KIND.values() for op in ops))

# Negative operators are compiled and evaluated as the exact complement of their positive twin.
NEGATIONS = {"neq": "eq", "not_in": "in", "is_not_set": "is_set"}

CONTACT_TEXT = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "language",
    "source",
)
CONTACT_DATETIME = ("created_at", "updated_at", "lifecycle_changed_at")
LIFECYCLE_STAGES = (
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "lost_customer",
    "disqualified",
    "recycled",
)
COMPANY_TEXT: tuple[str, ...] = ("name", "vat_number", "ateco_code", "sector", "size_band")
COMPANY_TEXT += ("province", "region", "city")

CUSTOM_KINDS: dict[str, str] = {
    FieldType.TEXT: "text",
    FieldType.NUMBER: "number",
    FieldType.MONEY: "number",
    FieldType.DATE: "date",
    FieldType.BOOLEAN: "boolean",
    FieldType.CHOICE: "choice",
    FieldType.MULTI_CHOICE: "multi_choice",
}

CONSENT_PURPOSES = tuple(Purpose.values)
CONSENT_VALUES = (*ConsentStatus.values, "none")

MAX_IN_ITEMS = 1000
# Bounds that keep every valid condition computable on both databases (docs/conditions.md):
# numbers exact in a double and far inside a bigint; days and dates that survive "today minus
# N days" and a window's end plus a day; a tree small and shallow enough for one statement.
MAX_NUMBER = 2**53
MAX_DAYS = 36_500
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2200, 12, 31)
MAX_GROUP_ITEMS = 100
MAX_CONDITIONS = 200
MAX_DEPTH = 10
MAX_VALUES = 5_000
