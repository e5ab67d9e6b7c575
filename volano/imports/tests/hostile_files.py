"""Builders of hostile import files, written in blocks so that building one costs no memory:
used by test_hostile_files.py and by bench/import_hostile.py (which measures peak memory)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
SHARED_STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}">'
    '<sheets><sheet name="Foglio1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def inline_cell(column: int, row: int, text: str) -> str:
    return f'<c r="{column_letters(column)}{row}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def shared_cell(column: int, row: int, index: int) -> str:
    return f'<c r="{column_letters(column)}{row}" t="s"><v>{index}</v></c>'


def row_xml(number: int, cells: Iterable[str]) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def write_xlsx(
    path: Path,
    sheet: Iterable[str | bytes],
    *,
    shared_strings: Iterable[str | bytes] | None = None,
    extra_parts: int = 0,
    workbook: str = WORKBOOK,
    zip64: bool = False,
    dimension: str = "",
) -> Path:
    """A workbook whose sheet XML (between <sheetData> and </sheetData>) and shared strings
    XML (the <si> elements) come in pieces, each written as it comes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        types = CONTENT_TYPES + (SHARED_STRINGS_TYPE if shared_strings is not None else "")
        z.writestr("[Content_Types].xml", types + "</Types>")
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        _stream(
            z,
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + "<sheetData>",
            sheet,
            "</sheetData></worksheet>",
            zip64=zip64,
        )
        if shared_strings is not None:
            _stream(
                z,
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">',
                shared_strings,
                "</sst>",
            )
        for number in range(extra_parts):
            z.writestr(f"xl/media/empty{number}.bin", b"")
    return path


def _stream(
    z: zipfile.ZipFile, name: str, opening: str, pieces, closing: str, *, zip64: bool = False
) -> None:
    with z.open(name, "w", force_zip64=zip64) as part:
        part.write(opening.encode())
        for piece in pieces:
            part.write(piece if isinstance(piece, bytes) else piece.encode())
        part.write(closing.encode())


def repeated(piece: str, times: int, *, block: int = 1 << 20) -> Iterator[str]:
    """`piece * times`, yielded a block at a time."""
    per_block = max(1, block // max(1, len(piece)))
    while times > 0:
        count = min(per_block, times)
        yield piece * count
        times -= count


def huge_header_cell(path: Path, chars: int) -> Path:
    """A header row whose first cell holds `chars` characters (inline), then a normal row."""

    def sheet():
        yield '<row r="1"><c r="A1" t="inlineStr"><is><t>'
        yield from repeated("x", chars)
        yield "</t></is></c>" + inline_cell(2, 1, "Email") + "</row>"
        yield row_xml(2, [inline_cell(1, 2, "Mario"), inline_cell(2, 2, "mario@example.it")])

    return write_xlsx(path, sheet())


def huge_shared_strings(path: Path, count: int) -> Path:
    """A normal header and two rows, and `count` unique shared strings nobody uses."""

    def strings():
        yield "<si><t>Email</t></si><si><t>Nome</t></si>"
        batch = []
        for number in range(count):
            batch.append(f"<si><t>stringa condivisa {number:09d}</t></si>")
            if len(batch) == 10_000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    sheet = [
        row_xml(1, [shared_cell(1, 1, 0), shared_cell(2, 1, 1)]),
        row_xml(2, [inline_cell(1, 2, "anna@example.it"), inline_cell(2, 2, "Anna")]),
    ]
    return write_xlsx(path, sheet, shared_strings=strings())


def zip_bomb(path: Path, uncompressed: int) -> Path:
    """A sheet of `uncompressed` bytes of blanks between two rows: a few KB zipped."""

    def sheet():
        yield row_xml(1, [inline_cell(1, 1, "Email")])
        yield from repeated(" ", uncompressed)
        yield row_xml(2, [inline_cell(1, 2, "anna@example.it")])

    return write_xlsx(path, sheet(), zip64=uncompressed >= 1 << 31)


def wide_header(path: Path, columns: int) -> Path:
    cells = (inline_cell(n, 1, f"Colonna {n}") for n in range(1, columns + 1))
    return write_xlsx(path, ['<row r="1">', *cells, "</row>"])


def csv_huge_cell(path: Path, chars: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("Email;Nome\n")
        out.write("anna@example.it;")
        for block in repeated("x", chars):
            out.write(block)
        out.write("\nmario@example.it;Mario\n")
    return path
