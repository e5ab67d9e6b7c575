"""Reading an uploaded spreadsheet: CSV (any separator; UTF-8, UTF-16 with a BOM, or
Windows-1252) or Excel .xlsx.

`open_table(path)` returns a `Table`: the header and an iterator of `(line, cells)` where `line`
is the line number a spreadsheet shows (the header is line 1). Cells are always strings, so the
importer judges an Excel cell and a CSV cell the same way. A cell that cannot be used as read
(bytes that are not text in the file's encoding, a NUL character, longer than the cell limit) is
listed in `Table.bad_cells` before its row is yielded, and the importer reports it as a row
error. A file that cannot be read at all raises `FileUnusable` with the reason a user can act on.

Everything is bounded (settings `VOLANO_IMPORT_MAX_*`, see docs/import.md): the file's size,
a cell's characters, the columns, the rows and, for a workbook, its uncompressed size. The
memory a file costs while read does not grow with the size of a cell, a row or the shared
strings beyond those limits.
"""

from __future__ import annotations

import codecs
import csv
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError
from volano.imports import xlsx

HEAD_BYTES = 1 << 16
SCAN_BLOCK = 1 << 22
SEPARATORS = (";", ",", "\t", "|")
# One CSV record (a row, with the line breaks inside its quoted cells) is at most this long;
# past it there is nearly always a quote that is never closed.
MAX_RECORD_CHARS = 4_000_000
# Without a BOM, a file whose first 64 KB hold this share of control bytes (NUL and the other
# C0 controls but tab, line breaks and form feed) is not text: UTF-16 without a BOM (every other
# byte NUL), a picture. A few NULs in a text file are bad cells instead.
BINARY_CONTROL_SHARE = 0.1
CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])
# Windows-1252 when at most this share of the non-ASCII sequences are valid UTF-8 (a real
# Windows-1252 file almost never forms one); otherwise UTF-8, its invalid bytes row errors.
LEGACY_UTF8_SHARE = 0.01


class FileUnusable(ApplicationError):
    """The file as a whole cannot be imported (wrong type, no header, too big, unreadable)."""


@dataclass(frozen=True)
class Limits:
    bytes: int
    cell_chars: int
    columns: int
    rows: int
    uncompressed_bytes: int
    shared_strings_bytes: int

    @classmethod
    def from_settings(cls, *, max_bytes: int | None = None) -> Limits:
        return cls(
            bytes=settings.VOLANO_IMPORT_MAX_BYTES if max_bytes is None else max_bytes,
            cell_chars=settings.VOLANO_IMPORT_MAX_CELL_CHARS,
            columns=settings.VOLANO_IMPORT_MAX_COLUMNS,
            rows=settings.VOLANO_IMPORT_MAX_ROWS,
            uncompressed_bytes=settings.VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES,
            shared_strings_bytes=settings.VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES,
        )


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # The five bytes Windows-1252 leaves undefined (0x81, 0x8D…) read as their Latin-1 controls.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("volano_latin1", _latin1_fallback)


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    format: str
    encoding: str = ""
    separator: str = ""
    total_estimate: int = 0
    notes: list[str] = field(default_factory=list)
    # line -> [(column index, or -1 for the whole row; message)], filled just before the
    # line is yielded; the importer takes each entry out as it reads the line.
    bad_cells: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close:
            close()


def open_table(
    path: str | Path, *, max_bytes: int | None = None, dates_as_shown: bool = False
) -> Table:
    """`dates_as_shown`: an Excel date cell reads as Excel shows it (for the preview), not
    as ISO text (for the import). A CSV cell is always text as written."""
    path = Path(path)
    limits = Limits.from_settings(max_bytes=max_bytes)
    kind, head = sniff(path, limits=limits)
    if kind == "xlsx":
        return _open_xlsx(path, limits, dates_as_shown=dates_as_shown)
    return _open_csv(path, head, limits)


def sniff(path: Path, *, limits: Limits | None = None) -> tuple[str, bytes]:
    """("xlsx" | "csv", the first bytes): the cheap checks, safe in a web request (they read
    at most 64 KB); everything else waits for the worker."""
    limits = limits or Limits.from_settings()
    if not path.is_file():
        raise FileUnusable(_("file not found: %(name)s") % {"name": path.name})
    size = path.stat().st_size
    if size > limits.bytes:
        raise FileUnusable(too_big_message(limits.bytes, size=size))
    if size == 0:
        raise FileUnusable(_("the file is empty"))
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if xlsx.is_zip(head):
        return "xlsx", head
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileUnusable(
            _("this is an old Excel .xls file: save it as .xlsx or CSV and upload it again")
        )
    if head.startswith(b"%PDF") or (
        _bom_encoding(head) is None
        and len(head) - len(head.translate(None, CONTROL_BYTES)) > BINARY_CONTROL_SHARE * len(head)
    ):
        raise FileUnusable(
            _(
                "this is not a CSV or Excel (.xlsx) file (it contains binary data; a UTF-16"
                " CSV file needs its byte order mark)"
            )
        )
    return "csv", head


