"""Cost files as the ad platforms export them, recognised by their headers.

`parse_cost_file(content, filename, platform=None)` reads a CSV (UTF-8 with or without BOM,
UTF-16 as Google Ads' "CSV for Excel", Windows-1252; `,` `;` or tab) or an .xlsx and returns a
`ParsedFile`: the platform, and one `CostRow` per data row with its line number, the campaign as
the platform names it, the days it covers (one day, or a range to spread) and the amount.
Cells that cannot be read become `RowProblem`s naming row and column; the rest is kept.
A layout no parser recognises raises `UnknownLayout` naming the headers found and expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError

PLATFORMS = ("google_ads", "meta", "linkedin", "ga4", "generic")
MAX_BYTES = 20 * 1024 * 1024


class UnknownLayout(ApplicationError):
    """No parser recognises the file's headers."""


@dataclass
class CostRow:
    row: int  # the line (CSV) or sheet row (xlsx), counted from 1, as a spreadsheet shows it
    campaign: str
    campaign_column: str
    start: dt.date
    end: dt.date
    amount: Decimal
    amount_column: str
    currency: str = ""
    currency_column: str = ""
    impressions: int | None = None
    clicks: int | None = None


@dataclass
class RowProblem:
    row: int
    column: str
    value: str
    message: str


@dataclass
class ParsedFile:
    platform: str
    headers: list[str]
    rows: list[CostRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped_totals: int = 0


def norm(text: str) -> str:
    """Lower-case, accents off, spaces collapsed: what headers and campaign names compare by."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("\u00a0", " ").casefold().split())


# --- reading -----------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _count_outside_quotes(line: str, sep: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            count += 1
    return count


def _read_csv(content: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(content).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    sample = [line for line in lines[:40] if line and not line.startswith("#")]
    sep = max(
        ("\t", ";", ","),
        key=lambda s: max((_count_outside_quotes(x, s) for x in sample), default=0),
    )
    rows: list[tuple[int, list[str]]] = []
    # csv reads quoted cells with newlines; line numbers follow the reader's own count
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)
    for cells in reader:
        number = reader.line_num
        if len(cells) == 1 and cells[0].startswith("#"):
            rows.append((number, cells))
            continue
        rows.append((number, [c.strip() for c in cells]))
    return rows


def _read_xlsx(content: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise UnknownLayout(
            _("not a readable Excel file: %(error)s") % {"error": error}, field="file"
        ) from None
    sheet = book.worksheets[0]
    rows: list[tuple[int, list[str]]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = []
        for value in values:
            if value is None:
                cells.append("")
            elif isinstance(value, dt.datetime):
                cells.append(value.date().isoformat())
            elif isinstance(value, dt.date):
                cells.append(value.isoformat())
            elif isinstance(value, float):
                cells.append(repr(value))
            else:
                cells.append(str(value).strip())
        while cells and cells[-1] == "":
            cells.pop()
        rows.append((number, cells))
    book.close()
    return rows


def read_table(content: bytes, filename: str) -> tuple[list[tuple[int, list[str]]], bool]:
    """The file's rows as (line number, cells), and whether it was a spreadsheet."""
    if len(content) > MAX_BYTES:
        raise ApplicationError(_("the file is larger than 20 MB"), field="file")
    if content.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return _read_xlsx(content), True
    return _read_csv(content), False


# --- values ------------------------------------------------------------------------------------

MONTHS = {
    **{
        m: i
        for i, m in enumerate(
            [
                "gennaio",
                "febbraio",
                "marzo",
                "aprile",
                "maggio",
                "giugno",
                "luglio",
                "agosto",
                "settembre",
                "ottobre",
                "novembre",
                "dicembre",
            ],
            start=1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ],
            start=1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
            start=1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
            start=1,
        )
    },
    "sept": 9,
}
EMPTY = {"", "--", "-", "—", "n/a", "(not set)"}


