"""Import jobs run by the real worker: bad cells are row errors, what a job wrote is what it says,
and a job whose worker died is found within a minute and resumes without duplicating anything."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from volano.conftest import other_sessions_ended, worker_run_once
from volano.contacts.models import Company, Contact, CustomField, Entity, FieldType
from volano.imports.models import ImportJob, ImportStatus
from volano.imports.services import (
    DEAD_AFTER,
    MAX_ATTEMPTS,
    contacts,
    import_file,
    import_job_create,
    import_job_enqueue,
    import_job_run,
    import_jobs_dead_sweep,
)
from volano.jobs.sweeper import Sweeper
from volano.orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

CATCH_UP = {
    "volano.segments.tasks.segments_refresh_all_task",
    "volano.scoring.tasks.scores_recompute_task",
}


def _run(workspace, path, *, kind="contacts", dry_run=False, mapping=None) -> ImportJob:
    job = import_job_create(
        workspace=workspace, actor=None, kind=kind, filename=path.name, path=path
    )
    worker_run_once()  # the worker reads the header (the job waits in "reading" until then)
    job.refresh_from_db()
    if mapping:
        job.mapping = {**job.mapping, **mapping}
        job.save(update_fields=["mapping"])
    import_job_enqueue(workspace=workspace, actor=None, job=job, dry_run=dry_run)
    worker_run_once()
    job.refresh_from_db()
    return job


def _catch_up_enqueued() -> set[str]:
    return set(DBTaskResult.objects.values_list("task_path", flat=True)) & CATCH_UP


def test_cells_no_database_would_store_are_row_errors_and_the_rows_around_them_are_imported(
    officina, write_csv
):
    CustomField.objects.create(
        workspace=officina,
        entity=Entity.CONTACT,
        key="fatturato",
        label="Fatturato",
        type=FieldType.MONEY,  # 1e30 made the whole import fail with InvalidOperation
    )
    # The reader refuses a NUL in the first megabyte as a binary file: the bad rows come later.
    padding = "".join(f"p{n}@example.it;P;;;{'x' * 10_000}\n" for n in range(110))
    path = write_csv(
        "email;nome;partita iva;fatturato;note\n"
        + padding
        + "anna@example.it;Anna;;10;\n"
        + "nul@example.it;Mar\x00co;;;\n"
        + "big@example.it;Bea;;1e30;\n"
        + "luca@example.it;Luca;;20;\n"
    )
    job = _run(officina, path, mapping={"note": ""})
    assert job.status == ImportStatus.DONE, job.failure
    assert (job.rows, job.created, job.error_count) == (114, 112, 2)
    problems = {(e["row"], e["column"]): e for e in job.errors}
    assert set(problems) == {(113, "nome"), (114, "fatturato")}
    assert "NUL" in problems[(113, "nome")]["message"]
    assert problems[(113, "nome")]["value"] == "Mar\\0co"  # shown, and storable as JSON
    assert "too large" in problems[(114, "fatturato")]["message"]
    emails = set(Contact.objects.for_workspace(officina).values_list("email", flat=True))
    assert {"anna@example.it", "luca@example.it"} <= emails
    assert not emails & {"nul@example.it", "big@example.it"}


def test_an_order_amount_its_column_cannot_hold_is_a_row_error(officina, write_csv):
    path = write_csv(
        "numero;data;email;prodotto;importo\n"
        "A-1;2026-01-10;anna@example.it;Cinghia;8\n"
        "A-2;2026-01-10;anna@example.it;Cinghia;1e20\n"
        "A-3;2026-01-10;anna@example.it;Cinghia;9\n"
    )
    job = _run(officina, path, kind="orders")
    assert job.status == ImportStatus.DONE, job.failure
    assert job.created == 2
    assert {(e["row"], e["column"], e["message"]) for e in job.errors} >= {
        (3, "importo", "this amount is too large")
    }
    numbers = set(Order.objects.for_workspace(officina).values_list("number", flat=True))
    assert numbers == {"A-1", "A-3"}


def _damaged_xlsx(write_xlsx, rows: int, *, keep: int):
    """An .xlsx whose sheet is cut off after `keep` data rows, as a half-copied file is."""
    path = write_xlsx(
        [["Email", "Nome"]] + [[f"cliente{n}@example.it", f"Cliente {n}"] for n in range(rows)]
    )
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    cut = sheet.index(f'<row r="{keep + 2}"'.encode())
    parts["xl/worksheets/sheet1.xml"] = sheet[:cut]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as damaged:
        for name, data in parts.items():
            damaged.writestr(name, data)
    return path


def test_a_job_that_dies_midway_says_how_far_it_got_and_catches_up(
    officina, write_xlsx, monkeypatch, client, giulia
):
    monkeypatch.setattr(contacts, "CHUNK", 10)
    path = _damaged_xlsx(write_xlsx, 50, keep=35)
    job = _run(officina, path)
    assert job.status == ImportStatus.FAILED
    # Three chunks of ten were committed; the fourth, cut short by the damage, was not read whole.
    assert Contact.objects.for_workspace(officina).count() == 30
    assert (job.processed, job.created, job.updated, job.unchanged) == (30, 30, 0, 0)
    assert "damaged" in job.failure and "30 rows were read and saved: 30 created" in job.failure
    assert _catch_up_enqueued() == CATCH_UP  # segments and scores see the 30 contacts
    client.force_login(giulia)
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert 'data-count="created">30</span>' in page.text


def test_each_chunk_checkpoint_commits_with_the_rows_it_counts(officina, write_csv, monkeypatch):
    monkeypatch.setattr(contacts, "CHUNK", 2)
    rows = "".join(f"c{n}@example.it;C{n}\n" for n in range(5)) + "rotta;R\n"
    points = []

    def checkpoint(point, total):
        # Inside the chunk's transaction: its contacts are there, the next chunk's are not.
        points.append((point, Contact.objects.for_workspace(officina).count()))

    import_file(
        workspace=officina,
        actor=None,
        kind="contacts",
        path=write_csv("email;nome\n" + rows),
        checkpoint=checkpoint,
    )
    assert [(p.chunks, p.rows, p.created, p.error_count, count) for p, count in points] == [
        (1, 2, 2, 0, 2),
        (2, 4, 4, 0, 4),
        (3, 6, 5, 1, 5),
    ]


def test_a_running_job_shows_the_rows_saved(officina, write_csv, client, giulia):
    job = import_job_create(
        workspace=officina,
        actor=None,
        kind="contacts",
        filename="c.csv",
        path=write_csv("email;nome\na@example.it;A\n"),
    )
    ImportJob.objects.for_workspace(officina).filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, processed=20_000, total=60_000
    )
    client.force_login(giulia)
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert "20,000 of about 60,000 rows saved" in page.text
    assert 'value="33"' in page.text


def _dead_job(workspace, path, *, chunks_done, processed, created, attempts=1, kind="contacts"):
    """A job whose worker was killed after committing `chunks_done` chunks."""
    job = import_job_create(workspace=workspace, actor=None, kind=kind, filename="c.csv", path=path)
    ImportJob.objects.for_workspace(workspace).filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - DEAD_AFTER - dt.timedelta(seconds=1),
        chunks_done=chunks_done,
        processed=processed,
        created=created,
    )
    return job


def test_a_dead_job_is_requeued_by_the_sweeper_and_resumes_without_duplicates(
    officina, write_csv, monkeypatch
):
    monkeypatch.setattr(contacts, "CHUNK", 2)
    rows = [f"c{n}@example.it;C{n}" for n in range(5)]
    path = write_csv("email;nome\n" + "\n".join(rows) + "\n")
    # What the killed worker had committed: the first chunk's two contacts and its checkpoint.
    first = write_csv("email;nome\n" + "\n".join(rows[:2]) + "\n", name="first.csv")
    import_file(workspace=officina, actor=None, kind="contacts", path=first)
    job = _dead_job(officina, path, chunks_done=1, processed=2, created=2)
    assert Sweeper().sweep()["imports"] == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    worker_run_once()
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.failure
    assert (job.rows, job.created, job.updated, job.unchanged) == (5, 5, 0, 0)
    assert job.attempts == 2
    emails = list(Contact.objects.for_workspace(officina).values_list("email", flat=True))
    assert sorted(emails) == sorted(r.split(";")[0] for r in rows)


def test_a_dead_company_or_order_import_resumes_without_duplicates(
    officina, write_csv, monkeypatch
):
    from volano.imports.services import companies, orders

    monkeypatch.setattr(companies, "CHUNK", 2)
    monkeypatch.setattr(orders, "CHUNK", 2)
    names = [f"Azienda {n}" for n in range(5)]
    path = write_csv("ragione sociale\n" + "".join(f"{n}\n" for n in names))
    first = write_csv("ragione sociale\n" + "".join(f"{n}\n" for n in names[:2]), name="a.csv")
    import_file(workspace=officina, actor=None, kind="companies", path=first)
    job = _dead_job(officina, path, kind="companies", chunks_done=1, processed=2, created=2)
    import_jobs_dead_sweep(now=timezone.now())
    worker_run_once()
    job.refresh_from_db()
    assert (job.status, job.rows, job.created, job.unchanged) == (ImportStatus.DONE, 5, 5, 0)
    assert Company.objects.for_workspace(officina).count() == 5

    lines = [f"A-{n};2026-01-10;c{n}@example.it;Cinghia;8\n" for n in range(5)]
    header = "numero;data;email;prodotto;importo\n"
    path = write_csv(header + "".join(lines), name="ordini.csv")
    import_file(
        workspace=officina,
        actor=None,
        kind="orders",
        path=write_csv(header + "".join(lines[:2]), name="o.csv"),
    )
    job = _dead_job(officina, path, kind="orders", chunks_done=1, processed=2, created=2)
    import_jobs_dead_sweep(now=timezone.now())
    worker_run_once()
    job.refresh_from_db()
    assert (job.status, job.rows, job.created, job.unchanged) == (ImportStatus.DONE, 5, 5, 0)
    assert Order.objects.for_workspace(officina).count() == 5


def test_a_job_that_lost_its_worker_too_often_fails_saying_how_far_it_got(officina, write_csv):
    path = write_csv("email;nome\na@example.it;A\n")
    job = _dead_job(
        officina, path, chunks_done=4, processed=200, created=150, attempts=MAX_ATTEMPTS
    )
    assert import_jobs_dead_sweep(now=timezone.now()) == []
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "stopped 3 times" in job.failure
    assert "200 rows were read and saved: 150 created" in job.failure


def test_a_run_given_up_for_dead_stops_and_writes_nothing(officina, write_csv):
    path = write_csv("email;nome\na@example.it;A\n")
    job = _dead_job(officina, path, chunks_done=0, processed=0, created=0)
    import_jobs_dead_sweep(now=timezone.now())
    stale = ImportJob.objects.for_workspace(officina).get(pk=job.pk)
    # Another worker claims the job (attempt 2) while the old run (attempt 1) still goes on.
    ImportJob.objects.for_workspace(officina).filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, attempts=2
    )
    stale.attempts = 1
    import_job_run(job=stale)
    assert not Contact.objects.for_workspace(officina).exists()
    assert ImportJob.objects.for_workspace(officina).get(pk=job.pk).status == ImportStatus.RUNNING


@pytest.mark.postgres
def test_kill_9_of_a_real_worker_mid_import_then_the_sweeper_resumes_it(
    officina, write_csv, tmp_path
):
    """`volano worker` as a child process, killed with SIGKILL once it has committed a chunk:
    the job still says what was written, the sweeper finds it dead, and the resumed run ends
    with every contact once and the counts of the whole file."""
    if connection.vendor != "postgresql":
        pytest.skip("the child worker needs a database it can share: PostgreSQL")
    rows = 250_000  # five chunks: the worker is killed long before the last
    path = write_csv("email;nome\n" + "".join(f"c{n}@example.it;C{n}\n" for n in range(rows)))
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "VOLANO_DATA_DIR": str(tmp_path / "worker")}
    job = import_job_create(
        workspace=officina, actor=None, kind="contacts", filename="c.csv", path=path
    )
    worker_run_once()  # the worker reads the header (the job waits in "reading" until then)
    job.refresh_from_db()
    import_job_enqueue(workspace=officina, actor=None, job=job, dry_run=False)
    worker = subprocess.Popen(
        [sys.executable, "-m", "volano", "worker", "--queue", "bulk"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300  # a wait for the child, not a measurement
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.chunks_done >= 1 or job.status in {ImportStatus.DONE, ImportStatus.FAILED}:
                break
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(30)
    # The process is gone, but PostgreSQL may still be finishing the COMMIT it had sent (a chunk
    # and its heartbeat landing after this test read them): wait for its connections to close,
    # as the real sweeper, a minute later, would find them closed.
    other_sessions_ended(deadline + 60)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING and 1 <= job.chunks_done < 5, job.status
    written = Contact.objects.for_workspace(officina).count()
    assert job.processed == job.created == written == 50_000 * job.chunks_done
    assert job.percent == 20 * job.chunks_done  # rows written, not rows read

    assert import_jobs_dead_sweep(now=timezone.now()) == []  # its heartbeat is recent
    assert import_jobs_dead_sweep(now=timezone.now() + DEAD_AFTER * 2) == [job.pk]
    worker_run_once()
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.failure
    assert (job.rows, job.created, job.updated, job.unchanged) == (rows, rows, 0, 0)
    assert Contact.objects.for_workspace(officina).count() == rows