def too_big_message(limit: int, *, size: int | None = None) -> str:
    if size is None:
        return _(
            "the file is too big (the limit is %(limit).1f MB, setting VOLANO_IMPORT_MAX_BYTES):"
            " split it into smaller files"
        ) % {"limit": limit / 1e6}
    return _(
        "the file is too big (%(size).1f MB; the limit is %(limit).1f MB, setting"
        " VOLANO_IMPORT_MAX_BYTES): split it into smaller files"
    ) % {"size": size / 1e6, "limit": limit / 1e6}


# --- CSV ---------------------------------------------------------------------------------------


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
}


_scanning = threading.local()


def _count_invalid(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    _scanning.invalid += 1
    return "", error.end


codecs.register_error("volano_count_invalid", _count_invalid)


def _scan(path: Path, encoding: str) -> tuple[int, int]:
    """(invalid sequences, valid non-ASCII characters) of the whole file read as `encoding`:
    one pass in C-speed blocks, so every byte is judged, not only the first megabyte."""
    _scanning.invalid = 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="volano_count_invalid")
    valid = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(SCAN_BLOCK)
            text = decoder.decode(block, final=not block)
            if not text.isascii():
                valid += len(text) - len(text.encode("ascii", "ignore"))
            if not block:
                break
    return _scanning.invalid, valid


def _choose_encoding(path: Path, head: bytes) -> tuple[str, int]:
    """(codec, invalid sequences in the file): see LEGACY_UTF8_SHARE."""
    bom = _bom_encoding(head)
    if bom:
        return bom, _scan(path, bom)[0]
    invalid, valid = _scan(path, "utf-8")
    if invalid and valid <= LEGACY_UTF8_SHARE * (valid + invalid):
        return "cp1252", 0
    return "utf-8", invalid


