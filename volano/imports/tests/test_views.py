"""The import wizard through HTTP: upload, mapping, dry run, import, report, errors CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

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
    reading = logged_in.get(response.url)  # the worker has not read the file yet
    assert job.status == "reading" and 'hx-trigger="every 1s"' in reading.text
    assert "mario.rossi@example.it" not in reading.text
    worker_run_once()
    poll = logged_in.get(
        response.url, headers={"HX-Request": "true", "HX-Target": "import-reading"}
    )
    assert poll["HX-Refresh"] == "true"
    job.refresh_from_db()
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
    assert "Dry run: nothing was imported." in dry.text
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


def _upload_and_read(client, file, kind="contacts"):
    """Upload (committed for real), then let the worker read the file."""
    response = client.post(reverse("imports:upload"), {"kind": kind, "file": file})
    worker_run_once()
    return response


@pytest.mark.django_db(transaction=True)
def test_a_bad_mapping_is_shown_on_the_mapping_page(logged_in, officina):
    _upload_and_read(logged_in, SimpleUploadedFile("a.csv", b"Email;Nome\na@b.it;A\n"))
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


# --- issue 10: the web process never parses an upload, and never holds one in memory ----------


@pytest.mark.django_db(transaction=True)
def test_a_hostile_workbook_is_refused_by_the_worker_not_the_web_request(
    logged_in, officina, tmp_path
):
    from . import hostile_files as hostile

    path = hostile.huge_header_cell(tmp_path / "cella.xlsx", 2_000_000)
    with path.open("rb") as handle:
        response = logged_in.post(
            reverse("imports:upload"),
            {"kind": "contacts", "file": SimpleUploadedFile("cella.xlsx", handle.read())},
        )
    job = ImportJob.objects.for_workspace(officina).get()
    assert response.status_code == 302 and job.status == "reading"  # nothing parsed yet
    worker_run_once()
    job.refresh_from_db()
    assert job.status == "failed" and "VOLANO_IMPORT_MAX_CELL_CHARS" in job.failure
    page = logged_in.get(reverse("imports:mapping", args=[job.pk]))
    assert "The file could not be read:" in page.text and "32,767" in page.text
    assert len(page.content) < 50_000
    assert not Path(job.path).exists()


def test_an_upload_over_the_limit_is_refused_from_its_content_length(logged_in, officina, settings):
    settings.VOLANO_IMPORT_MAX_BYTES = 1_000_000
    big = SimpleUploadedFile("grande.csv", b"Email\n" + b"a@example.it\n" * 200_000)
    response = logged_in.post(reverse("imports:upload"), {"kind": "contacts", "file": big})
    assert response.status_code == 413
    assert "the file is too big" in response.text and "VOLANO_IMPORT_MAX_BYTES" in response.text
    assert not ImportJob.objects.for_workspace(officina).exists()


def test_the_upload_still_checks_the_csrf_token(giulia, officina):
    """The view is csrf_exempt only so that its upload handler is set before the body is read;
    it checks the token itself right after."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(giulia)
    file = SimpleUploadedFile("a.csv", b"Email\na@b.it\n")
    response = client.post(reverse("imports:upload"), {"kind": "contacts", "file": file})
    assert response.status_code == 403
    assert not ImportJob.objects.for_workspace(officina).exists()


def test_the_upload_streams_to_a_temporary_file_and_stops_past_the_limit(
    rf, giulia, officina, settings
):
    """Content-Length can be absent or lie: the handler counts what arrives and stops."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.uploadedfile import TemporaryUploadedFile
    from django.test.client import encode_multipart

    from volano.imports import views

    settings.VOLANO_IMPORT_MAX_BYTES = 1_000_000

    def post(size):
        body = encode_multipart(
            "BOUNDARY",
            {"kind": "contacts", "file": SimpleUploadedFile("f.csv", b"Email\n" + b"x" * size)},
        )
        request = rf.post(
            reverse("imports:upload"), body, content_type="multipart/form-data; boundary=BOUNDARY"
        )
        request.META["CONTENT_LENGTH"] = "10"  # a client that lies
        request._dont_enforce_csrf_checks = True
        request.user, request.workspace, request.session = giulia, officina, SessionStore()
        request.membership = officina.memberships.get(user=giulia)
        request.htmx = False
        return request, views.import_upload(request)

    request, response = post(2_000_000)
    assert response.status_code == 413 and b"VOLANO_IMPORT_MAX_BYTES" in response.content
    [handler] = request.upload_handlers
    assert isinstance(handler, views.ImportUploadHandler) and handler.too_big
    assert handler.received <= 1_000_000 + 2 * 1024 * 1024  # stopped at the first chunk past

    request, response = post(200_000)
    assert response.status_code == 302
    assert isinstance(request.FILES["file"], TemporaryUploadedFile)  # on disk, not in memory


@pytest.mark.django_db(transaction=True)
def test_a_file_wider_than_a_post_allows_is_mapped_through_one_field(logged_in, officina):
    """1,500 columns: more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) selects could post."""
    headers = ["Email"] + [f"Colonna {n}" for n in range(1, 1500)]
    content = ";".join(headers) + "\n" + ";".join(["a@example.it"] + ["x"] * 1499) + "\n"
    _upload_and_read(logged_in, SimpleUploadedFile("largo.csv", content.encode()))
    job = ImportJob.objects.for_workspace(officina).get()
    page = logged_in.get(reverse("imports:mapping", args=[job.pk]))
    assert page.text.count("<select") == 1500 and "imports/mapping.js" in page.text
    assert "needs JavaScript" in page.text
    mapping = json.dumps({"0": "email", "1499": "first_name"})
    response = logged_in.post(reverse("imports:mapping", args=[job.pk]), {"mapping": mapping})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.mapping["Email"] == "email" and job.mapping["Colonna 1499"] == "first_name"
    assert sum(1 for target in job.mapping.values() if target) == 2


@pytest.mark.django_db(transaction=True)
def test_a_damaged_packed_mapping_is_refused_with_a_message(logged_in, officina):
    _upload_and_read(logged_in, SimpleUploadedFile("a.csv", b"Email;Nome\na@b.it;A\n"))
    job = ImportJob.objects.for_workspace(officina).get()
    for packed in ('{"9999": "email"}', "[1, 2]", "not json"):
        response = logged_in.post(reverse("imports:mapping", args=[job.pk]), {"mapping": packed})
        assert response.status_code == 400 and "damaged" in response.text


@pytest.mark.django_db(transaction=True)
def test_a_read_lost_with_its_worker_is_queued_again_by_the_waiting_page(logged_in, officina):
    import datetime as dt

    from django.core.cache import cache
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    cache.clear()
    logged_in.post(
        reverse("imports:upload"),
        {"kind": "contacts", "file": SimpleUploadedFile("a.csv", b"Email\na@b.it\n")},
    )
    DBTaskResult.objects.all().delete()  # the worker that held the read was killed
    job = ImportJob.objects.for_workspace(officina).get()
    url = reverse("imports:mapping", args=[job.pk])
    poll = {"HX-Request": "true", "HX-Target": "import-reading"}
    logged_in.get(url, headers=poll)  # too early to tell a slow read from a lost one
    assert not DBTaskResult.objects.exists()
    ImportJob.objects.for_workspace(officina).filter(pk=job.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=3)
    )
    logged_in.get(url, headers=poll)
    logged_in.get(url, headers=poll)
    assert DBTaskResult.objects.count() == 1
    worker_run_once()
    job.refresh_from_db()
    assert job.status == "uploaded" and job.headers == ["Email"]
