"""What a marketer sees in the import wizard, through HTTP: templates that map themselves, the
step indicator, a dry run that says nothing was imported, the report's link to the contacts it
created or updated, the timeline line on each of them, and dates previewed as written."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.events.models import Event, EventType
from volano.imports.mapping import suggest_mapping
from volano.imports.models import ImportJob
from volano.imports.services import contacts as contacts_import
from volano.imports.services import import_file

FAIR_ROWS = [
    ["E-mail", "Nome", "Cognome", "Data iscrizione"],
    ["mario.rossi@example.it", "Mario", "Rossi", dt.datetime(2025, 12, 31)],
    ["anna.verdi@example.it", "Anna", "Verdi", None],
    ["luca.bianchi@", "Luca", "Bianchi", None],
]


def xlsx_upload(rows, name="contatti_fiera.xlsx", date_format="DD/MM/YYYY"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    for cells in workbook.active.iter_rows():
        for cell in cells:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = date_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.fixture
def logged_in(client, giulia):
    client.force_login(giulia)
    return client


def client_workspace(client):
    from volano.core.models import Workspace

    return Workspace.objects.get(slug="officina-rossi")


def _upload_and_check(client, upload, kind="contacts"):
    """Upload, let the worker read the file, post the suggested mapping: the dry run is queued."""
    response = client.post(reverse("imports:upload"), {"kind": kind, "file": upload})
    assert response.status_code == 302, response.text[:500]
    job = ImportJob.objects.for_workspace(client_workspace(client)).order_by("-pk").first()
    worker_run_once()
    job.refresh_from_db()
    fields = {f"column-{i}": job.mapping.get(h, "") for i, h in enumerate(job.headers)}
    assert client.post(reverse("imports:mapping", args=[job.pk]), fields).status_code == 302
    worker_run_once()
    job.refresh_from_db()
    return job


def _template_rows(content: bytes, file_format: str, language: str) -> list[list[str]]:
    if file_format == "xlsx":
        sheet = load_workbook(io.BytesIO(content)).active
        return [[str(c.value) for c in row] for row in sheet.iter_rows()]
    text = content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";" if language == "it" else ","))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["it", "en"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["contacts", "companies", "orders"])
def test_a_template_maps_itself_when_uploaded_back(
    logged_in, officina, kind, file_format, language
):
    response = logged_in.get(
        reverse("imports:template", args=[kind, file_format]),
        headers={"Accept-Language": language},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    content = response.content
    headers, _example = _template_rows(content, file_format, language)
    assert all(suggest_mapping(kind, headers).values()), "every header maps by itself"
    assert ("Nome" in headers or "Ragione sociale" in headers) == (language == "it")
    name = response["Content-Disposition"].split('"')[1]
    job = _upload_and_check(logged_in, SimpleUploadedFile(name, content), kind=kind)
    assert job.status == "done" and job.dry_run
    assert job.error_count == 0, job.errors
    assert job.unmapped == []
    assert job.created == 1  # the example row


@pytest.mark.django_db
def test_no_template_for_an_unknown_kind_or_format(logged_in):
    assert logged_in.get("/imports/template/deals.csv").status_code == 404
    assert logged_in.get("/imports/template/contacts.xls").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_every_page_of_the_wizard_marks_its_step(logged_in, officina):
    def current_step(html: str) -> str:
        start = html.index('aria-current="step"')
        return html[start : html.index("</li>", start)]

    assert "File" in current_step(logged_in.get(reverse("imports:list")).text)
    response = logged_in.post(
        reverse("imports:upload"), {"kind": "contacts", "file": xlsx_upload(FAIR_ROWS)}
    )
    job = ImportJob.objects.for_workspace(officina).get()
    assert "Columns" in current_step(logged_in.get(response.url).text)  # reading
    worker_run_once()
    assert "Columns" in current_step(logged_in.get(response.url).text)
    job = _upload_and_check(logged_in, xlsx_upload(FAIR_ROWS))
    assert "Check" in current_step(logged_in.get(reverse("imports:detail", args=[job.pk])).text)
    logged_in.post(reverse("imports:run", args=[job.pk]))
    worker_run_once()
    assert "Import" in current_step(logged_in.get(reverse("imports:detail", args=[job.pk])).text)


@pytest.mark.django_db(transaction=True)
def test_the_dry_run_says_nothing_was_imported_and_imports_nothing(logged_in, officina):
    job = _upload_and_check(logged_in, xlsx_upload(FAIR_ROWS))
    page = logged_in.get(reverse("imports:detail", args=[job.pk]))
    assert "Dry run: nothing was imported." in page.text
    assert "created and changed nothing" in page.text
    assert "data-imported-contacts" not in page.text  # no link: nothing was created
    assert not Contact.objects.for_workspace(officina).exists()
    assert not Event.objects.for_workspace(officina).filter(type=EventType.IMPORTED).exists()


@pytest.mark.django_db(transaction=True)
def test_the_report_links_to_the_contacts_created_or_updated_and_each_has_a_timeline_line(
    logged_in, officina, giulia
):
    anna = contact_create(
        workspace=officina, actor=giulia, data=dict(email="anna.verdi@example.it")
    )
    untouched = contact_create(
        workspace=officina,
        actor=giulia,
        data=dict(email="someone.else@example.it", first_name="Else"),
    )
    job = _upload_and_check(logged_in, xlsx_upload(FAIR_ROWS))
    logged_in.post(reverse("imports:run", args=[job.pk]))
    worker_run_once()
    job.refresh_from_db()
    assert (job.created, job.updated, job.error_count) == (1, 1, 1)
    report = logged_in.get(reverse("imports:detail", args=[job.pk]))
    link = f"/contacts/?import={job.pk}"
    assert f'href="{link}"' in report.text
    assert "Show the 2 contacts created or updated" in report.text

    listed = logged_in.get(link)
    assert listed.status_code == 200
    assert "mario.rossi@example.it" in listed.text and "anna.verdi@example.it" in listed.text
    assert "someone.else@example.it" not in listed.text
    assert "data-import-filter" in listed.text

    mario = Contact.objects.for_workspace(officina).get(email="mario.rossi@example.it")
    events = Event.objects.for_workspace(officina).filter(type=EventType.IMPORTED)
    assert {(e.contact_id, e.properties["action"]) for e in events} == {
        (mario.pk, "created"),
        (anna.pk, "updated"),
    }
    assert all(
        e.properties["file"] == "contatti_fiera.xlsx" and e.properties["job"] == job.pk
        for e in events
    )
    assert not events.filter(contact=untouched).exists()
    english = logged_in.get(reverse("contacts:detail", args=[mario.pk]))
    assert 'Imported</strong> <span class="tl-desc">from contatti_fiera.xlsx' in english.text
    for contact in (mario, anna):
        italian = logged_in.get(
            reverse("contacts:detail", args=[contact.pk]), headers={"Accept-Language": "it"}
        )
        with translation.override("it"):
            line = f'{_("Imported")}</strong> <span class="tl-desc">' + _("from %(file)s") % {
                "file": "contatti_fiera.xlsx"
            }
        assert line in italian.text


@pytest.mark.django_db
def test_the_timeline_line_reads_importato_da_in_italian():
    with translation.override("it"):
        line = f"{_('Imported')} " + _("from %(file)s") % {"file": "contatti_fiera.xlsx"}
    assert line == "Importato da contatti_fiera.xlsx"


@pytest.mark.django_db
def test_one_insert_of_imported_events_per_chunk(officina, giulia, write_csv, monkeypatch):
    """Set-based: one INSERT … SELECT per chunk on SQLite, COPY on PostgreSQL (by the ids
    reserved for the new contacts), whatever the number of contacts; a contact repeated in a
    later chunk gets one line, an unchanged one none."""
    monkeypatch.setattr(contacts_import, "CHUNK", 3)
    contact_create(
        workspace=officina, actor=giulia, data=dict(email="c1@example.it", first_name="Uno")
    )
    contact_create(
        workspace=officina, actor=giulia, data=dict(email="c2@example.it", first_name="Old")
    )
    lines = ["Email;Nome"] + [f"c{i}@example.it;Nome{i}" for i in range(2, 9)]
    lines.insert(2, "c1@example.it;Uno")  # unchanged
    lines.append("c3@example.it;Ancora")  # repeated in the last chunk
    path = write_csv("\n".join(lines) + "\n", name="fiera.csv")
    with CaptureQueriesContext(connection) as queries:
        report = import_file(workspace=officina, actor=giulia, kind="contacts", path=path)
    event_table = Event._meta.db_table
    inserts = [q for q in queries if q["sql"].startswith(f"INSERT INTO {event_table}")]
    if connection.vendor == "postgresql":
        assert inserts == []  # COPY, which Django's query log does not see
    else:
        assert len(inserts) == 3  # 9 rows, chunks of 3
    assert (report.created, report.updated, report.unchanged) == (6, 1, 1)
    events = Event.objects.for_workspace(officina).filter(type=EventType.IMPORTED)
    by_email = {e.contact.email: e for e in events.select_related("contact")}
    assert set(by_email) == {f"c{i}@example.it" for i in range(2, 9)}
    assert by_email["c2@example.it"].properties == {
        "file": "fiera.csv",
        "job": None,
        "action": "updated",
    }
    assert by_email["c5@example.it"].properties["action"] == "created"
    assert events.count() == 7


@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_dates_as_the_file_writes_them(logged_in, officina):
    rows = [
        ["E-mail", "Data iscrizione", "Ora"],
        ["mario.rossi@example.it", dt.datetime(2025, 12, 31), None],
    ]
    response = logged_in.post(
        reverse("imports:upload"), {"kind": "contacts", "file": xlsx_upload(rows)}
    )
    worker_run_once()
    page = logged_in.get(response.url)
    assert "31/12/2025" in page.text
    assert "2025-12-31" not in page.text
    job = ImportJob.objects.for_workspace(officina).get()
    assert job.sample[0][1] == "31/12/2025"


@pytest.mark.django_db
def test_a_bad_import_filter_is_ignored(logged_in, officina, giulia):
    contact_create(workspace=officina, actor=giulia, data=dict(email="mario.rossi@example.it"))
    for value in ("abc", "²", "9" * 30, "-1", ""):
        page = logged_in.get("/contacts/", {"import": value})
        assert page.status_code == 200
        assert "mario.rossi@example.it" in page.text and "data-import-filter" not in page.text
    other = logged_in.get("/contacts/", {"import": "12345"})  # no such job: nobody
    assert other.status_code == 200 and "mario.rossi@example.it" not in other.text


@pytest.mark.django_db
def test_the_import_filter_never_shows_another_workspaces_contacts(
    logged_in, officina, ferramenta, write_csv
):
    path = write_csv("Email;Nome\nbruno@ferramenta.example.it;Bruno\n", name="bianchi.csv")
    import_file(workspace=ferramenta, actor=None, kind="contacts", path=path, job_id=777)
    assert Event.objects.for_workspace(ferramenta).filter(type=EventType.IMPORTED).count() == 1
    page = logged_in.get("/contacts/", {"import": "777"})
    assert page.status_code == 200 and "bruno@ferramenta.example.it" not in page.text


@pytest.mark.parametrize(
    ("code", "language", "shown"),
    [
        ("DD/MM/YYYY", "it", "31/12/2025"),
        ("dd/mm/yy", "it", "31/12/25"),
        ("d-mmm-yy", "it", "31-dic-25"),
        ("d mmmm yyyy", "en", "31 December 2025"),
        ("yyyy-mm-dd h:mm:ss", "it", "2025-12-31 14:05:09"),
        ("[$-410]dd/mm/yyyy;@", "it", "31/12/2025"),
        ("h:mm AM/PM", "en", "2:05 PM"),
        ("dd\\.mm\\.yyyy", "it", "31.12.2025"),
        ("short-date", "it", "31/12/2025"),  # Excel's built-in 14: the locale's short date
        ("short-date", "en", "12/31/2025"),
    ],
)
def test_an_excel_date_reads_as_its_number_format_shows_it(code, language, shown):
    from volano.imports.xlsx import date_as_shown

    with translation.override(language):
        assert date_as_shown(dt.datetime(2025, 12, 31, 14, 5, 9), code) == shown


@pytest.mark.django_db
def test_the_import_still_reads_excel_dates_as_iso(officina, write_xlsx):
    """Only the preview shows the date as written; the import itself parses the ISO date."""
    from volano.imports.reading import open_table

    path = write_xlsx([["E-mail", "Data"], ["a@example.it", dt.datetime(2025, 12, 31)]])
    table = open_table(path)
    try:
        assert [cells for _line, cells in table.rows] == [["a@example.it", "2025-12-31"]]
    finally:
        table.close()
