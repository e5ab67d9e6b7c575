"""Cells for every file Volano exports (CSV, XLSX): no text a contact, a visitor or an import
typed ever reaches a spreadsheet as a live formula.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel,
LibreOffice and Google Sheets run as a formula (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`,
`@SUM(…)`). As OWASP recommends, such a cell is marked as text with a single quote: in CSV the
quote is written before the value; in XLSX the cell is written as text with Excel's own
quote-prefix flag (what typing `'` in Excel does), so the value reads exactly as stored and stays
text even when the cell is edited. Numbers stay numbers: a negative amount is not a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: text that a spreadsheet would run gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if formula_like(value):
        return "'" + value
    return value


def csv_delimiter(language: str | None) -> str:
    """The separator a spreadsheet in that language expects: Italian Excel reads `;` (the comma
    is its decimal mark) and puts a whole `,`-separated line into one column."""
    return ";" if (language or "").split("-")[0] == "it" else ","


def csv_lines(rows: Iterable[Iterable[Any]], *, delimiter: str = ",") -> Iterator[str]:
    """CSV text, one line at a time (for a StreamingHttpResponse), every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)


def csv_text(rows: Iterable[Iterable[Any]], *, delimiter: str = ",") -> str:
    return "".join(csv_lines(rows, delimiter=delimiter))


def xlsx_row(sheet: Any, row: Iterable[Any]) -> list[Any]:
    """One row for `sheet.append` of an openpyxl write-only sheet: text that a spreadsheet would
    run becomes a text cell with the quote-prefix flag (openpyxl alone would even turn "=…" into
    a real formula); datetimes lose their time zone, which XLSX cannot hold."""
    from openpyxl.cell import WriteOnlyCell

    cells: list[Any] = []
    for value in row:
        if formula_like(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            cells.append(cell)
        elif isinstance(value, dt.datetime) and value.tzinfo is not None:
            cells.append(value.replace(tzinfo=None))
        else:
            cells.append("" if value is None else value)
    return cells
