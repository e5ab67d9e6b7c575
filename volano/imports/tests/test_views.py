"""The import wizard through HTTP: upload, mapping, dry run, import, report, errors CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.core import services as core_services
from volano.core.models import Role
from volano.imports.models import ImportJob

from .conftest import ITALIAN_XLSX_ROWS


def xlsx_upload(rows, name="contatti.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.fixture
def logged_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.mark.django_db(transaction=True)
def test_the_whole_wizard(logged_in, officina):
    """Committed for real: the task is enqueued on commit and the worker runs it."""
    page = logged_in.get(reverse("imports:list"))
    assert page.status_code == 200 and "Import a file" in page.text
    response = logged_in.post(
        reverse("imports:upload"), {"kind": "contacts", "file": xlsx_upload(ITALIAN_XLSX_ROWS)}
    )
    job = ImportJob.objects.for_workspace(officina).get()
    assert response.status_code == 302 and response.url == reverse("imports:mapping", args=[job.pk])
    mapping = logged_in.get(response.url)
    assert mapping.status_code == 200
    assert "mario.rossi@example.it" in mapping.text  # the preview
    assert '<option value="email" selected>' in mapping.text  # E-mail suggested as email
    form = {f"column-{i}": job.mapping[h] for i, h in enumerate(ITALIAN_XLSX_ROWS[0])}
    form["column-6"] = ""  # ignore "Data iscrizione"
    response = logged_in.post(reverse("imports:mapping", args=[job.pk]), form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "queued" and job.dry_run
    running = logged_in.get(reverse("imports:detail", args=[job.pk]))
    assert "hx-trigger" in running.text and "<progress" in running.text
    worker_run_once()
    dry = logged_in.get(reverse("imports:detail", args=[job.pk]))
    assert "Dry run: nothing was saved." in dry.text
    assert 'data-count="created">2</span>' in dry.text
    assert "luca.bianchi@" in dry.text
    assert not Contact.objects.for_workspace(officina).exists()
    logged_in.post(reverse("imports:run", args=[job.pk]))
    worker_run_once()
    done = logged_in.get(reverse("imports:detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert "Import finished." in done.text and "hx-trigger" not in done.text
    assert 'data-count="errors">1</span>' in done.text
    assert Contact.objects.for_workspace(officina).count() == 2
    errors = logged_in.get(reverse("imports:errors_csv", args=[job.pk]))
    assert errors["Content-Type"].startswith("text/csv")
    lines = errors.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,message"
    assert lines[1].startswith("3,E-mail,luca.bianchi@,not an email address")
    assert logged_in.post(reverse("imports:run", args=[job.pk])).status_code == 302
    listing = logged_in.get(reverse("imports:list"))
    assert "contatti.xlsx" in listing.text


def test_an_unusable_upload_says_why(logged_in, officina):
    response = logged_in.post(
        reverse("imports:upload"),
        {"kind": "contacts", "file": SimpleUploadedFile("photo.csv", b"\x89PNG\x00\x00binary")},
    )
    assert response.status_code == 400
    assert "binary" in response.text
    assert not ImportJob.objects.for_workspace(officina).exists()


def test_a_bad_mapping_is_shown_on_the_mapping_page(logged_in, officina):
    logged_in.post(
        reverse("imports:upload"),
        {"kind": "contacts", "file": SimpleUploadedFile("a.csv", b"Email;Nome\na@b.it;A\n")},
    )
    job = ImportJob.objects.for_workspace(officina).get()
    response = logged_in.post(
        reverse("imports:mapping", args=[job.pk]), {"column-0": "", "column-1": "first_name"}
    )
    assert response.status_code == 400
    assert "no column is mapped to a column with the email address" in response.text


def test_viewers_cannot_import(client, officina):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("imports:list")).status_code == 200
    response = client.post(
        reverse("imports:upload"),
        {"kind": "contacts", "file": SimpleUploadedFile("a.csv", b"Email\na@b.it\n")},
    )
    assert response.status_code == 403


def test_login_is_required(client):
    response = client.get(reverse("imports:list"))
    assert response.status_code == 302


def test_another_workspace_cannot_see_an_import(client, logged_in, officina, bruno):
    logged_in.post(
        reverse("imports:upload"),
        {"kind": "contacts", "file": SimpleUploadedFile("a.csv", b"Email\na@b.it\n")},
    )
    job = ImportJob.objects.for_workspace(officina).get()
    client.force_login(bruno)
    for name in ("detail", "mapping", "errors_csv"):
        assert client.get(reverse(f"imports:{name}", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:run", args=[job.pk])).status_code == 404
    assert "a.csv" not in client.get(reverse("imports:list")).text


@pytest.mark.django_db
def test_the_errors_csv_writes_formulas_as_text(logged_in, officina):
    job = ImportJob.objects.create(
        workspace=officina,
        kind="contacts",
        filename="trappola.csv",
        path="trappola.csv",
        errors=[
            {"row": 2, "column": "=cmd", "value": "\t=HYPERLINK(1)", "message": "m"},
            {"row": 3, "column": "Email", "value": "\r@SUM(1)", "message": "m"},
            {"row": 4, "column": "Email", "value": "-1+2", "message": "m"},
        ],
    )
    response = logged_in.get(reverse("imports:errors_csv", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == [
        ["2", "'=cmd", "'\t=HYPERLINK(1)", "m"],
        ["3", "Email", "'\r@SUM(1)", "m"],
        ["4", "Email", "'-1+2", "m"],
    ]
