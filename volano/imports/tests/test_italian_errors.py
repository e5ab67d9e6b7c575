"""An Italian workspace's import explains its bad rows in Italian, in the report and in the
errors CSV (separated by `;` for an Italian user, so Excel opens it in columns)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.core.tests.catalog import install_italian
from volano.imports.models import ImportJob
from volano.imports.services import import_job_create, import_job_enqueue

pytestmark = pytest.mark.django_db(transaction=True)

ITALIAN = {
    "not an email address (%(reason)s)": "non è un indirizzo email (%(reason)s)",
    "there is nothing after the @": "dopo la @ non c'è nulla",
    "not a phone number": "non è un numero di telefono",
    "a CAP has 5 digits": "un CAP ha 5 cifre",
    (
        "this row has %(cells)d cell but the header has %(width)d columns: check separators"
        " and quotes in this row",
        "this row has %(cells)d cells but the header has %(width)d columns: check separators"
        " and quotes in this row",
    ): (
        "questa riga ha %(cells)d cella ma l'intestazione ha %(width)d colonne: controlla"
        " separatori e virgolette in questa riga",
        "questa riga ha %(cells)d celle ma l'intestazione ha %(width)d colonne: controlla"
        " separatori e virgolette in questa riga",
    ),
}

FILE = (
    "Email,Telefono,CAP\n"
    "mario.rossi@example.it,3331234567,20121\n"
    "luca.bianchi@,3331234567,20121\n"
    "anna.verdi@example.it,telefono,20121\n"
    "sara.neri@example.it,3331234567,2012a\n"
    "solo-una-cella@example.it\n"
)


def _import(workspace, path) -> ImportJob:
    job = import_job_create(
        workspace=workspace, actor=None, kind="contacts", filename=path.name, path=path
    )
    worker_run_once()  # the worker reads the header
    job.refresh_from_db()
    import_job_enqueue(workspace=workspace, actor=None, job=job, dry_run=False)
    worker_run_once()
    job.refresh_from_db()
    return job


def test_row_errors_are_written_in_the_workspace_language(
    settings, tmp_path, client, officina, giulia
):
    install_italian(settings, tmp_path / "locale", ITALIAN)
    officina.language = "it"
    officina.save()
    path = tmp_path / "contatti_fiera.csv"
    path.write_text(FILE, encoding="utf-8")

    job = _import(officina, path)  # the worker runs with no language of its own (English)

    assert Contact.objects.for_workspace(officina).count() == 1  # the good row is kept
    messages = {e["row"]: (e["column"], e["message"]) for e in job.errors}
    assert messages == {
        3: ("Email", "non è un indirizzo email (dopo la @ non c'è nulla)"),
        4: ("Telefono", "non è un numero di telefono"),
        5: ("CAP", "un CAP ha 5 cifre"),
        6: (
            "",
            "questa riga ha 1 cella ma l'intestazione ha 3 colonne: controlla separatori e"
            " virgolette in questa riga",
        ),
    }

    giulia.language = "it"
    giulia.save()
    client.force_login(giulia)
    report = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "non è un numero di telefono" in report

    response = client.get(reverse("imports:errors_csv", args=[job.pk]))
    assert response.content.startswith("\ufeff".encode())  # a BOM: Excel reads UTF-8
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "riga;colonna;valore;messaggio"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1] == ["3", "Email", "luca.bianchi@", messages[3][1]]
    assert rows[2] == ["4", "Telefono", "telefono", "non è un numero di telefono"]


def test_an_english_user_gets_a_comma_separated_errors_csv(tmp_path, client, officina, giulia):
    officina.language = "en"
    officina.save()
    path = tmp_path / "contacts.csv"
    path.write_text(FILE, encoding="utf-8")
    job = _import(officina, path)

    giulia.language = "en"
    giulia.save()
    client.force_login(giulia)
    text = client.get(reverse("imports:errors_csv", args=[job.pk])).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["row", "column", "value", "message"]
    assert rows[1] == [
        "3",
        "Email",
        "luca.bianchi@",
        "not an email address (there is nothing after the @)",
    ]
    assert rows[4][3].startswith("this row has 1 cell but the header has 3 columns")
