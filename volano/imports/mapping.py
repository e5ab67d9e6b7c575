"""Which column goes where: the targets of each kind of import and suggestions from headers.

A mapping is `{"<header>": "<target>"}`; a header mapped to "" (or absent) is ignored.
Suggestions know the headers Italian and English spreadsheets use ("Ragione sociale",
"Partita IVA", "Cellulare", "E-mail", "Posta elettronica"…) and custom fields by key or label.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from volano.core.errors import ApplicationError

_ADDRESS = {
    "street": ("indirizzo", "via", "address", "street", "indirizzo via"),
    "postal_code": ("cap", "c a p", "postal code", "zip", "zip code", "postcode", "codice postale"),
    "city": ("comune", "citta", "city", "localita", "town"),
    "province": ("provincia", "prov", "province", "sigla provincia", "pr"),
    "region": ("regione", "region"),
    "country": ("nazione", "paese", "stato", "country"),
}

CONTACT_TARGETS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e mail", "mail", "posta elettronica", "indirizzo email", "email address"),
    "first_name": ("nome", "first name", "firstname", "given name", "name"),
    "last_name": ("cognome", "last name", "lastname", "surname", "family name"),
    "phone": (
        "telefono",
        "cellulare",
        "cell",
        "tel",
        "mobile",
        "phone",
        "telephone",
        "numero di telefono",
        "phone number",
    ),
    "job_title": ("ruolo", "qualifica", "job title", "title", "position", "mansione", "role"),
    **_ADDRESS,
    "language": ("lingua", "language"),
    "tags": ("tag", "tags", "etichette"),
    "company": ("azienda", "ragione sociale", "societa", "company", "company name", "ditta"),
    "company_vat_number": ("partita iva", "p iva", "piva", "vat", "vat number", "vat id"),
    "consent_email_marketing": (
        "consenso newsletter",
        "newsletter",
        "privacy marketing",
        "consenso marketing",
        "email marketing consent",
        "marketing consent",
        "consent",
    ),
    "consent_profiling": ("consenso profilazione", "privacy profilazione", "profiling consent"),
    "consent_third_party": ("consenso terzi", "privacy terzi", "third party consent"),
}

COMPANY_TARGETS: dict[str, tuple[str, ...]] = {
    "name": ("ragione sociale", "azienda", "societa", "denominazione", "company", "company name"),
    "vat_number": ("partita iva", "p iva", "piva", "vat", "vat number", "vat id"),
    "tax_code": ("codice fiscale", "cod fiscale", "cf", "tax code", "fiscal code"),
    "ateco_code": ("codice ateco", "ateco", "ateco code"),
    "sector": ("settore", "sector", "industry", "settore merceologico"),
    "size_band": ("dimensione", "dipendenti", "size", "employees", "size band"),
    **_ADDRESS,
    "website": ("sito web", "sito", "website", "web", "url"),
    "phone": ("telefono", "tel", "phone", "centralino", "telephone"),
}

ORDER_TARGETS: dict[str, tuple[str, ...]] = {
    "number": (
        "numero ordine",
        "n ordine",
        "ordine",
        "order",
        "order number",
        "order id",
        "numero",
    ),
    "date": ("data", "data ordine", "date", "order date"),
    "customer_email": ("email", "e mail", "email cliente", "customer email", "posta elettronica"),
    "customer_first_name": ("nome", "first name"),
    "customer_last_name": ("cognome", "last name"),
    "customer_vat_number": ("partita iva", "p iva", "piva", "vat number", "vat"),
    "customer_company": ("ragione sociale", "azienda", "cliente", "customer", "company"),
    "sku": ("codice", "codice articolo", "sku", "product code", "articolo", "cod articolo"),
    "product_name": ("prodotto", "descrizione", "product", "product name", "descrizione articolo"),
    "product_line": ("linea", "linea prodotto", "product line", "famiglia", "categoria"),
    "quantity": ("quantita", "qta", "qty", "quantity", "pezzi"),
    "unit_price": ("prezzo", "prezzo unitario", "unit price", "price"),
    "amount": ("importo", "totale riga", "amount", "line total", "totale", "importo riga"),
    "currency": ("valuta", "currency"),
    "status": ("stato", "status", "stato ordine"),
    "channel": ("canale", "channel"),
}

TARGETS = {"contacts": CONTACT_TARGETS, "companies": COMPANY_TARGETS, "orders": ORDER_TARGETS}

# Targets without which an import of that kind cannot match anything.
REQUIRED = {
    "contacts": (("email",), _("a column with the email address")),
    "companies": (("name", "vat_number"), _("a column with the company name or partita IVA")),
    "orders": (("number",), _("a column with the order number")),
}

TARGET_LABELS = {
    "email": _("Email"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "phone": _("Phone"),
    "job_title": _("Job title"),
    "street": _("Street"),
    "postal_code": _("CAP (postal code)"),
    "city": _("City (comune)"),
    "province": _("Province"),
    "region": _("Region"),
    "country": _("Country"),
    "language": _("Language"),
    "tags": _("Tags"),
    "company": _("Company name"),
    "company_vat_number": _("Company partita IVA"),
    "consent_email_marketing": _("Consent: email marketing"),
    "consent_profiling": _("Consent: profiling"),
    "consent_third_party": _("Consent: third-party use"),
    "name": _("Company name"),
    "vat_number": _("Partita IVA"),
    "tax_code": _("Codice fiscale"),
    "ateco_code": _("ATECO code"),
    "sector": _("Sector"),
    "size_band": _("Size (employees)"),
    "website": _("Website"),
    "number": _("Order number"),
    "date": _("Order date"),
    "customer_email": _("Customer email"),
    "customer_first_name": _("Customer first name"),
    "customer_last_name": _("Customer last name"),
    "customer_vat_number": _("Customer partita IVA"),
    "customer_company": _("Customer company name"),
    "sku": _("Product code (SKU)"),
    "product_name": _("Product"),
    "product_line": _("Product line"),
    "quantity": _("Quantity"),
    "unit_price": _("Unit price"),
    "amount": _("Line amount"),
    "currency": _("Currency"),
    "status": _("Status"),
    "channel": _("Channel"),
}


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def targets_for(kind: str, custom_fields: Iterable = ()) -> list[tuple[str, str]]:
    """(target, label) pairs a column of this kind may be mapped to, custom fields last."""
    choices = [(t, str(TARGET_LABELS.get(t, t))) for t in TARGETS[kind]]
    if kind in {"contacts", "companies"}:
        choices += [(f"custom.{f.key}", f"{f.label} ({f.key})") for f in custom_fields]
    return choices


def suggest_mapping(kind: str, headers: list[str], custom_fields: Iterable = ()) -> dict[str, str]:
    """The best guess for each header; a target is given to one column only (the first)."""
    aliases: dict[str, str] = {}
    for target, names in TARGETS[kind].items():
        aliases.setdefault(normalise_header(target), target)
        for name in names:
            aliases.setdefault(name, target)
    if kind in {"contacts", "companies"}:
        for custom in custom_fields:
            target = f"custom.{custom.key}"
            for name in (custom.key, custom.label, target):
                aliases.setdefault(normalise_header(name), target)
    suggestion: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = aliases.get(normalise_header(header), "")
        if target and target not in taken:
            suggestion[header] = target
            taken.add(target)
        else:
            suggestion[header] = ""
    return suggestion


def mapping_check(
    kind: str, headers: list[str], mapping: dict, custom_fields: Iterable = ()
) -> dict[str, str]:
    """A mapping given by a person: every target must exist and be used once."""
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str | None) for k, v in mapping.items()
    ):
        raise ApplicationError(
            gettext('a mapping is a JSON object {"<column header>": "<target>"}'), field="mapping"
        )
    allowed = {t for t, _label in targets_for(kind, custom_fields)}
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for header in headers:
        target = (mapping.get(header) or "").strip()
        if target and target not in allowed:
            raise ApplicationError(
                gettext(
                    'column "%(header)s": unknown target "%(target)s" (use one of: %(allowed)s)'
                )
                % {"header": header, "target": target, "allowed": ", ".join(sorted(allowed))},
                field="mapping",
            )
        if target in used:
            raise ApplicationError(
                gettext('columns "%(first)s" and "%(second)s" are both mapped to "%(target)s"')
                % {"first": used[target], "second": header, "target": target},
                field="mapping",
            )
        if target:
            used[target] = header
        clean[header] = target
    missing_headers = [h for h in mapping if h not in headers and mapping[h]]
    if missing_headers:
        raise ApplicationError(
            gettext("the mapping names columns the file does not have: %(columns)s")
            % {"columns": ", ".join(missing_headers)},
            field="mapping",
        )
    needed, description = REQUIRED[kind]
    if not any(t in used for t in needed):
        raise ApplicationError(
            gettext("no column is mapped to %(what)s") % {"what": description}, field="mapping"
        )
    return clean
