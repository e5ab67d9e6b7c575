"""The one helper every export writes its cells through (OWASP CSV injection)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from volano.core.exports import csv_cell, csv_text, xlsx_row


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("x")']
)
def test_text_a_spreadsheet_would_run_gets_a_quote_in_csv(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Mario", "mario@x.it", "", "1-2", "'già"])
def test_other_text_is_written_as_it_is(value):
    assert csv_cell(value) == value


def test_numbers_and_dates_keep_their_type():
    assert csv_cell(-5) == -5 and csv_cell(Decimal("-1.50")) == Decimal("-1.50")
    assert csv_cell(None) == ""
    assert csv_cell(dt.date(2026, 1, 31)) == "2026-01-31"
    assert csv_text([["a", "=b"], [1, "-c"]]) == "a,'=b\r\n1,'-c\r\n"


def test_xlsx_cells_that_would_run_are_text_with_the_quote_prefix():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("s")
    stamp = dt.datetime(2026, 1, 31, 9, 30, tzinfo=dt.UTC)
    sheet.append(xlsx_row(sheet, ["=1+1", "\t@x", -5, "ok", None, stamp]))
    out = io.BytesIO()
    book.save(out)
    row = next(load_workbook(out).active.iter_rows())
    assert [c.value for c in row[:4]] == ["=1+1", "\t@x", -5, "ok"]
    assert [(c.data_type, c.quotePrefix) for c in row[:4]] == [
        ("s", True),
        ("s", True),
        ("n", False),
        ("s", False),
    ]
    assert row[5].value == dt.datetime(2026, 1, 31, 9, 30)
