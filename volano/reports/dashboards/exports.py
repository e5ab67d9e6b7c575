"""A widget's table as CSV or Excel: every cell through `volano.core.exports` (no text becomes
a live formula); numbers stay numbers, dates stay dates, the header is in the user's language."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from volano.core.exports import xlsx_row
from volano.reports.dashboards.kpis import Result


def plain(rows: list[list[Any]]) -> list[list[Any]]:
    return [[float(v) if isinstance(v, Decimal) else v for v in row] for row in rows]


def result_xlsx(result: Result) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(result.key[:31])
    for row in plain(result.table()):
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
