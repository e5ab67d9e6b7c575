from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook


@pytest.fixture
def write_csv(tmp_path):
    """write_csv("a;b\n1;2\n", encoding="cp1252") → path of a CSV file with those bytes."""

    def write(text: str, *, encoding: str = "utf-8", name: str = "file.csv"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def write_xlsx(tmp_path):
    def write(rows: list[list], *, name: str = "file.xlsx"):
        workbook = Workbook()
        sheet = workbook.active
        for row in rows:
            sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return write


ITALIAN_XLSX_ROWS = [
    ["Nome", "Cognome", "E-mail", "Cellulare", "CAP", "Provincia", "Data iscrizione"],
    [
        "Mario",
        "Rossi",
        "mario.rossi@example.it",
        3331234567,
        20121,
        "MI",
        dt.datetime(2025, 12, 31),
    ],
    ["Luca", "Bianchi", "luca.bianchi@", "333 7654321", "00184", "RM", None],
    ["Anna", "Verdi", "anna.verdi@example.it", "+39 02 1234567", 184, "Roma", None],
]
