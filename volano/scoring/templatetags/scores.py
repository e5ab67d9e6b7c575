"""How a score is written, the same on every page and in every email: `{{ points|score }}`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def score(points: object) -> str:
    """Whole points, halves rounded away from zero (12.5 → 13, -2.5 → -3), in the active language's
    number format with thousands grouped ("1.250" in Italian, "1,250" in English).

    One rule for the contact page, the contacts list, My leads and the hand-off email: a score
    shown as 13 in one place is never 12 or 12.5 in another."""
    if points is None or points == "":
        return ""
    try:
        whole = Decimal(str(points)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(points)
    return number_format(whole, decimal_pos=0, use_l10n=True, force_grouping=True)
