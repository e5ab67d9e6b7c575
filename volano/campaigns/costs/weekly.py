"""Weekly spend per channel, the generic file a media-mix model is fed with:
`week;channel;spend` (or `settimana;canale;spesa`), one row per week and channel.

The week is the date of its first day (2026-01-05, 05/01/2026) or an ISO week (2026-W02); its
spend is spread over the week's seven days. The channel is kept as written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from volano.campaigns.costs.parsers import RowProblem, norm, parse_amount, parse_date, read_table

WEEK = ("week", "settimana", "week start", "inizio settimana")
CHANNEL = ("channel", "canale")
SPEND = ("spend", "spesa", "cost", "costo")
CURRENCY = ("currency", "valuta")


@dataclass
class WeekRow:
    row: int
    channel: str
    channel_column: str
    start: dt.date
    end: dt.date
    amount: Decimal
    amount_column: str
    currency: str = ""
    currency_column: str = ""


@dataclass
class WeeklyFile:
    headers: list[str]
    rows: list[WeekRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _index(headers: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in headers:
            return headers.index(name)
    return None


def parse_week(text: str) -> dt.date | None:
    match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", (text or "").strip(), re.I)
    if match:
        try:
            return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError:
            return None
    return parse_date(text)


def parse_weekly_file(content: bytes, filename: str = "") -> WeeklyFile | None:
    """The weekly rows, or None when the file is not a weekly spend file (no header row with a
    week, a channel and a spend column)."""
    table, _spreadsheet = read_table(content, filename)
    for position, (_number, cells) in enumerate(table[:20]):
        headers = [norm(c).lstrip("\ufeff") for c in cells]
        week, channel, spend = (_index(headers, n) for n in (WEEK, CHANNEL, SPEND))
        if week is None or channel is None or spend is None:
            continue
        currency = _index(headers, CURRENCY)
        italian = "settimana" in headers or "canale" in headers or "spesa" in headers
        parsed = WeeklyFile(headers=cells)
        for number, row in table[position + 1 :]:
            if not row or all(not c.strip() for c in row):
                continue

            def cell(index: int | None, row: list[str] = row) -> str:
                return row[index].strip() if index is not None and index < len(row) else ""

            start = parse_week(cell(week))
            if start is None:
                parsed.problems.append(
                    RowProblem(
                        number, cells[week], cell(week), _("not a week (a date or 2026-W05)")
                    )
                )
                continue
            name = cell(channel)
            if not name:
                parsed.problems.append(RowProblem(number, cells[channel], "", _("no channel")))
                continue
            try:
                amount = parse_amount(cell(spend), decimal_comma=italian)
            except ValueError:
                parsed.problems.append(
                    RowProblem(number, cells[spend], cell(spend), _("not an amount"))
                )
                continue
            if amount is not None and amount < 0:
                parsed.problems.append(
                    RowProblem(number, cells[spend], cell(spend), _("a cost cannot be negative"))
                )
                continue
            parsed.rows.append(
                WeekRow(
                    row=number,
                    channel=name,
                    channel_column=cells[channel],
                    start=start,
                    end=start + dt.timedelta(days=6),
                    amount=amount or Decimal(0),
                    amount_column=cells[spend],
                    currency=cell(currency).upper(),
                    currency_column=cells[currency] if currency is not None else "",
                )
            )
        return parsed
    return None
