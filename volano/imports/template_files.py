"""Template files to download: per kind of import, the headers Volano maps by itself and one
example row, as CSV or Excel, in the user's language.

Each header is one the suggestions in `volano.imports.mapping` know, so a template filled in
and uploaded back needs no mapping by hand (a test uploads each one back and checks it).
Italian files are what Italian Excel writes and reads: `;`-separated CSV, dates as 31/12/2026,
decimal commas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from volano.imports.models import ImportKind

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
EXAMPLE_DATE = dt.date(2026, 3, 12)


@dataclass(frozen=True)
class Column:
    it: str
    en: str
    example_it: str | dt.date | int
    example_en: str | dt.date | int


# (Italian header, English header, Italian example, English example); the partita IVA has a
# valid check digit, the phone number and the CAP are real-looking, so the example row imports.
COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.CONTACTS: (
        Column("E-mail", "Email", "mario.rossi@example.it", "mario.rossi@example.it"),
        Column("Nome", "First name", "Mario", "Mario"),
        Column("Cognome", "Last name", "Rossi", "Rossi"),
        Column("Cellulare", "Phone", "338 307 6475", "+39 338 307 6475"),
        Column("Ruolo", "Job title", "Responsabile acquisti", "Purchasing manager"),
        Column("Azienda", "Company", "Officina Rossi S.r.l.", "Officina Rossi S.r.l."),
        Column("Partita IVA", "VAT number", "02123450153", "02123450153"),
        Column("Indirizzo", "Street", "Via Roma 12", "Via Roma 12"),
        Column("CAP", "Postal code", "20121", "20121"),
        Column("Comune", "City", "Milano", "Milano"),
        Column("Provincia", "Province", "MI", "MI"),
        Column("Tag", "Tags", "fiera, trattori", "fair, tractors"),
        Column("Consenso newsletter", "Marketing consent", "sì", "yes"),
    ),
    ImportKind.COMPANIES: (
        Column("Ragione sociale", "Company name", "Officina Rossi S.r.l.", "Officina Rossi S.r.l."),
        Column("Partita IVA", "VAT number", "02123450153", "02123450153"),
        Column("Codice ATECO", "ATECO code", "28.30.00", "28.30.00"),
        Column("Settore", "Sector", "Macchine agricole", "Farm machinery"),
        Column("Dipendenti", "Employees", "10-49", "10-49"),
        Column("Indirizzo", "Street", "Via Roma 12", "Via Roma 12"),
        Column("CAP", "Postal code", "20121", "20121"),
        Column("Comune", "City", "Milano", "Milano"),
        Column("Provincia", "Province", "MI", "MI"),
        Column(
            "Sito web", "Website", "https://www.officinarossi.it", "https://www.officinarossi.it"
        ),
        Column("Telefono", "Phone", "02 1234567", "+39 02 1234567"),
    ),
    ImportKind.ORDERS: (
        Column("Numero ordine", "Order number", "2026-0001", "2026-0001"),
        Column("Data", "Order date", EXAMPLE_DATE, EXAMPLE_DATE),
        Column("E-mail", "Email", "mario.rossi@example.it", "mario.rossi@example.it"),
        Column("Nome", "First name", "Mario", "Mario"),
        Column("Cognome", "Last name", "Rossi", "Rossi"),
        Column("Partita IVA", "VAT number", "02123450153", "02123450153"),
        Column("Ragione sociale", "Company", "Officina Rossi S.r.l.", "Officina Rossi S.r.l."),
        Column("Codice articolo", "SKU", "FLT-200", "FLT-200"),
        Column("Prodotto", "Product", "Filtro olio 200", "Oil filter 200"),
        Column("Linea prodotto", "Product line", "Ricambi", "Spare parts"),
        Column("Quantità", "Quantity", 4, 4),
        Column("Prezzo unitario", "Unit price", "12,50", "12.50"),
        Column("Importo", "Amount", "50,00", "50.00"),
    ),
}

FILE_NAMES = {
    "it": {
        ImportKind.CONTACTS: "modello-contatti",
        ImportKind.COMPANIES: "modello-aziende",
        ImportKind.ORDERS: "modello-ordini",
    },
    "en": {
        ImportKind.CONTACTS: "template-contacts",
        ImportKind.COMPANIES: "template-companies",
        ImportKind.ORDERS: "template-orders",
    },
}


@dataclass(frozen=True)
class TemplateFile:
    name: str
    content: bytes
    content_type: str


def import_template_file(*, kind: str, file_format: str, language: str) -> TemplateFile:
    """The template of one kind of import, "csv" or "xlsx", with Italian headers for "it"."""
    italian = (language or "").split("-")[0] == "it"
    lang = "it" if italian else "en"
    columns = COLUMNS[ImportKind(kind)]
    headers = [c.it if italian else c.en for c in columns]
    example = [c.example_it if italian else c.example_en for c in columns]
    name = f"{FILE_NAMES[lang][ImportKind(kind)]}.{file_format}"
    if file_format == "xlsx":
        return TemplateFile(name, _xlsx(headers, example, italian=italian), XLSX_TYPE)
    cells = [_csv_cell(value, italian=italian) for value in example]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if italian else ",", lineterminator="\r\n")
    writer.writerows([headers, cells])
    text = buffer.getvalue()
    # With a byte order mark, Excel opens the UTF-8 file with its accents right.
    return TemplateFile(name, ("\ufeff" + text).encode("utf-8"), "text/csv; charset=utf-8")


def _csv_cell(value: str | dt.date | int, *, italian: bool) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y") if italian else value.isoformat()
    return str(value)


def _xlsx(headers: list[str], example: list, *, italian: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    sheet.append(example)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[2]:
        if isinstance(cell.value, dt.date):
            cell.number_format = "DD/MM/YYYY" if italian else "YYYY-MM-DD"
    for column, header in zip(sheet.columns, headers, strict=True):
        width = max(len(header), *(len(str(c.value or "")) for c in column))
        sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 40)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
