"""`{{ value|kpi:"money" }}`: a dashboard figure in the user's language (Italian: 1.234,5), by
its kind; nothing to show ("—") for None or a value that is not a finite number."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils import formats

register = template.Library()

DIGITS = {"int": 0, "money": 0, "percent": 1, "ratio": 2, "days": 1, "hours": 1, "score": 0}


@register.filter
def kpi(value: Any, kind: str = "int") -> str:
    if value is None or kind == "text":
        return "—" if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "—"
    if kind == "percent":
        number *= 100
    text = formats.number_format(number, DIGITS.get(kind, 0), use_l10n=True, force_grouping=True)
    return f"{text} %" if kind == "percent" else text


@register.filter
def kpi_change(value: Any) -> str:
    """A relative change as "+12,5 %" / "−3,0 %"; "" when there is nothing to compare with."""
    if value is None or not math.isfinite(float(value)):
        return ""
    text = formats.number_format(abs(float(value)) * 100, 1, use_l10n=True, force_grouping=True)
    return f"{'+' if value >= 0 else '−'}{text} %"


@register.filter
def cell(row: dict, key: str) -> Any:
    return row.get(key)
