"""Reading an uploaded spreadsheet: CSV (any separator, UTF-8 or Windows-1252) or Excel .xlsx.

`open_table(path)` returns a `Table`: the header and an iterator of `(line, cells)` where `line`
is the line number a spreadsheet shows (the header is line 1). Cells are always strings, so the
importer judges an Excel cell and a CSV cell the same way. A file that cannot be read at all
raises `FileUnusable` with the reason a user can act on.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from volano.core.errors import ApplicationError

SAMPLE_BYTES = 1 << 20
SEPARATORS = (";", ",", "\t", "|")


class FileUnusable(ApplicationError):
    """The file as a whole cannot be imported (wrong type, no header, too big, unreadable)."""


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    # A UTF-8 file with a stray Windows-1252 byte (a "è" typed in an old program) keeps its row.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("volano_cp1252", _cp1252_fallback)


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    format: str
    encoding: str = ""
    separator: str = ""
    total_estimate: int = 0
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close:
            close()


def open_table(path: str | Path, *, max_bytes: int | None = None) -> Table:
    path = Path(path)
    if not path.is_file():
        raise FileUnusable(f"file not found: {path.name}")
    size = path.stat().st_size
    limit = settings.VOLANO_IMPORT_MAX_BYTES if max_bytes is None else max_bytes
    if size > limit:
        raise FileUnusable(
            f"the file is too big ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB):"
            " split it into smaller files"
        )
    if size == 0:
        raise FileUnusable("the file is empty")
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileUnusable(
            "this is an old Excel .xls file: save it as .xlsx or CSV and upload it again"
        )
    if head.startswith(b"%PDF") or b"\x00" in head:
        raise FileUnusable("this is not a CSV or Excel (.xlsx) file (it contains binary data)")
    return _open_csv(path, head, size)


def _detect_encoding(head: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a cut multi-byte character at the end is fine
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def _sniff_separator(first_line: str) -> str:
    counts = {sep: _count_outside_quotes(first_line, sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties go to ";" (Italian Excel)
    return best if counts[best] else ","


def _count_outside_quotes(line: str, sep: str) -> int:
    return len(re.sub(r'"[^"]*"', "", line).split(sep)) - 1


def _open_csv(path: Path, head: bytes, size: int) -> Table:
    encoding = _detect_encoding(head)
    errors = "volano_cp1252" if encoding == "utf-8-sig" else "replace"
    sample = head.decode(encoding, errors=errors)
    lines = [line for line in sample.splitlines() if line.strip(" \t;,|")]
    if not lines:
        raise FileUnusable("the file has no rows")
    separator = _sniff_separator(lines[0])
    total = head.count(b"\n") if size <= SAMPLE_BYTES else _count_lines(path)
    handle = path.open(encoding=encoding, errors=errors, newline="")
    reader = csv.reader(handle, delimiter=separator)
    line = 0
    headers: list[str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if any(c.strip() for c in cells):
                headers = cells
                break
    except csv.Error as error:
        handle.close()
        raise FileUnusable(f"line {line + 1}: this is not a readable CSV file ({error})") from None
    if headers is None:
        handle.close()
        raise FileUnusable("the file has no rows")
    header_line = line
    clean_headers = _check_headers(headers)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            # csv counts physical lines; a quoted cell with a line break moves later rows down,
            # as in a spreadsheet, which shows one row per record: count records instead.
            yield from enumerate(reader, start=header_line + 1)
        except csv.Error as error:
            raise FileUnusable(
                f"line {reader.line_num}: the CSV file is damaged ({error})"
            ) from None
        finally:
            handle.close()

    return Table(
        headers=clean_headers,
        rows=rows(),
        format="csv",
        encoding="utf-8" if encoding == "utf-8-sig" else "windows-1252",
        separator=separator,
        total_estimate=max(total - header_line, 0),
    )


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            count += block.count(b"\n")
    return count


def _check_headers(cells: list) -> list[str]:
    headers = [str(c if c is not None else "").strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    named = [h for h in headers if h]
    if not named:
        raise FileUnusable("the first row must hold the column names, and it is empty")
    looks_like_data = [h for h in named if "@" in h or re.fullmatch(r"[\d\s.,/+-]+", h)]
    if len(looks_like_data) * 2 >= len(named) or any("@" in h for h in named):
        raise FileUnusable(
            "the first row must hold the column names (e.g. Email, Nome, Cognome), but it"
            f" looks like data: {', '.join(named[:3])}"
        )
    seen: dict[str, int] = {}
    result = []
    for index, header in enumerate(headers):
        name = header or f"column {index + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        header_line = 0
        first: tuple | None = None
        for header_line, values in enumerate(iterator, start=1):  # noqa: B007
            if any(v is not None and str(v).strip() for v in values):
                first = values
                break
        total = max((sheet.max_row or 0) - header_line, 0)
    except Exception as error:  # a damaged workbook raises anything from zipfile to XML errors
        raise FileUnusable(f"this is not a readable Excel .xlsx file ({error})") from None
    if first is None:
        workbook.close()
        raise FileUnusable("the first sheet of the workbook is empty")
    headers = _check_headers(list(first))

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(iterator, start=header_line + 1):
                yield number, [_cell_text(v) for v in values]
        except Exception as error:
            raise FileUnusable(f"the Excel file is damaged ({error})") from None
        finally:
            workbook.close()

    notes = []
    if len(workbook.worksheets) > 1:
        notes.append(f"only the first sheet ({sheet.title}) was read")
    return Table(headers=headers, rows=rows(), format="xlsx", total_estimate=total, notes=notes)


def preview(path: str | Path, *, limit: int = 5) -> tuple[Table, list[list[str]]]:
    """The header and the first non-empty rows, for the mapping page."""
    table = open_table(path)
    sample: list[list[str]] = []
    for _line, cells in table.rows:
        if any(c.strip() for c in cells):
            sample.append(cells)
            if len(sample) >= limit:
                break
    table.close()
    return table, sample