def parse_date(text: str, *, month_first: bool = False) -> dt.date | None:
    """ISO (2026-01-31), compact (20260131, GA4), Italian (31/01/2026, 31.01.2026, 31-01-2026),
    US when `month_first` (1/31/2026, LinkedIn), and month names in Italian or English
    (31 gennaio 2026, 1 gen 2026, January 31, 2026, Jan 31, 2026). None when not a date."""
    value = norm(text).replace(",", " ").replace(".", " ").strip()
    raw = (text or "").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw[:10]) and (len(raw) == 10 or raw[10] in " T"):
            return dt.date.fromisoformat(raw[:10])
        if re.fullmatch(r"\d{8}", raw):
            return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", raw)
        if match:
            a, b, year = (int(g) for g in match.groups())
            month, day = (a, b) if month_first else (b, a)
            return dt.date(year, month, day)
        match = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", raw)
        if match:
            return dt.date(*(int(g) for g in match.groups()))
        parts = value.split()
        if len(parts) == 3:
            if parts[0].isdigit() and parts[1] in MONTHS and parts[2].isdigit():
                return dt.date(int(parts[2]), MONTHS[parts[1]], int(parts[0]))
            if parts[0] in MONTHS and parts[1].isdigit() and parts[2].isdigit():
                return dt.date(int(parts[2]), MONTHS[parts[0]], int(parts[1]))
    except ValueError:
        return None
    return None


def parse_range(text: str, *, month_first: bool = False) -> tuple[dt.date, dt.date] | None:
    """`1 gennaio 2026 - 31 gennaio 2026`, `January 1, 2026 - January 31, 2026`, `20260101-20260131`."""
    parts = re.split(r"\s+[-–—]\s+|\s+(?:to|al|a)\s+|(?<=\d{8})-(?=\d{8})", (text or "").strip())
    if len(parts) != 2:
        return None
    start, end = (
        parse_date(parts[0], month_first=month_first),
        parse_date(parts[1], month_first=month_first),
    )
    if start and end and start <= end:
        return start, end
    return None


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal | None:
    """1.234,56 / 1234,56 (Italian), 1,234.56 / 1234.56 (English), € 12, 12 EUR. Which of `.`
    and `,` is the decimal mark: the last when both appear; alone, a comma is decimal in an
    Italian file, and a mark followed by exactly three digits groups thousands in a file of the
    other language. Raises ValueError when not a number; None when empty (`--`)."""
    value = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    value = re.sub(r"^[€$£]|[€$£]$|^[A-Z]{3}|[A-Z]{3}$", "", value)
    if value.lower() in EMPTY:
        return None
    negative = value.startswith("-") or (value.startswith("(") and value.endswith(")"))
    value = value.strip("()").lstrip("-+")
    if "," in value and "." in value:
        decimal = "," if value.rfind(",") > value.rfind(".") else "."
    elif "," in value:
        decimal = "," if decimal_comma or not re.fullmatch(r"\d{1,3}(,\d{3})+", value) else ""
    elif "." in value:
        decimal = "" if decimal_comma and re.fullmatch(r"\d{1,3}(\.\d{3})+", value) else "."
    else:
        decimal = "."
    thousands = {",": ".", ".": ","}.get(decimal, "")
    cleaned = value.replace(thousands, "") if thousands else value.replace(",", "").replace(".", "")
    if decimal == ",":
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise ValueError(text)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    return -amount if negative else amount


def parse_count(text: str, *, decimal_comma: bool) -> int | None:
    try:
        amount = parse_amount(text, decimal_comma=decimal_comma)
    except ValueError:
        return None
    return int(amount) if amount is not None else None


# --- layouts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    platform: str
    campaign: tuple[str, ...]
    cost: tuple[str, ...]  # header names; a name ending in "(" matches "(EUR)" etc.
    day: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    end: tuple[str, ...] = ()
    impressions: tuple[str, ...] = ()
    clicks: tuple[str, ...] = ()
    currency: tuple[str, ...] = ()
    marks: tuple[
        str, ...
    ] = ()  # headers of which one must be present (tells similar layouts apart)
    month_first: bool = False


