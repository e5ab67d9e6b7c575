"""The first sheet of an Excel .xlsx workbook, streamed from the zip with bounded memory.

openpyxl, even in read-only mode, keeps every shared string as a Python object (3M strings:
450 MB) and reads a cell's text whole (one 300 MB header cell: 3.5 GB). So the few parts an
import needs are read here with expat, fed in blocks straight from the zip:

- the zip's directory is checked before anything is decompressed: the declared uncompressed
  size of the parts read is bounded, and the bytes actually decompressed are counted too;
- a cell's text stops being kept once it passes the cell limit (the cell becomes a row error;
  in the header row the file is refused);
- shared strings are kept as one UTF-8 buffer with an array of offsets (a few bytes a string),
  and their part's uncompressed size is bounded;
- a row stops keeping cells past the column limit, and rows past the row limit refuse the file.

Values become text as openpyxl would give them (numbers without a useless ".0", dates as ISO),
so an Excel cell and a CSV cell are judged the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import re
import struct
import zipfile
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from django.utils.translation import gettext as _

BLOCK = 1 << 16
# Real workbooks have a few dozen parts; a directory this big only serves to exhaust memory.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_DIRECTORY_BYTES = 8 << 20
MAX_SMALL_PART_BYTES = 32 << 20  # workbook.xml, its relationships, styles.xml


class XlsxUnusable(Exception):
    """The workbook cannot be read; the message is for the user (already translated)."""


def limit_message(what: str, limit: int, setting: str) -> str:
    """The one wording of a refusal past a limit: what, the limit, and the setting to change."""
    return _("%(what)s: the limit is %(limit)s (setting %(setting)s)") % {
        "what": what,
        "limit": f"{limit:,}",
        "setting": setting,
    }


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _parser(start: Callable | None, end: Callable | None, text: Callable | None):
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = False

    def no_doctype(*_args: Any) -> None:
        raise XlsxUnusable(_("this is not a readable Excel .xlsx file (it declares a DTD)"))

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    return parser


def _column_number(reference: str) -> int:
    number = 0
    for char in reference:
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        else:
            break
    return number


def _check_directory(path: Path) -> None:
    """Refuse a zip whose central directory alone would fill memory, before zipfile reads it."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - (1 << 16) - 22))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # zipfile will say the file is damaged
    entries, directory_size = struct.unpack("<xxxxxxxxxxHI", tail[at : at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:  # zip64: the real counts are earlier
        at64 = tail.rfind(b"PK\x06\x06", 0, at)
        if at64 >= 0 and len(tail) >= at64 + 48:
            entries, directory_size = struct.unpack("<QQ", tail[at64 + 32 : at64 + 48])
    if entries > MAX_ZIP_ENTRIES or directory_size > MAX_ZIP_DIRECTORY_BYTES:
        raise XlsxUnusable(
            _("this is not a usable Excel .xlsx file (its zip directory has %(count)s parts)")
            % {"count": f"{entries:,}"}
        )


class Workbook:
    """An open .xlsx: the parts an import needs located, checked and (the small ones) read."""

    def __init__(self, path: Path, *, limits: Any) -> None:
        self.limits = limits
        _check_directory(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise XlsxUnusable(
                _("this is not a readable Excel .xlsx file (%(error)s)") % {"error": error}
            ) from None
        self.infos = {info.filename: info for info in self.zip.infolist()}
        self.decompressed = 0
        try:
            self._locate_parts()
        except BaseException:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()

    # --- reading parts ------------------------------------------------------------------------

    def _blocks(self, name: str) -> Iterator[bytes]:
        info = self.infos[name]
        with self.zip.open(info) as part:
            while block := part.read(BLOCK):
                self.decompressed += len(block)
                if self.decompressed > self.limits.uncompressed_bytes:
                    raise XlsxUnusable(self._too_big_message())
                yield block

    def _too_big_message(self) -> str:
        return limit_message(
            _("the workbook is too big once uncompressed"),
            self.limits.uncompressed_bytes,
            "VOLANO_IMPORT_MAX_UNCOMPRESSED_BYTES",
        )

    def _parse(self, name: str, parser, *, limit: int | None = None, setting: str = "") -> None:
        info = self.infos.get(name)
        if info is None:
            return
        if limit is not None and info.file_size > limit:
            raise XlsxUnusable(limit_message(name, limit, setting))
        for block in self._blocks(name):
            parser.Parse(block, False)
        parser.Parse(b"", True)

    def _locate_parts(self) -> None:
        declared = sum(
            info.file_size
            for info in self.infos.values()
            if info.filename.endswith((".xml", ".rels"))
        )
        if declared > self.limits.uncompressed_bytes:
            raise XlsxUnusable(self._too_big_message())
        workbook = self._target_of("_rels/.rels", "officeDocument", "") or "xl/workbook.xml"
        if workbook not in self.infos:
            raise XlsxUnusable(
                _("this is not a readable Excel .xlsx file (it has no workbook part)")
            )
        folder = posixpath.dirname(workbook)
        rels = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
        sheets: list[tuple[str, str]] = []
        self.date1904 = False

        def start(name: str, attrs: dict) -> None:
            tag = _local(name)
            if tag == "sheet" and len(sheets) < 1000:
                rid = next((v for k, v in attrs.items() if _local(k) == "id"), "")
                sheets.append((attrs.get("name", ""), rid))
            elif tag == "workbookPr":
                self.date1904 = attrs.get("date1904", "0") in {"1", "true"}

        self._parse(workbook, _parser(start, None, None), limit=MAX_SMALL_PART_BYTES)
        if not sheets:
            raise XlsxUnusable(_("the first sheet of the workbook is empty"))
        self.sheet_count = len(sheets)
        self.sheet_title, first_rid = sheets[0]
        targets = self._targets(rels, folder)
        self.sheet_part = targets.get(first_rid, ("", ""))[1]
        if self.sheet_part not in self.infos:
            raise XlsxUnusable(
                _("this is not a readable Excel .xlsx file (its first sheet is missing)")
            )
        by_type = {kind: target for kind, target in targets.values()}
        self.strings_part = by_type.get(
            "sharedStrings", posixpath.join(folder, "sharedStrings.xml")
        )
        self.styles_part = by_type.get("styles", posixpath.join(folder, "styles.xml"))

    def _targets(self, rels: str, folder: str) -> dict[str, tuple[str, str]]:
        """{relationship id: (type's last word, part name)} of a .rels part."""
        found: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict) -> None:
            if _local(name) == "Relationship" and len(found) < 10_000:
                target = attrs.get("Target", "")
                if target.startswith("/"):
                    part = target.lstrip("/")
                else:
                    part = posixpath.normpath(posixpath.join(folder, target))
                found[attrs.get("Id", "")] = (attrs.get("Type", "").rsplit("/", 1)[-1], part)

        self._parse(rels, _parser(start, None, None), limit=MAX_SMALL_PART_BYTES)
        return found

    def _target_of(self, rels: str, kind: str, folder: str) -> str:
        for found_kind, part in self._targets(rels, folder).values():
            if found_kind == kind:
                return part
        return ""

    # --- styles and shared strings ------------------------------------------------------------

    def date_styles(self) -> tuple[set[int], set[int]]:
        """Indexes of the cell styles that show a number as a date (and as a duration)."""
        from openpyxl.styles.numbers import (
            builtin_format_code,
            is_date_format,
            is_timedelta_format,
        )

        custom: dict[int, str] = {}
        styles: list[int] = []
        inside = [False]

        def start(name: str, attrs: dict) -> None:
            tag = _local(name)
            if tag == "numFmt":
                with contextlib.suppress(ValueError):
                    custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            elif tag == "cellXfs":
                inside[0] = True
            elif tag == "xf" and inside[0]:
                try:
                    styles.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    styles.append(0)

        def end(name: str) -> None:
            if _local(name) == "cellXfs":
                inside[0] = False

        self._parse(self.styles_part, _parser(start, end, None), limit=MAX_SMALL_PART_BYTES)
        dates, durations = set(), set()
        self.date_codes: dict[int, str] = {}
        for index, format_id in enumerate(styles):
            code = custom.get(format_id) or builtin_format_code(format_id)
            if is_date_format(code):
                dates.add(index)
                # Built-in format 14 is the short date of the reader's locale, whatever the
                # code openpyxl gives it.
                self.date_codes[index] = SHORT_DATE if format_id == 14 else (code or "")
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def shared_strings(self) -> SharedStrings:
        strings = SharedStrings(self.limits.cell_chars)
        self._parse(
            self.strings_part,
            strings.parser(),
            limit=self.limits.shared_strings_bytes,
            setting="VOLANO_IMPORT_MAX_SHARED_STRINGS_BYTES",
        )
        return strings

    # --- the sheet ----------------------------------------------------------------------------

    def rows(
        self, *, dates_as_shown: bool = False
    ) -> Iterator[tuple[int, list[str], dict[int, str]]]:
        """(row number, cells as text, {column index: problem}) of each row that has a cell.
        Dates are ISO text, or with `dates_as_shown` the text Excel shows for them (for the
        preview: what the user wrote, not what Volano will make of it)."""
        dates, durations = self.date_styles()
        strings = self.shared_strings()
        sheet = SheetReader(
            strings=strings,
            dates=dates,
            durations=durations,
            epoch=dt.datetime(1904, 1, 1) if self.date1904 else dt.datetime(1899, 12, 30),
            limits=self.limits,
            shown_dates=self.date_codes if dates_as_shown else None,
        )
        parser = sheet.parser()
        for block in self._blocks(self.sheet_part):
            parser.Parse(block, False)
            if sheet.ready:
                ready, sheet.ready = sheet.ready, []
                yield from ready
        parser.Parse(b"", True)
        yield from sheet.ready

    @property
    def declared_rows(self) -> int:
        """The row count the sheet's <dimension> claims (0 when absent), for progress only."""
        found = [0]

        class Found(Exception):
            pass

        def start(name: str, attrs: dict) -> None:
            tag = _local(name)
            if tag == "dimension":
                last = attrs.get("ref", "").rpartition(":")[2]
                digits = "".join(c for c in last if c.isdigit())
                found[0] = int(digits) if digits and len(digits) < 9 else 0
                raise Found
            if tag == "sheetData":
                raise Found

        parser = _parser(start, None, None)
        with self.zip.open(self.infos[self.sheet_part]) as part:
            try:
                for _block in range(256):  # the dimension comes first: 1 MB is plenty
                    block = part.read(4096)
                    if not block:
                        break
                    parser.Parse(block, False)
            except Found:
                pass
            except expat.ExpatError:
                return 0
        return found[0]


class SharedStrings:
    """The workbook's shared strings as one UTF-8 buffer and the offset where each one ends."""

    def __init__(self, cell_chars: int) -> None:
        self.cell_chars = cell_chars
        self.buffer = bytearray()
        self.ends = array("Q")
        self.too_long: dict[int, int] = {}  # index -> its real length
        self._parts: list[str] = []
        self._length = 0
        self._depth_text = False
        self._phonetic = 0

    def parser(self):
        def start(name: str, _attrs: dict) -> None:
            tag = _local(name)
            if tag == "si":
                self._parts, self._length = [], 0
            elif tag == "rPh":
                self._phonetic += 1
            elif tag == "t" and not self._phonetic:
                self._depth_text = True

        def end(name: str) -> None:
            tag = _local(name)
            if tag == "t":
                self._depth_text = False
            elif tag == "rPh":
                self._phonetic -= 1
            elif tag == "si":
                text = "".join(self._parts).replace("x005F_", "")
                if self._length > self.cell_chars:
                    self.too_long[len(self.ends)] = self._length
                self.buffer += text.encode("utf-8", "surrogatepass")
                self.ends.append(len(self.buffer))
                self._parts = []

        def text(data: str) -> None:
            if self._depth_text:
                room = self.cell_chars + 1 - self._length
                if room > 0:
                    self._parts.append(data[:room])
                self._length += len(data)

        return _parser(start, end, text)

    def __len__(self) -> int:
        return len(self.ends)

    def get(self, index: int) -> str:
        begin = self.ends[index - 1] if index else 0
        return self.buffer[begin : self.ends[index]].decode("utf-8", "surrogatepass")


class SheetReader:
    """expat handlers for a worksheet: completed rows collect in `ready`."""

    def __init__(self, *, strings, dates, durations, epoch, limits, shown_dates=None) -> None:
        self.shown_dates: dict[int, str] | None = shown_dates
        self.strings = strings
        self.dates = dates
        self.durations = durations
        self.epoch = epoch
        self.limits = limits
        self.ready: list[tuple[int, list[str], dict[int, str]]] = []
        self.row_number = 0
        self.cells: dict[int, str] = {}
        self.problems: dict[int, str] = {}
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.parts: list[str] = []
        self.length = 0
        self.capture = False
        self.phonetic = 0
        self.in_cell = False

    def parser(self):
        return _parser(self.start, self.end, self.text)

    def start(self, name: str, attrs: dict) -> None:
        tag = _local(name)
        if tag == "c":
            reference = attrs.get("r")
            self.column = _column_number(reference) if reference else self.column + 1
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style and style.isdigit() else 0
            self.parts, self.length = [], 0
            self.in_cell = True
        elif tag == "v" and self.in_cell:
            self.capture = self.kind != "inlineStr"
        elif tag == "t" and self.in_cell and self.kind == "inlineStr" and not self.phonetic:
            self.capture = True
        elif tag == "rPh":
            self.phonetic += 1
        elif tag == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number and number.isdigit() else self.row_number + 1
            if self.row_number > self.limits.rows + 1:
                raise XlsxUnusable(
                    limit_message(
                        _("the sheet has more than %(count)s rows")
                        % {"count": f"{self.limits.rows:,}"},
                        self.limits.rows,
                        "VOLANO_IMPORT_MAX_ROWS",
                    )
                )
            self.cells, self.problems, self.column = {}, {}, 0

    def text(self, data: str) -> None:
        if self.capture:
            room = self.limits.cell_chars + 1 - self.length
            if room > 0:
                self.parts.append(data[:room])
            self.length += len(data)

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag in {"v", "t"}:
            self.capture = False
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "c":
            self.in_cell = False
            self._cell_done()
        elif tag == "row" and (self.cells or self.problems):
            row = [""] * max(self.cells, default=0)
            for column, value in self.cells.items():
                row[column - 1] = value
            self.ready.append((self.row_number, row, self.problems))

    def _cell_done(self) -> None:
        column = self.column
        if column > self.limits.columns:
            if column == self.limits.columns + 1 or not self.problems.get(-1):
                self.problems[-1] = limit_message(
                    _("this row has more than %(count)s columns")
                    % {"count": f"{self.limits.columns:,}"},
                    self.limits.columns,
                    "VOLANO_IMPORT_MAX_COLUMNS",
                )
            return
        if column < 1:
            return
        length = self.length
        raw = "".join(self.parts)
        if self.kind == "s" and raw:
            try:
                index = int(raw)
                if index < 0:
                    raise IndexError(index)
                value = self.strings.get(index)
            except (ValueError, IndexError):
                self.problems[column - 1] = _("this cell refers to a shared string the file lacks")
                self.cells[column] = ""
                return
            length = self.strings.too_long.get(index, len(value))
        else:
            value = self._value(raw)
        if length > self.limits.cell_chars:
            self.problems[column - 1] = limit_message(
                _("this cell has %(length)s characters") % {"length": f"{length:,}"},
                self.limits.cell_chars,
                "VOLANO_IMPORT_MAX_CELL_CHARS",
            )
            value = value[: self.limits.cell_chars]
        if value:
            self.cells[column] = value

    def _value(self, raw: str) -> str:
        kind = self.kind
        if not raw:
            return ""
        if kind == "n":
            try:
                number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:
                return raw
            if self.style in self.dates:
                from openpyxl.utils.datetime import from_excel

                try:
                    when = from_excel(number, self.epoch, timedelta=self.style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
                if self.shown_dates is not None and self.style not in self.durations:
                    return date_as_shown(when, self.shown_dates.get(self.style, ""))
                return _date_text(when)
            if isinstance(number, float) and number.is_integer():
                return str(int(number))
            return str(number)
        if kind == "b":
            return "1" if raw.strip() in {"1", "true"} else "0"
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            try:
                return _date_text(from_ISO8601(raw))
            except ValueError:
                return raw
        return raw  # "str" (a formula's text), "inlineStr", "e" (#N/A…)


def _date_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


SHORT_DATE = "short-date"  # Excel's built-in format 14: the locale's short date
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|\[[^\]]*\]|am/pm|a/p|yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|.',
    re.IGNORECASE,
)


def date_as_shown(when: object, code: str) -> str:
    """A date or time as Excel shows it with this number format ("DD/MM/YYYY", "d-mmm-yy",
    "yyyy-mm-dd h:mm"…): elapsed-time and fraction-of-second codes aside, what the cell reads."""
    from django.utils import dates as names
    from django.utils.translation import get_language

    if isinstance(when, dt.time):
        when = dt.datetime.combine(dt.date(1900, 1, 1), when)
    if not isinstance(when, dt.datetime | dt.date):
        return str(when)
    italian = (get_language() or "").startswith("it")
    # Names as Excel writes them: "dicembre" in Italian, "December" in English.
    cased = str.lower if italian else str.capitalize
    if code == SHORT_DATE:
        code = "dd/mm/yyyy" if italian else "m/d/yyyy"
    code = code.split(";", 1)[0]
    moment = when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())
    tokens = [t for t in _DATE_TOKEN.findall(code) if not t.startswith("[")]
    twelve = any(t.lower() in {"am/pm", "a/p"} for t in tokens)
    out: list[str] = []
    for position, token in enumerate(tokens):
        low = token.lower()
        if low.startswith("m") and low in {"m", "mm"}:
            # "m" is minutes right after hours or right before seconds, else the month.
            before = [t.lower() for t in tokens[:position] if t.lower()[0] in "yhds"]
            after = [t.lower() for t in tokens[position + 1 :] if t.lower()[0] in "yhds"]
            minutes = (before and before[-1][0] == "h") or (after and after[0][0] == "s")
            number = moment.minute if minutes else moment.month
            out.append(f"{number:02d}" if low == "mm" else str(number))
        elif low == "yyyy":
            out.append(f"{moment.year:04d}")
        elif low == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif low == "mmmmm":
            out.append(cased(str(names.MONTHS[moment.month]))[:1])
        elif low == "mmmm":
            out.append(cased(str(names.MONTHS[moment.month])))
        elif low == "mmm":
            out.append(cased(str(names.MONTHS_3[moment.month])))
        elif low == "dddd":
            out.append(cased(str(names.WEEKDAYS[moment.weekday()])))
        elif low == "ddd":
            out.append(cased(str(names.WEEKDAYS_ABBR[moment.weekday()])))
        elif low in {"dd", "d"}:
            out.append(f"{moment.day:02d}" if low == "dd" else str(moment.day))
        elif low in {"hh", "h"}:
            hour = (moment.hour % 12 or 12) if twelve else moment.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in {"ss", "s"}:
            out.append(f"{moment.second:02d}" if low == "ss" else str(moment.second))
        elif low in {"am/pm", "a/p"}:
            pm = moment.hour >= 12
            out.append(("PM" if pm else "AM") if low == "am/pm" else ("P" if pm else "A"))
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        elif token not in {"_", "*", "@"}:
            out.append(token)
    return "".join(out).strip() or _date_text(when)


def is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")
