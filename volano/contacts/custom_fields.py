"""Typed custom fields: checking values against a workspace's field definitions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from volano.contacts.cleaning import FieldError, parse_boolean, parse_date, parse_decimal
from volano.contacts.models import CustomField, FieldType


def clean_custom_value(field: CustomField, raw: Any) -> Any:
    """One value for one field, as stored in JSON: numbers as numbers, dates as ISO strings."""
    if raw is None or raw == "" or raw == []:
        if field.required:
            raise FieldError(_("is required"))
        return None
    match field.type:
        case FieldType.TEXT:
            return str(raw).strip()
        case FieldType.NUMBER:
            value = parse_decimal(raw)
            return (
                None
                if value is None
                else (int(value) if value == value.to_integral() else float(value))
            )
        case FieldType.MONEY:
            value = parse_decimal(raw)
            return None if value is None else float(round(value, 2))
        case FieldType.DATE:
            day = parse_date(raw)
            return day.isoformat() if day else None
        case FieldType.BOOLEAN:
            return parse_boolean(raw)
        case FieldType.CHOICE:
            return _choice(field, str(raw).strip())
        case FieldType.MULTI_CHOICE:
            items = (
                raw
                if isinstance(raw, list)
                else str(raw).replace("|", ";").replace(",", ";").split(";")
            )
            return [_choice(field, str(item).strip()) for item in items if str(item).strip()]
    raise FieldError(_("unknown field type %(type)s") % {"type": field.type})


def _choice(field: CustomField, text: str) -> str:
    for choice in field.choices:
        if str(choice).strip().lower() == text.lower():
            return str(choice)
    raise FieldError(
        _("%(value)s is not one of: %(choices)s")
        % {"value": repr(text), "choices": ", ".join(map(str, field.choices))}
    )


def clean_custom(
    fields: Iterable[CustomField], values: dict[str, Any], *, partial: bool = True
) -> tuple[dict, list[dict]]:
    """Check a dict of custom values. Returns (clean values, errors as {"field", "message"}).

    Unknown keys are errors. With `partial`, required fields that are absent are not reported
    (an update that leaves them alone is fine).
    """
    by_key = {f.key: f for f in fields}
    clean: dict[str, Any] = {}
    errors: list[dict] = []
    for key, raw in values.items():
        field = by_key.get(key)
        if field is None:
            errors.append({"field": f"custom.{key}", "message": _("unknown custom field")})
            continue
        try:
            clean[key] = clean_custom_value(field, raw)
        except FieldError as error:
            errors.append({"field": f"custom.{key}", "message": str(error)})
    if not partial:
        for key, field in by_key.items():
            if field.required and key not in values:
                errors.append({"field": f"custom.{key}", "message": _("is required")})
    return clean, errors
