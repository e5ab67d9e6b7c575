import datetime as dt
from decimal import Decimal

import pytest

from volano.contacts import cleaning
from volano.contacts.cleaning import FieldError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [(" Mario.Rossi@Example.IT ", "mario.rossi@example.it"), ("", ""), (None, "")],
)
def test_emails_are_trimmed_and_lowercased(raw, clean):
    assert cleaning.clean_email(raw) == clean


@pytest.mark.parametrize(
    "raw", ["mario.rossi@", "mario rossi@example.it", "@example.it", "mario@@x.it"]
)
def test_bad_emails_say_so(raw):
    with pytest.raises(FieldError, match="not an email address"):
        cleaning.clean_email(raw)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("333 123 4567", "+393331234567"),
        ("+39 02 1234 5678", "+390212345678"),
        ("0039 035 123456", "+39035123456"),
        ("02-1234567", "+39021234567"),
    ],
)
def test_italian_phones_become_e164(raw, e164):
    assert cleaning.clean_phone(raw) == e164


def test_a_phone_with_too_few_digits_is_refused():
    with pytest.raises(FieldError):
        cleaning.clean_phone("12")


def test_partita_iva_check_digit():
    assert cleaning.clean_vat_number("IT 01114601006") == "01114601006"
    with pytest.raises(FieldError, match="check digit"):
        cleaning.clean_vat_number("01114601007")
    with pytest.raises(FieldError, match="11 digits"):
        cleaning.clean_vat_number("12345")


def test_codice_fiscale():
    assert cleaning.clean_tax_code("rssmra85t10a562s") == "RSSMRA85T10A562S"
    with pytest.raises(FieldError):
        cleaning.clean_tax_code("RSSMRA85T10A562X")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.234,56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("€ 1.234", Decimal("1234")),
        ("12,5", Decimal("12.5")),
        ("1234.5", Decimal("1234.5")),
        (7, Decimal("7")),
    ],
)
def test_decimals_in_italian_and_english(raw, value):
    assert cleaning.parse_decimal(raw) == value


def test_dates_day_first():
    assert cleaning.parse_date("31/12/2025") == dt.date(2025, 12, 31)
    assert cleaning.parse_date("2025-12-31") == dt.date(2025, 12, 31)
    with pytest.raises(FieldError, match="not a date"):
        cleaning.parse_date("31/13/2025")


def test_postal_code_keeps_its_leading_zero():
    assert cleaning.clean_postal_code("184") == "00184"
    with pytest.raises(FieldError, match="5 digits"):
        cleaning.clean_postal_code("2012A")


def test_booleans_in_italian():
    assert cleaning.parse_boolean("Sì") is True
    assert cleaning.parse_boolean("no") is False
    with pytest.raises(FieldError):
        cleaning.parse_boolean("forse")


XSS_URLS = [
    "javascript:alert(document.domain)//://",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)//://",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://files.example.it/",
    "//evil.example/",
    "https://",
    "https://exa mple.it/",
    "https://example.it/\x00",
]


@pytest.mark.parametrize("raw", XSS_URLS)
def test_only_http_and_https_websites_are_kept(raw):
    with pytest.raises(FieldError, match="Website"):
        cleaning.clean_website(raw)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("officinarossi.it", "https://officinarossi.it"),
        ("www.officinarossi.it/prodotti?x=1", "https://www.officinarossi.it/prodotti?x=1"),
        ("localhost:8000", "https://localhost:8000"),
        (" http://Verdi.it ", "http://Verdi.it"),
        ("HTTPS://caffè.it/menù", "HTTPS://caffè.it/menù"),
        ("", ""),
    ],
)
def test_a_website_without_a_scheme_gets_https(raw, clean):
    assert cleaning.clean_website(raw) == clean


def test_a_website_too_long_once_https_is_added_is_refused():
    with pytest.raises(FieldError, match="at most 200"):
        cleaning.clean_website("rossi.it/" + "a" * 185)
