from __future__ import annotations

import pytest

from volano.contacts.services import custom_field_create
from volano.core.errors import ApplicationError
from volano.imports.mapping import mapping_check, suggest_mapping
from volano.imports.services import import_mapping_suggest


def test_italian_and_english_contact_headers_are_suggested():
    headers = [
        "Nome",
        "Cognome",
        "E-mail",
        "Cellulare",
        "CAP",
        "Comune",
        "Provincia",
        "Indirizzo",
        "Qualifica",
        "Azienda",
        "Partita IVA",
        "Lingua",
        "Tag",
        "Consenso newsletter",
        "Note",
    ]
    assert suggest_mapping("contacts", headers) == {
        "Nome": "first_name",
        "Cognome": "last_name",
        "E-mail": "email",
        "Cellulare": "phone",
        "CAP": "postal_code",
        "Comune": "city",
        "Provincia": "province",
        "Indirizzo": "street",
        "Qualifica": "job_title",
        "Azienda": "company",
        "Partita IVA": "company_vat_number",
        "Lingua": "language",
        "Tag": "tags",
        "Consenso newsletter": "consent_email_marketing",
        "Note": "",
    }


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Email", "email"),
        ("Posta elettronica", "email"),
        ("Telefono", "phone"),
        ("Città", "city"),
        ("Ruolo", "job_title"),
        ("Privacy marketing", "consent_email_marketing"),
        ("First name", "first_name"),
        ("ZIP code", "postal_code"),
    ],
)
def test_contact_header_synonyms(header, target):
    assert suggest_mapping("contacts", [header]) == {header: target}


def test_company_headers_are_suggested():
    headers = [
        "Ragione sociale",
        "Partita IVA",
        "Codice fiscale",
        "Settore",
        "Codice ATECO",
        "Sito web",
        "Provincia",
    ]
    assert suggest_mapping("companies", headers) == {
        "Ragione sociale": "name",
        "Partita IVA": "vat_number",
        "Codice fiscale": "tax_code",
        "Settore": "sector",
        "Codice ATECO": "ateco_code",
        "Sito web": "website",
        "Provincia": "province",
    }


def test_a_target_goes_to_the_first_column_only():
    assert suggest_mapping("contacts", ["Telefono", "Cellulare"]) == {
        "Telefono": "phone",
        "Cellulare": "",
    }


def test_custom_fields_by_key_or_label(officina):
    custom_field_create(workspace=officina, key="fatturato", label="Fatturato annuo", type="money")
    custom_field_create(workspace=officina, key="fiera", label="Fiera", type="text")
    suggestion = import_mapping_suggest(
        workspace=officina, kind="contacts", headers=["Fatturato annuo", "fiera", "Email"]
    )
    assert suggestion == {
        "Fatturato annuo": "custom.fatturato",
        "fiera": "custom.fiera",
        "Email": "email",
    }


def test_a_bad_mapping_says_what_is_wrong():
    with pytest.raises(ApplicationError, match="unknown target"):
        mapping_check("contacts", ["Email"], {"Email": "e-mail"})
    with pytest.raises(ApplicationError, match="both mapped"):
        mapping_check("contacts", ["A", "B"], {"A": "email", "B": "email"})
    with pytest.raises(ApplicationError, match="email address"):
        mapping_check("contacts", ["Nome"], {"Nome": "first_name"})
    with pytest.raises(ApplicationError, match="does not have"):
        mapping_check("contacts", ["Email"], {"Email": "email", "Mail": "email"})
