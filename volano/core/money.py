"""How an amount of money reads for a person, in the active language's number format."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format


def format_money(amount: Any, currency: str = "EUR") -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    text = number_format(value, 2, force_grouping=True)
    return f"€ {text}" if currency in ("", "EUR") else f"{text} {currency}"