def _sniff_separator(first_line: str) -> str:
    counts = {sep: _count_outside_quotes(first_line, sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties go to ";" (Italian Excel)
    return best if counts[best] else ","


def _count_outside_quotes(line: str, sep: str) -> int:
    return len(re.sub(r'"[^"]*"', "", line).split(sep)) - 1


class _Lines:
    """The physical lines csv.reader asks for, each record's length bounded; flags a record
    whose lines hold a NUL or (in a file with invalid bytes) a replacement character."""

    def __init__(self, handle, *, watch_replacement: bool) -> None:
        self.handle = handle
        self.watch_replacement = watch_replacement
        self.record_chars = 0
        self.suspect = False
        self.physical = 0
        self.record_start = 1  # the line where the record being read began

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.handle.readline(MAX_RECORD_CHARS + 1 - self.record_chars)
        if not line:
            raise StopIteration
        self.physical += 1
        self.record_chars += len(line)
        if self.record_chars > MAX_RECORD_CHARS:
            raise FileUnusable(
                _(
                    'line %(line)s: a row longer than %(limit)s characters (often a quote (")'
                    " that is never closed)"
                )
                % {"line": self.record_start, "limit": f"{MAX_RECORD_CHARS:,}"}
            )
        if "\x00" in line or (self.watch_replacement and "\ufffd" in line):
            self.suspect = True
        return line

    def record_done(self) -> None:
        self.record_chars = 0
        self.suspect = False
        self.record_start = self.physical + 1


def _open_csv(path: Path, head: bytes, limits: Limits) -> Table:
    encoding, invalid = _choose_encoding(path, head)
    errors = "volano_latin1" if encoding == "cp1252" else "replace"
    shown_encoding = _ENCODING_NAMES[encoding]
    sample = head.decode(encoding, errors="replace")
    lines = [line for line in sample.splitlines() if line.strip(" \t;,|\x00")]
    if not lines:
        raise FileUnusable(_("the file has no rows"))
    separator = _sniff_separator(lines[0])
    total = _count_lines(path, encoding)
    if total > limits.rows + 1:
        raise FileUnusable(
            xlsx.limit_message(
                _("the file has %(count)s lines") % {"count": f"{total:,}"},
                limits.rows,
                "VOLANO_IMPORT_MAX_ROWS",
            )
        )
    csv.field_size_limit(MAX_RECORD_CHARS)
    handle = path.open(encoding=encoding, errors=errors, newline="")
    source = _Lines(handle, watch_replacement=bool(invalid))
    reader = csv.reader(source, delimiter=separator)
    headers: list[str] | None = None
    try:
        for cells in reader:
            if any(c.strip(" \t\x00") for c in cells):
                headers = cells
                break
            source.record_done()
    except csv.Error as error:
        handle.close()
        raise FileUnusable(
            _("line %(line)s: this is not a readable CSV file (%(error)s)")
            % {"line": source.physical, "error": error}
        ) from None
    except BaseException:
        handle.close()
        raise
    if headers is None:
        handle.close()
        raise FileUnusable(_("the file has no rows"))
    header_line = source.physical
    notes = []
    try:
        if source.suspect:
            if any("\ufffd" in h for h in headers):
                notes.append(
                    _("the header row has bytes that are not valid %(encoding)s (shown as �)")
                    % {"encoding": shown_encoding}
                )
            headers = [h.replace("\x00", "") for h in headers]
        clean_headers = _check_headers(headers, limits)
    except BaseException:
        handle.close()
        raise
    source.record_done()
    bad_cells: dict[int, list[tuple[int, str]]] = {}
    if invalid:
        notes.append(
            _(
                "%(count)s byte sequences are not valid %(encoding)s: their rows are listed"
                " as errors, every other row was read"
            )
            % {"count": f"{invalid:,}", "encoding": shown_encoding}
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        cell_chars = limits.cell_chars
        # csv counts physical lines; a quoted cell with a line break moves later rows down,
        # as in a spreadsheet, which shows one row per record: count records instead.
        line = header_line
        try:
            for cells in reader:
                line += 1
                if source.suspect or source.record_chars > cell_chars:
                    problems = _csv_cell_problems(cells, shown_encoding, cell_chars, invalid)
                    if problems:
                        bad_cells[line] = problems
                source.record_done()
                yield line, cells
        except csv.Error as error:
            raise FileUnusable(
                _("line %(line)s: the CSV file is damaged (%(error)s)")
                % {"line": source.physical, "error": error}
            ) from None
        finally:
            handle.close()

    return Table(
        headers=clean_headers,
        rows=rows(),
        format="csv",
        encoding={"cp1252": "windows-1252", "utf-8-sig": "utf-8"}.get(encoding, encoding),
        separator=separator,
        total_estimate=max(total - header_line, 0),
        notes=notes,
        bad_cells=bad_cells,
    )


def _csv_cell_problems(
    cells: list[str], encoding: str, cell_chars: int, invalid: int
) -> list[tuple[int, str]]:
    problems = []
    for index, cell in enumerate(cells):
        if len(cell) > cell_chars:
            problems.append((index, cell_too_long(len(cell), cell_chars)))
        elif "\x00" in cell:
            problems.append(
                (index, _("this cell contains a NUL character (byte 0), which cannot be stored"))
            )
        elif invalid and "\ufffd" in cell:
            problems.append(
                (
                    index,
                    _(
                        "this cell has bytes that are not valid %(encoding)s (shown as �): fix"
                        " them, or save the file again as UTF-8"
                    )
                    % {"encoding": encoding},
                )
            )
    return problems


def cell_too_long(length: int, limit: int) -> str:
    return xlsx.limit_message(
        _("this cell has %(length)s characters") % {"length": f"{length:,}"},
        limit,
        "VOLANO_IMPORT_MAX_CELL_CHARS",
    )


def _count_lines(path: Path, encoding: str) -> int:
    newline = "\n".encode(encoding.replace("-sig", ""))
    if encoding in {"utf-16", "utf-32"}:
        with path.open(encoding=encoding, errors="replace", newline="") as text:
            return sum(block.count("\n") for block in iter(lambda: text.read(SCAN_BLOCK), "")) + 1
    count = 0
    last = b""
    with path.open("rb") as handle:
        while block := handle.read(SCAN_BLOCK):
            count += block.count(newline)
            last = block
    return count + (0 if last.endswith(newline) else 1)


def _check_headers(cells: list, limits: Limits) -> list[str]:
    if len(cells) > limits.columns and any(str(c or "").strip() for c in cells[limits.columns :]):
        raise FileUnusable(
            xlsx.limit_message(
                _("the header row has %(count)s columns") % {"count": f"{len(cells):,}"},
                limits.columns,
                "VOLANO_IMPORT_MAX_COLUMNS",
            )
        )
    for index, cell in enumerate(cells):
        if cell and len(str(cell)) > limits.cell_chars:
            raise FileUnusable(
                _("the header of column %(column)s is too long: %(problem)s")
                % {"column": index + 1, "problem": cell_too_long(len(cell), limits.cell_chars)}
            )
    headers = [str(c if c is not None else "").strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    named = [h for h in headers if h]
    if not named:
        raise FileUnusable(_("the first row must hold the column names, and it is empty"))
    looks_like_data = [h for h in named if "@" in h or re.fullmatch(r"[\d\s.,/+-]+", h)]
    if len(looks_like_data) * 2 >= len(named) or any("@" in h for h in named):
        raise FileUnusable(
            _(
                "the first row must hold the column names (e.g. Email, Nome, Cognome), but it"
                " looks like data: %(cells)s"
            )
            % {"cells": ", ".join(h[:100] for h in named[:3])}
        )
    seen: dict[str, int] = {}
    result = []
    for index, header in enumerate(headers):
        name = header or _("column %(number)s") % {"number": index + 1}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


# --- Excel -------------------------------------------------------------------------------------


def _open_xlsx(path: Path, limits: Limits, *, dates_as_shown: bool = False) -> Table:
    try:
        workbook = xlsx.Workbook(path, limits=limits)
    except xlsx.XlsxUnusable as error:
        raise FileUnusable(str(error)) from None
    try:
        iterator = workbook.rows(dates_as_shown=dates_as_shown)
        first: tuple[int, list[str], dict[int, str]] | None = None
        for number, cells, problems in iterator:
            if any(c.strip() for c in cells) or problems:
                first = number, cells, problems
                break
        declared = workbook.declared_rows
    except xlsx.XlsxUnusable as error:
        workbook.close()
        raise FileUnusable(str(error)) from None
    except Exception as error:  # a damaged workbook raises anything from zipfile to XML errors
        workbook.close()
        raise FileUnusable(
            _("this is not a readable Excel .xlsx file (%(error)s)") % {"error": error}
        ) from None
    if first is None:
        workbook.close()
        raise FileUnusable(_("the first sheet of the workbook is empty"))
    header_line, header_cells, header_problems = first
    if declared > limits.rows + header_line:  # refused before a row is imported, when it says so
        workbook.close()
        raise FileUnusable(
            xlsx.limit_message(
                _("the sheet has more than %(count)s rows") % {"count": f"{limits.rows:,}"},
                limits.rows,
                "VOLANO_IMPORT_MAX_ROWS",
            )
        )
    if header_problems:
        workbook.close()
        column, problem = next(iter(header_problems.items()))
        if column < 0:
            raise FileUnusable(_("the header row: %(problem)s") % {"problem": problem})
        raise FileUnusable(
            _("the header of column %(column)s is too long: %(problem)s")
            % {"column": column + 1, "problem": problem}
        )
    try:
        headers = _check_headers(header_cells, limits)
    except FileUnusable:
        workbook.close()
        raise
    width = len(headers)
    bad_cells: dict[int, list[tuple[int, str]]] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells, problems in iterator:
                if problems:
                    bad_cells[number] = sorted(problems.items())
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield number, cells
        except xlsx.XlsxUnusable as error:
            raise FileUnusable(str(error)) from None
        except Exception as error:
            raise FileUnusable(
                _("the Excel file is damaged (%(error)s)") % {"error": error}
            ) from None
        finally:
            workbook.close()

    notes = []
    if workbook.sheet_count > 1:
        notes.append(
            _("only the first sheet (%(title)s) was read") % {"title": workbook.sheet_title}
        )
    return Table(
        headers=headers,
        rows=rows(),
        format="xlsx",
        total_estimate=max(declared - header_line, 0),
        notes=notes,
        bad_cells=bad_cells,
    )


def preview(path: str | Path, *, limit: int = 5) -> tuple[Table, list[list[str]]]:
    """The header and the first non-empty rows, for the mapping page: dates as the file
    shows them."""
    table = open_table(path, dates_as_shown=True)
    sample: list[list[str]] = []
    try:
        for _line, cells in table.rows:
            if any(c.strip() for c in cells):
                sample.append(cells)
                if len(sample) >= limit:
                    break
    finally:
        table.close()
    return table, sample
