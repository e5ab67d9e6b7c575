"""A plan as CSV or XLSX (openpyxl is a dependency): one row per line with its twelve months,
quarters, total, actual, forecast and variance for the year, and pipeline and revenue for the
lines shared with sales. Every cell goes through `volano.core.exports`, so no text becomes a
live formula. In Italian the CSV is `;`-separated with decimal commas, as Italian Excel reads
it; the XLSX keeps amounts as numbers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from volano.budgets.plan_models import Plan
from volano.budgets.plan_selectors import export_table
from volano.core.exports import csv_delimiter, csv_lines, xlsx_row


def _cell(value: Any, decimal_comma: bool) -> Any:
    if isinstance(value, Decimal):
        text = f"{value.quantize(Decimal('0.01'))}"
        return text.replace(".", ",") if decimal_comma else text
    return value


def plan_csv(plan: Plan, *, today: dt.date, language: str | None) -> Iterator[str]:
    delimiter = csv_delimiter(language)
    comma = delimiter == ";"
    rows = ([_cell(v, comma) for v in row] for row in export_table(plan, today=today))
    yield "\ufeff"
    yield from csv_lines(rows, delimiter=delimiter)


def plan_xlsx(plan: Plan, *, today: dt.date) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(plan.year))
    for row in export_table(plan, today=today):
        plain = [float(v) if isinstance(v, Decimal) else v for v in row]
        sheet.append(xlsx_row(sheet, plain))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
