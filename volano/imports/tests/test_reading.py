"""Reading files: encodings, separators, Excel, and files that cannot be used at all."""

from __future__ import annotations

import pytest

from volano.imports.reading import FileUnusable, open_table


def _rows(path):
    table = open_table(path)
    return table, list(table.rows)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", ""), ("utf-8", "\ufeff"), ("cp1252", "")],
    ids=["utf-8", "utf-8-bom", "windows-1252"],
)
def test_encodings_read_accents_right(write_csv, encoding, prefix):
    path = write_csv(prefix + "Nome;Città\nNiccolò;Forlì\n", encoding=encoding)
    table, rows = _rows(path)
    assert table.headers == ["Nome", "Città"]
    assert rows == [(2, ["Niccolò", "Forlì"])]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_separators_are_sniffed(write_csv, separator):
    path = write_csv(f"Email{separator}Nome\na@example.it{separator}Anna\n")
    table, rows = _rows(path)
    assert table.separator == separator
    assert rows == [(2, ["a@example.it", "Anna"])]


def test_quoted_cells_keep_separators_and_line_numbers_count_records(write_csv):
    path = write_csv('Nome;Note\n"Rossi; Mario";"riga\nsu due linee"\nAnna;ok\n')
    _table, rows = _rows(path)
    assert rows == [(2, ["Rossi; Mario", "riga\nsu due linee"]), (3, ["Anna", "ok"])]


def test_xlsx_cells_become_text(write_xlsx):
    import datetime as dt

    path = write_xlsx([["CAP", "Telefono", "Data"], [184, 3331234567, dt.datetime(2025, 12, 31)]])
    table, rows = _rows(path)
    assert table.format == "xlsx"
    assert rows == [(2, ["184", "3331234567", "2025-12-31"])]


def test_a_leading_empty_line_shifts_row_numbers_like_a_spreadsheet(write_csv):
    path = write_csv("\nEmail\na@example.it\n")
    _table, rows = _rows(path)
    assert rows == [(3, ["a@example.it"])]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary\x00", "binary"),
        (b"%PDF-1.4 whatever", "not a CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", ".xls"),
        (b"PK\x03\x04this is not really a zip", "Excel"),
        (b"mario@example.it;Mario;Rossi\n", "column names"),
        (b";;;\n;;\n", "no rows"),
    ],
    ids=["empty", "binary", "pdf", "old-xls", "malformed-xlsx", "no-header", "only-separators"],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(FileUnusable) as raised:
        open_table(path)
    assert reason in raised.value.message


def test_oversized_file_is_refused(write_csv, settings):
    settings.VOLANO_IMPORT_MAX_BYTES = 100
    path = write_csv("Email\n" + "someone@example.it\n" * 20)
    with pytest.raises(FileUnusable, match="too big"):
        open_table(path)


def test_duplicate_headers_are_told_apart(write_csv):
    table = open_table(write_csv("Email;Telefono;Telefono\na@example.it;1;2\n"))
    assert table.headers == ["Email", "Telefono", "Telefono (2)"]


# --- encodings: a bad byte is a row error, never a reason to misread the whole file ------------


def test_one_bad_byte_does_not_turn_a_utf8_file_into_windows_1252(write_csv, tmp_path):
    good = "Nome;Città\nNiccolò;Forlì\nAnna;Cantù\n".encode()
    path = tmp_path / "quasi-utf8.csv"
    path.write_bytes(good + b"Bruno\xff;Rho\n" + "Lucà;Forlì\n".encode())
    table = open_table(path)
    rows = list(table.rows)
    assert table.encoding == "utf-8"
    assert rows[0] == (2, ["Niccolò", "Forlì"]) and rows[3] == (5, ["Lucà", "Forlì"])
    assert table.bad_cells == {4: [(0, table.bad_cells[4][0][1])]}
    assert "not valid UTF-8" in table.bad_cells[4][0][1]
    assert "1 byte sequences are not valid UTF-8" in table.notes[0]


def test_a_real_windows_1252_file_is_still_read_as_such(tmp_path):
    path = tmp_path / "excel-italiano.csv"
    path.write_bytes("Nome;Città\nNiccolò;Forlì\n€ 5;Perché\n".encode("cp1252") + b"\x81;x\n")
    table = open_table(path)
    assert table.encoding == "windows-1252"
    assert list(table.rows) == [
        (2, ["Niccolò", "Forlì"]),
        (3, ["€ 5", "Perché"]),
        (4, ["\x81", "x"]),
    ]
    assert table.bad_cells == {}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path, encoding):
    bom = "\ufeff".encode(encoding)
    path = tmp_path / "utf16.csv"
    path.write_bytes(bom + "Nome\tCittà\r\nNiccolò\tForlì\r\n".encode(encoding))
    table = open_table(path)
    assert (table.encoding, table.separator, table.headers) == ("utf-16", "\t", ["Nome", "Città"])
    assert list(table.rows) == [(2, ["Niccolò", "Forlì"])]


def test_utf16_without_a_byte_order_mark_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("Nome;Città\nNiccolò;Forlì\n".encode("utf-16-le"))
    with pytest.raises(FileUnusable, match="byte order mark"):
        open_table(path)


def test_a_nul_byte_marks_its_cell_and_the_rest_is_read(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"Email;Nome\na@example.it;An\x00na\nb@example.it;Bruno\n")
    table = open_table(path)
    assert list(table.rows) == [(2, ["a@example.it", "An\x00na"]), (3, ["b@example.it", "Bruno"])]
    [(column, message)] = table.bad_cells[2]
    assert column == 1 and "NUL" in message