LAYOUTS = (
    Layout(
        "meta",
        campaign=("nome della campagna", "campaign name"),
        cost=("importo speso (", "amount spent ("),
        day=("giorno", "day"),
        start=("inizio report", "reporting starts"),
        end=("fine report", "reporting ends"),
        impressions=("impression", "impressions"),
        clicks=("clic sul link", "link clicks"),
    ),
    Layout(
        "linkedin",
        campaign=("campaign name", "nome campagna"),
        cost=("total spent", "spesa totale"),
        day=("start date (in utc)", "data di inizio (in utc)"),
        impressions=("impressions", "impressioni"),
        clicks=("clicks", "clic"),
        currency=("currency", "valuta"),
        month_first=True,
    ),
    Layout(
        "ga4",
        campaign=("session campaign", "campagna della sessione", "campaign", "campagna"),
        cost=("ads cost", "costo pubblicita", "costo della pubblicita"),
        day=("date", "data"),
        clicks=("ads clicks", "clic sugli annunci"),
        impressions=("ads impressions", "impressioni degli annunci"),
    ),
    Layout(
        "google_ads",
        campaign=("campaign", "campagna"),
        cost=("cost", "costo"),
        day=("day", "giorno"),
        impressions=("impr.", "impressions", "impressioni"),
        clicks=("clicks", "clic"),
        currency=("currency code", "codice valuta", "currency", "valuta"),
        marks=(
            "impr.",
            "impressions",
            "impressioni",
            "clicks",
            "clic",
            "currency code",
            "codice valuta",
            "campaign status",
            "stato campagna",
            "campaign type",
            "tipo di campagna",
            "budget",
            "avg. cpc",
            "cpc medio",
        ),
    ),
    Layout(
        "generic",
        campaign=("campagna", "campaign", "nome campagna", "campaign name", "utm_campaign"),
        cost=("costo", "cost", "importo", "amount", "spesa", "spend"),
        day=("data", "date", "giorno", "day"),
        currency=("valuta", "currency"),
        clicks=("clic", "clicks"),
        impressions=("impressioni", "impressions"),
    ),
)
LAYOUT_BY_PLATFORM = {layout.platform: layout for layout in LAYOUTS}
EXPECTED = {
    "google_ads": "Campaign/Campagna, Cost/Costo (Day/Giorno, Impr., Clicks/Clic, Currency code)",
    "meta": "Campaign name/Nome della campagna, Amount spent (EUR)/Importo speso (EUR), "
    "Reporting starts/Inizio report",
    "linkedin": "Campaign Name, Total Spent, Start Date (in UTC), Currency",
    "ga4": "Session campaign/Campagna della sessione, Ads cost/Costo pubblicità, Date/Data",
    "generic": "data/date, campagna/campaign, costo/cost",
}


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        for index, header in enumerate(headers):
            if header == name or (name.endswith("(") and header.startswith(name)):
                return index
    return None


def _matches(layout: Layout, headers: list[str]) -> bool:
    if _find(headers, layout.campaign) is None or _find(headers, layout.cost) is None:
        return False
    if layout.marks and _find(headers, layout.marks) is None:
        return False
    return not (layout.platform == "generic" and _find(headers, layout.day) is None)


RANGE_LINE = re.compile(
    r"(start date|data di inizio|report start|inizio report)\s*[:;,]?\s*(.+)", re.I
)
END_LINE = re.compile(r"(end date|data di fine|report end|fine report)\s*[:;,]?\s*(.+)", re.I)


def _preamble_range(lines: list[list[str]], *, month_first: bool) -> tuple[dt.date, dt.date] | None:
    """A date range written before the header: Google Ads' `1 gennaio 2026 - 31 gennaio 2026`,
    LinkedIn's `Report Start: …` / `Report End: …`, GA4's `# Start date: 20260101`."""
    start = end = None
    for cells in lines:
        text = " ".join(c for c in cells if c).lstrip("#").strip().strip('"')
        found = parse_range(text, month_first=month_first)
        if found:
            return found
        match = RANGE_LINE.match(text)
        if match:
            start = parse_date(
                match.group(2).strip().strip('"').split(" ")[0], month_first=month_first
            ) or parse_date(match.group(2).strip().strip('"'), month_first=month_first)
        match = END_LINE.match(text)
        if match:
            end = parse_date(
                match.group(2).strip().strip('"').split(" ")[0], month_first=month_first
            ) or parse_date(match.group(2).strip().strip('"'), month_first=month_first)
    if start and end and start <= end:
        return start, end
    return None


def _italian(headers: list[str]) -> bool:
    words = {
        "campagna",
        "costo",
        "giorno",
        "data",
        "nome della campagna",
        "clic",
        "campagna della sessione",
        "costo pubblicita",
        "valuta",
        "codice valuta",
        "importo",
    }
    return any(h in words or h.startswith("importo speso") for h in headers)


def _is_total(cells: list[str]) -> bool:
    first = [norm(c) for c in cells if c.strip()][:2]
    return any(
        c.rstrip(":")
        in ("total", "totale", "totals", "totali", "grand total", "totale complessivo")
        or c.startswith(("total:", "totale:", "total ", "totale "))
        for c in first
    )


