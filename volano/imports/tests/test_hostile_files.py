"""Files built to break the reader: each is refused with a message naming the limit, or its bad
cell becomes a row error while the rows around it are read. Peak memory of the same files is
measured by bench/import_hostile.py, not here (no timed or memory assertions in unit tests)."""

from __future__ import annotations

import struct

import pytest

from volano.imports.reading import FileUnusable, open_table, preview
from volano.imports.services import import_file

from . import hostile_files as hostile


def _refusal(path) -> str:
    with pytest.raises(FileUnusable) as refused:
        table = open_table(path)
        for _row in table.rows:
            pass
    return refused.value.message


def test_a_huge_header_cell_is_refused_naming_the_limit(tmp_path):
    message = _refusal(hostile.huge_header_cell(tmp_path / "cella.xlsx", 5_000_000))
    assert "column 1" in message
    assert "5,000,000 characters" in message
    assert "32,767" in message and "VOLANO_IMPORT_MAX_CELL_CHARS" in message


def test_a_huge_shared_string_in_the_header_is_refused(tmp_path):
    sheet = [hostile.row_xml(1, [hostile.shared_cell(1, 1, 0), hostile.shared_cell(2, 1, 1)])]
    strings = ["<si><t>", *hostile.repeated("y", 100_000), "</t></si><si><t>Email</t></si>"]
    path = hostile.write_xlsx(tmp_path / "condivisa.xlsx", sheet, shared_strings=strings)
    message = _refusal(path)
    assert "100,000 characters" in message and "32,767" in message


def test_a_shared_strings_part_past_its_limit_is_refused(tmp_path, settings):
    settings.VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES = 1_000_000
    path = hostile.huge_shared_strings(tmp_path / "stringhe.xlsx", 100_000)
    message = _refusal(path)
    assert "xl/sharedStrings.xml" in message
    assert "1,000,000" in message and "VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES" in message


def test_many_shared_strings_under_the_limit_are_read(tmp_path):
    table, sample = preview(hostile.huge_shared_strings(tmp_path / "stringhe.xlsx", 50_000))
    assert table.headers == ["Email", "Nome"]
    assert sample == [["anna@example.it", "Anna"]]


def test_a_zip_bomb_is_refused_from_its_declared_size(tmp_path, settings):
    settings.VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES = 10_000_000
    path = hostile.zip_bomb(tmp_path / "bomba.xlsx", 50_000_000)
    assert path.stat().st_size < 1_000_000
    message = _refusal(path)
    assert "too big once uncompressed" in message
    assert "10,000,000" in message and "VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES" in message


def test_a_zip_that_lies_about_its_sizes_is_refused(tmp_path, settings):
    """The directory says the sheet is small; the bytes decompress to far more."""
    path = hostile.zip_bomb(tmp_path / "bugiarda.xlsx", 5_000_000)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        (name_length,) = struct.unpack_from("<H", data, at + 28)
        if data[at + 46 : at + 46 + name_length] == name:
            struct.pack_into("<I", data, at + 24, 1000)  # the declared uncompressed size
            break
        at = data.find(b"PK\x01\x02", at + 4)
    assert at >= 0
    path.write_bytes(bytes(data))
    message = _refusal(path)
    assert "not a readable Excel .xlsx file" in message and "CRC" in message


def test_twenty_thousand_columns_are_refused(tmp_path):
    message = _refusal(hostile.wide_header(tmp_path / "largo.xlsx", 20_000))
    assert "more than 2,000 columns" in message and "VOLANO_IMPORT_MAX_COLUMNS" in message


def test_twenty_thousand_csv_columns_are_refused(tmp_path):
    path = tmp_path / "largo.csv"
    path.write_text(";".join(f"Colonna {n}" for n in range(20_000)) + "\n")
    message = _refusal(path)
    assert "20,000 columns" in message and "VOLANO_IMPORT_MAX_COLUMNS" in message


def test_a_zip_directory_with_too_many_parts_is_refused(tmp_path):
    path = hostile.write_xlsx(
        tmp_path / "parti.xlsx",
        [hostile.row_xml(1, [hostile.inline_cell(1, 1, "Email")])],
        extra_parts=10_001,
    )
    assert "zip directory" in _refusal(path)


