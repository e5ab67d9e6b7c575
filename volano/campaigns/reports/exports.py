"""A report's table as CSV or XLSX (every cell through `volano.core.exports`, so no text
becomes a live formula). Amounts stay numbers; the header is in the active language."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from volano.campaigns.reports.selectors import Report
from volano.core.exports import csv_lines, xlsx_row


def _plain(row: list[Any]) -> list[Any]:
    return [float(value) if isinstance(value, Decimal) else value for value in row]


def report_csv(report: Report, *, delimiter: str = ",") -> Iterator[str]:
    return csv_lines(report.table(), delimiter=delimiter)


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(report.name[:31])
    for row in report.table():
        sheet.append(xlsx_row(sheet, _plain(row)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
