"""{{ amount|euro }}: an amount in euro with the separators of the language in use."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def euro(amount: Any) -> str:
    """€ 12.500,00 in Italian, € 12,500.00 in English; empty for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return f"€ {number_format(value, 2, force_grouping=True)}"


@register.filter
def initials(user: Any) -> str:
    """ "SE" for Sara Esposito, "S" for sara@… without a name: the owner's badge on a card."""
    name = (getattr(user, "full_name", "") or "").strip()
    if name:
        return "".join(word[0] for word in name.split()[:2]).upper()
    return (getattr(user, "email", "") or "?")[:1].upper()
