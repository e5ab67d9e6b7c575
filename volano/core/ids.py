"""Reading a row id out of text that may also be a slug, an email or anything a person typed."""

from __future__ import annotations

INT64_MAX = 2**63 - 1


def row_id(value: str | int) -> int | None:
    """ "42" or 42 as 42; None for anything that is no id: a slug, a digit int() cannot read
    ("¹", which str.isdigit() accepts) or a number past 64 bits, which no id column holds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= INT64_MAX else None