def test_rows_past_the_limit_are_refused(tmp_path, settings, write_csv):
    settings.VOLANO_IMPORT_MAX_ROWS = 10
    rows = [hostile.row_xml(1, [hostile.inline_cell(1, 1, "Email")])] + [
        hostile.row_xml(n, [hostile.inline_cell(1, n, f"p{n}@example.it")]) for n in range(2, 30)
    ]
    message = _refusal(hostile.write_xlsx(tmp_path / "righe.xlsx", rows))
    assert "more than 10 rows" in message and "VOLANO_IMPORT_MAX_ROWS" in message
    csv_path = write_csv("Email\n" + "".join(f"p{n}@example.it\n" for n in range(30)))
    assert "VOLANO_IMPORT_MAX_ROWS" in _refusal(csv_path)


def test_a_workbook_declaring_a_dtd_is_refused(tmp_path):
    """A DTD is how entity expansion ("billion laughs") starts: no part of a workbook needs one."""
    prolog, body = hostile.WORKBOOK.split("?>", 1)
    path = hostile.write_xlsx(
        tmp_path / "dtd.xlsx",
        [hostile.row_xml(1, [hostile.inline_cell(1, 1, "Email")])],
        workbook=prolog + '?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body,
    )
    assert "it declares a DTD" in _refusal(path)


def test_an_unclosed_quote_is_refused_with_its_line(write_csv):
    path = write_csv('Email;Nome\n"anna@example.it;Anna\n' + "riga\n" * 900_000)
    message = _refusal(path)
    assert message.startswith("line 2: a row longer than 4,000,000 characters")
    assert "never closed" in message


@pytest.mark.django_db
def test_a_huge_data_cell_is_a_row_error_and_the_other_rows_are_read(tmp_path, officina):
    for path in (
        hostile.csv_huge_cell(tmp_path / "cella.csv", 200_000),
        hostile.write_xlsx(
            tmp_path / "cella.xlsx",
            [
                hostile.row_xml(
                    1, [hostile.inline_cell(1, 1, "Email"), hostile.inline_cell(2, 1, "Nome")]
                ),
                hostile.row_xml(
                    2,
                    [
                        hostile.inline_cell(1, 2, "anna@example.it"),
                        hostile.inline_cell(2, 2, "x" * 200_000),
                    ],
                ),
                hostile.row_xml(
                    3,
                    [
                        hostile.inline_cell(1, 3, "mario@example.it"),
                        hostile.inline_cell(2, 3, "Mario"),
                    ],
                ),
            ],
        ),
    ):
        report = import_file(
            workspace=officina, actor=None, kind="contacts", path=path, dry_run=True
        )
        assert report.rows == 2 and report.created == 1, path.name
        [error] = report.errors
        assert error["row"] == 2 and error["column"] == "Nome"
        assert "200,000 characters" in error["message"] and "32,767" in error["message"]
        assert len(error["value"]) <= 200


def test_xlsx_values_match_what_excel_shows(write_xlsx):
    import datetime as dt

    path = write_xlsx(
        [
            ["Nome", "Iscritto", "Quota", "Data", "Ora", "Punti"],
            ["Anna", True, 12.5, dt.date(2025, 1, 31), dt.datetime(2025, 1, 31, 9, 30), 1e3],
            [None, None, None, None, None, 7],
        ]
    )
    table = open_table(path)
    assert list(table.rows) == [
        (2, ["Anna", "1", "12.5", "2025-01-31", "2025-01-31T09:30:00", "1000"]),
        (3, ["", "", "", "", "", "7"]),
    ]


def test_only_the_first_sheet_is_read_and_the_report_says_so(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Clienti"
    workbook.active.append(["Email"])
    workbook.active.append(["anna@example.it"])
    workbook.create_sheet("Altro").append(["Nome"])
    workbook.save(tmp_path / "due.xlsx")
    table = open_table(tmp_path / "due.xlsx")
    assert table.notes == ["only the first sheet (Clienti) was read"]
    assert list(table.rows) == [(2, ["anna@example.it"])]


def test_a_sheet_declaring_too_many_rows_is_refused_before_any_row(tmp_path, settings):
    settings.VOLANO_IMPORT_MAX_ROWS = 10
    path = hostile.write_xlsx(
        tmp_path / "dichiarate.xlsx",
        ['<row r="1">' + hostile.inline_cell(1, 1, "Email") + "</row>"],
        dimension="A1:A5000",
    )
    with pytest.raises(FileUnusable, match="more than 10 rows"):
        open_table(path)