def parse_cost_file(content: bytes, filename: str = "", platform: str | None = None) -> ParsedFile:
    table, _spreadsheet = read_table(content, filename)
    candidates = [LAYOUT_BY_PLATFORM[platform]] if platform else list(LAYOUTS)
    header_at = None
    layout = None
    seen_headers: list[str] = []
    for position, (_number, cells) in enumerate(table):
        if not cells or (len(cells) == 1 and cells[0].startswith("#")):
            continue
        headers = [norm(c).lstrip("\ufeff") for c in cells]
        if len([h for h in headers if h]) >= 2 and not seen_headers:
            seen_headers = [c for c in cells if c.strip()]
        for candidate in candidates:
            if _matches(candidate, headers):
                layout, header_at = candidate, position
                break
        if layout:
            break
    if layout is None or header_at is None:
        found = ", ".join(repr(h) for h in seen_headers[:12]) or _("none")
        if platform:
            expected = EXPECTED[platform]
        else:
            expected = "; ".join(
                f"{LAYOUT_BY_PLATFORM[p].platform}: {EXPECTED[p]}" for p in PLATFORMS
            )
        raise UnknownLayout(
            _("Unknown cost file layout: headers found %(found)s; expected %(expected)s.")
            % {"found": found, "expected": expected},
            field="file",
        )
    header_cells = table[header_at][1]
    headers = [norm(c).lstrip("\ufeff") for c in header_cells]
    parsed = ParsedFile(platform=layout.platform, headers=header_cells)
    italian = _italian(headers)
    col = {
        name: _find(headers, getattr(layout, name))
        for name in ("campaign", "cost", "day", "start", "end", "impressions", "clicks", "currency")
    }
    # Meta puts the currency in the cost header: "Importo speso (EUR)"
    header_currency = ""
    cost_at = col["cost"]
    match = re.search(r"\(([A-Z]{3})\)", header_cells[cost_at] if cost_at is not None else "")
    if match:
        header_currency = match.group(1)
    preamble = [cells for _n, cells in table[:header_at]]
    file_range = _preamble_range(preamble, month_first=layout.month_first)

    def name_of(key: str) -> str:
        index = col[key]
        return header_cells[index] if index is not None else ""

    for number, cells in table[header_at + 1 :]:
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) == 1 and cells[0].startswith("#"):
            if layout.platform == "ga4":
                break  # the next table of a GA4 export
            continue
        if _is_total(cells):
            parsed.skipped_totals += 1
            continue
        if layout.platform == "ga4" and [norm(c) for c in cells] == headers:
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            index = col[key]
            return cells[index].strip() if index is not None and index < len(cells) else ""

        campaign = cell("campaign")
        if layout.platform == "ga4" and re.fullmatch(r"\(.*\)", campaign):
            continue  # GA4's own (organic), (direct), (referral), (not set): no ad campaign
        if norm(campaign) in EMPTY:
            parsed.problems.append(
                RowProblem(number, name_of("campaign"), campaign, _("no campaign name"))
            )
            continue
        try:
            amount = parse_amount(cell("cost"), decimal_comma=italian)
        except ValueError:
            parsed.problems.append(
                RowProblem(number, name_of("cost"), cell("cost"), _("not an amount"))
            )
            continue
        if amount is None:
            amount = Decimal(0)
        if amount < 0:
            parsed.problems.append(
                RowProblem(number, name_of("cost"), cell("cost"), _("a cost cannot be negative"))
            )
            continue
        start = end = None
        if col["day"] is not None:
            start = end = parse_date(cell("day"), month_first=layout.month_first)
            if start is None:
                parsed.problems.append(
                    RowProblem(number, name_of("day"), cell("day"), _("not a date"))
                )
                continue
        elif col["start"] is not None:
            start = parse_date(cell("start"), month_first=layout.month_first)
            end = (
                parse_date(cell("end"), month_first=layout.month_first)
                if col["end"] is not None
                else start
            )
            if start is None or end is None or end < start:
                bad = "start" if start is None else "end"
                parsed.problems.append(RowProblem(number, name_of(bad), cell(bad), _("not a date")))
                continue
        elif file_range:
            start, end = file_range
        else:
            parsed.problems.append(
                RowProblem(
                    number,
                    name_of("cost"),
                    cell("cost"),
                    _("the file has no day column and no date range above its headers"),
                )
            )
            continue
        assert start is not None and end is not None  # every branch above set both or moved on
        parsed.rows.append(
            CostRow(
                row=number,
                campaign=campaign,
                campaign_column=name_of("campaign"),
                start=start,
                end=end,
                amount=amount,
                amount_column=name_of("cost"),
                currency=(cell("currency") or header_currency).upper(),
                currency_column=name_of("currency") if cell("currency") else name_of("cost"),
                impressions=parse_count(cell("impressions"), decimal_comma=italian),
                clicks=parse_count(cell("clicks"), decimal_comma=italian),
            )
        )
    return parsed
