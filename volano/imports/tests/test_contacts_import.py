"""Importing contacts: what a marketer sees after importing an Italian spreadsheet."""

from __future__ import annotations

import pytest

from volano.contacts.models import Company, Consent, Contact
from volano.contacts.services import consent_set, contact_create, custom_field_create
from volano.events.models import Event
from volano.imports.services import import_file

from .conftest import ITALIAN_XLSX_ROWS


def contacts(workspace):
    return {c.email: c for c in Contact.objects.for_workspace(workspace)}


def test_italian_excel_file_imports_good_rows_and_reports_the_bad_one(officina, write_xlsx):
    custom_field_create(
        workspace=officina, key="data_iscrizione", label="Data iscrizione", type="date"
    )
    path = write_xlsx(ITALIAN_XLSX_ROWS)
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 2, 0, 0)
    assert report.errors == [
        {
            "row": 3,
            "column": "E-mail",
            "value": "luca.bianchi@",
            "message": report.errors[0]["message"],
        }
    ]
    assert report.errors[0]["message"].startswith("not an email address")
    saved = contacts(officina)
    mario = saved["mario.rossi@example.it"]
    assert (mario.first_name, mario.phone, mario.postal_code, mario.province, mario.region) == (
        "Mario",
        "+393331234567",
        "20121",
        "MI",
        "Lombardia",
    )
    assert mario.custom == {"data_iscrizione": "2025-12-31"}
    assert mario.source == "import"
    anna = saved["anna.verdi@example.it"]
    assert (anna.postal_code, anna.province, anna.phone) == ("00184", "RM", "+39021234567")


def test_the_comune_comes_from_the_cap_when_the_file_has_a_province_but_no_city(
    officina, write_csv
):
    """As contact_create does for the API: before, a Provincia column stopped the lookup and
    the contact page showed a CAP with no comune."""
    path = write_csv(
        "Email;CAP;Provincia;Comune\n"
        "a@example.it;20121;MI;\n"
        "b@example.it;40121;;\n"
        "c@example.it;00184;MI;\n"  # the CAP is Rome's: a province that disagrees is kept as is
        "d@example.it;20121;MI;Sesto\n",
    )
    import_file(workspace=officina, actor=None, kind="contacts", path=path)
    saved = contacts(officina)
    assert (saved["a@example.it"].city, saved["a@example.it"].region) == ("Milano", "Lombardia")
    assert (saved["b@example.it"].city, saved["b@example.it"].province) == ("Bologna", "BO")
    assert (saved["c@example.it"].city, saved["c@example.it"].province) == ("", "MI")
    assert saved["d@example.it"].city == "Sesto"
    api = contact_create(
        workspace=officina,
        actor=None,
        data={"email": "e@example.it", "postal_code": "20121", "province": "MI"},
    )
    assert api.city == "Milano"


def test_italian_dates_and_decimals_in_a_semicolon_csv(officina, write_csv):
    custom_field_create(workspace=officina, key="fatturato", label="Fatturato", type="money")
    custom_field_create(workspace=officina, key="cliente_dal", label="Cliente dal", type="date")
    path = write_csv(
        "Email;Fatturato;Cliente dal\n"
        "a@example.it;1.234,56;31/12/2025\n"
        "b@example.it;12,5;01/02/2024\n"
        "c@example.it;tanti;32/13/2024\n",
        encoding="cp1252",
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    saved = contacts(officina)
    assert saved["a@example.it"].custom == {"fatturato": 1234.56, "cliente_dal": "2025-12-31"}
    assert saved["b@example.it"].custom == {"fatturato": 12.5, "cliente_dal": "2024-02-01"}
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (4, "Fatturato"),
        (4, "Cliente dal"),
    ]
    assert "c@example.it" not in saved


def test_empty_and_ragged_rows(officina, write_csv):
    path = write_csv(
        "Email,Nome,Cognome\n"
        "a@example.it,Anna,Verdi\n"
        ",,\n"
        "\n"
        "b@example.it,Bruno,Neri,extra,cells\n"
        "c@example.it,Carla\n"
        "d@example.it,Dario,Blu,\n"
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert sorted(contacts(officina)) == ["a@example.it", "d@example.it"]
    assert [e["row"] for e in report.errors] == [5, 6]
    assert "5 cells but the header has 3" in report.errors[0]["message"]
    assert report.rows == 4  # the empty rows are not counted


def test_duplicates_inside_one_file_are_combined_and_reported(officina, write_csv):
    path = write_csv(
        "Email;Nome;Telefono;Tag\n"
        "Mario.Rossi@Example.it ;Mario;;fiera\n"
        "mario.rossi@example.it;;333 1234567;webinar\n"
        "anna@example.it;Anna;;\n"
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    mario = contacts(officina)["mario.rossi@example.it"]
    assert (mario.first_name, mario.phone, mario.tags) == (
        "Mario",
        "+393331234567",
        ["fiera", "webinar"],
    )
    assert (report.rows, report.created) == (3, 2)
    assert report.warnings == [
        {
            "row": 3,
            "column": "Email",
            "value": "mario.rossi@example.it",
            "message": "same email as row 2: the rows were combined (later values win)",
        }
    ]


def test_reimport_counts_created_updated_unchanged_and_keeps_unmapped_values(officina, write_csv):
    existing = contact_create(
        workspace=officina,
        actor=None,
        data={"email": "mario@example.it", "first_name": "Mario", "job_title": "Titolare"},
    )
    first = write_csv("Email;Nome;Cognome\nmario@example.it;Mario;Rossi\nanna@example.it;Anna;\n")
    report = import_file(workspace=officina, actor=None, kind="contacts", path=first)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    existing.refresh_from_db()
    assert (existing.last_name, existing.job_title) == ("Rossi", "Titolare")
    again = import_file(workspace=officina, actor=None, kind="contacts", path=first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    blank = write_csv("Email;Nome;Cognome\nmario@example.it;;\n", name="blank.csv")
    third = import_file(workspace=officina, actor=None, kind="contacts", path=blank)
    assert (third.created, third.updated, third.unchanged) == (0, 0, 1)
    existing.refresh_from_db()
    assert existing.last_name == "Rossi"  # an empty cell never wipes a value


def test_dry_run_reports_the_same_and_writes_nothing(officina, write_csv):
    contact_create(workspace=officina, actor=None, data={"email": "mario@example.it"})
    path = write_csv(
        "Email;Nome;Azienda;Consenso newsletter\n"
        "mario@example.it;Mario;Rossi Srl;sì\n"
        "anna@example.it;Anna;Verdi SpA;no\n"
        "bad@;X;;\n"
    )
    dry = import_file(workspace=officina, actor=None, kind="contacts", path=path, dry_run=True)
    assert (dry.created, dry.updated, dry.unchanged, dry.error_count) == (1, 1, 0, 1)
    assert sorted(contacts(officina)) == ["mario@example.it"]
    assert contacts(officina)["mario@example.it"].first_name == ""
    assert not Company.objects.for_workspace(officina).exists()
    assert not Consent.objects.for_workspace(officina).exists()
    real = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert (real.created, real.updated, real.unchanged, real.errors) == (
        dry.created,
        dry.updated,
        dry.unchanged,
        dry.errors,
    )


def test_company_columns_link_or_create_the_company(officina, write_csv):
    path = write_csv(
        "Email;Azienda;Partita IVA\n"
        "a@example.it;Rossi Srl;\n"
        "b@example.it;rossi srl;\n"
        "c@example.it;Verdi SpA;00743110157\n"
        "d@example.it;;00743110157\n"
        "e@example.it;;12345678901\n"
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    saved = contacts(officina)
    assert saved["a@example.it"].company_id == saved["b@example.it"].company_id
    assert saved["c@example.it"].company_id == saved["d@example.it"].company_id
    assert Company.objects.for_workspace(officina).count() == 2
    assert report.errors[0]["row"] == 6 and "partita IVA" in report.errors[0]["message"]


def test_consent_columns_record_consent_with_source_import(officina, write_csv):
    unsubscribed = contact_create(workspace=officina, actor=None, data={"email": "gone@example.it"})
    consent_set(
        workspace=officina,
        actor=None,
        contact=unsubscribed,
        purpose="email_marketing",
        status="revoked",
        source="unsubscribe",
    )
    path = write_csv(
        "Email;Privacy marketing\n"
        "yes@example.it;Sì\n"
        "no@example.it;no\n"
        "gone@example.it;sì\n"
        "what@example.it;forse\n"
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    statuses = {
        (c.contact.email, c.status, c.source)
        for c in Consent.objects.for_workspace(officina).select_related("contact")
    }
    assert statuses == {
        ("yes@example.it", "granted", "import"),
        ("no@example.it", "denied", "import"),
        ("gone@example.it", "revoked", "unsubscribe"),
    }
    assert [e["row"] for e in report.errors] == [5]
    assert any(w["row"] == 4 and "unsubscribed" in w["message"] for w in report.warnings)
    yes = contacts(officina)["yes@example.it"]
    assert yes.events.filter(type="consent_changed").count() == 1


def test_rows_without_email_are_errors(officina, write_csv):
    path = write_csv("Email;Nome\n;Mario\n")
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert report.errors == [
        {"row": 2, "column": "Email", "value": "", "message": "an email address is required"}
    ]


def test_a_mapping_overrides_suggestions_and_lists_ignored_columns(officina, write_csv):
    path = write_csv("Indirizzo di posta;Nome;Note\nmario@example.it;Mario;cliente storico\n")
    report = import_file(
        workspace=officina,
        actor=None,
        kind="contacts",
        path=path,
        mapping={"Indirizzo di posta": "email", "Nome": "last_name"},
    )
    assert report.unmapped == ["Note"]
    assert contacts(officina)["mario@example.it"].last_name == "Mario"


def test_an_import_into_one_workspace_never_touches_another(officina, ferramenta, write_csv):
    theirs = contact_create(
        workspace=ferramenta,
        actor=None,
        data={"email": "mario@example.it", "first_name": "Bruno's"},
    )
    path = write_csv("Email;Nome;Azienda\nmario@example.it;Mario;Rossi Srl\n")
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert report.created == 1
    theirs.refresh_from_db()
    assert theirs.first_name == "Bruno's"
    assert Contact.objects.for_workspace(ferramenta).count() == 1
    assert not Company.objects.for_workspace(ferramenta).exists()
    mine = Contact.objects.for_workspace(officina).get()
    assert mine.pk != theirs.pk and mine.company.workspace_id == officina.pk
    assert not Event.objects.for_workspace(ferramenta).exists()


@pytest.mark.django_db(transaction=True)
def test_a_file_bigger_than_one_chunk_is_written_chunk_by_chunk(write_csv, monkeypatch):
    """Outside a transaction the writes run in a writer thread, chunk after chunk."""
    from volano.core.services import workspace_create
    from volano.imports.services import contacts as contacts_service

    monkeypatch.setattr(contacts_service, "CHUNK", 7)
    workspace = workspace_create(slug="chunky", name="Chunky")
    lines = [f"p{i}@example.it;Nome{i}" for i in range(30)] + ["p3@example.it;Ultimo", "x@;y"]
    path = write_csv("Email;Nome\n" + "\n".join(lines) + "\n")
    report = import_file(workspace=workspace, actor=None, kind="contacts", path=path)
    assert (report.rows, report.created, report.error_count) == (32, 30, 1)
    assert report.warnings[0]["row"] == 32
    assert contacts(workspace)["p3@example.it"].first_name == "Ultimo"


def test_a_contact_created_during_the_import_is_updated_not_duplicated(
    officina, write_csv, monkeypatch
):
    """The importer may read the workspace's emails once, at the start; a contact someone adds
    afterwards still takes the file's values, and is counted as updated."""
    from volano.imports.services.contacts import _ContactWriter

    contact_create(
        workspace=officina, actor=None, data={"email": "nuovo@example.it", "first_name": "Prima"}
    )

    def empty_at_start(self, *, up_to):
        self.known = set()

    monkeypatch.setattr(_ContactWriter, "remember_existing", empty_at_start)
    path = write_csv("Email;Nome\nnuovo@example.it;Dopo\naltro@example.it;Altro\n")
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    saved = contacts(officina)
    assert len(saved) == 2 and saved["nuovo@example.it"].first_name == "Dopo"


@pytest.mark.django_db(transaction=True)
def test_chunks_written_side_by_side_count_repeats_once(write_csv, monkeypatch):
    """Chunks are written by more than one connection at once: an email repeated in a later
    chunk updates the contact an earlier chunk created, and the counts stay exact."""
    from volano.core.services import workspace_create
    from volano.imports.services import contacts as contacts_service

    monkeypatch.setattr(contacts_service, "CHUNK", 5)
    workspace = workspace_create(slug="side-by-side", name="Side by side")
    contact_create(workspace=workspace, actor=None, data={"email": "p20@example.it"})
    lines = [f"p{i}@example.it;Nome{i}" for i in range(40)]
    lines += [f"p{i}@example.it;Ancora{i}" for i in range(0, 40, 3)]
    path = write_csv("Email;Nome\n" + "\n".join(lines) + "\n")
    report = import_file(workspace=workspace, actor=None, kind="contacts", path=path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (54, 39, 1, 0)
    saved = contacts(workspace)
    assert len(saved) == 40
    assert saved["p3@example.it"].first_name == "Ancora3"
    assert saved["p4@example.it"].first_name == "Nome4"
    assert saved["p21@example.it"].first_name == "Ancora21"


@pytest.mark.django_db(transaction=True)
def test_a_failing_chunk_stops_the_import_with_its_error(write_csv, monkeypatch):
    from volano.core.services import workspace_create
    from volano.imports.services import contacts as contacts_service

    monkeypatch.setattr(contacts_service, "CHUNK", 4)
    real_write = contacts_service._ContactWriter.write

    def write(self, *, batch, report, turn):
        if batch.number == 3:
            raise RuntimeError("the disk is full")
        real_write(self, batch=batch, report=report, turn=turn)

    monkeypatch.setattr(contacts_service._ContactWriter, "write", write)
    workspace = workspace_create(slug="failing", name="Failing")
    path = write_csv("Email\n" + "\n".join(f"f{i}@example.it" for i in range(30)) + "\n")
    with pytest.raises(RuntimeError, match="the disk is full"):
        import_file(workspace=workspace, actor=None, kind="contacts", path=path)
    assert len(contacts(workspace)) <= 8  # chunks 1 and 2 at most; nothing after the failure


def test_backslashes_tabs_line_breaks_and_accents_are_kept_as_typed(officina, write_csv):
    path = write_csv(
        'Email;Nome;Indirizzo;Tag\nanna@example.it;Anna\\Maria;"Via Roma 1\nScala\tB";caffè, tè\n'
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=path)
    assert (report.created, report.error_count) == (1, 0)
    anna = contacts(officina)["anna@example.it"]
    assert (anna.first_name, anna.street) == ("Anna\\Maria", "Via Roma 1\nScala\tB")
    assert sorted(anna.tags) == ["caffè", "tè"]


def test_segments_and_scores_catch_up_after_an_import_but_not_after_a_dry_run(
    officina, write_csv, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from volano.conftest import reactions_run_pending
    from volano.core.models import ReactionOutbox

    path = write_csv("email;nome\nanna@cliente.it;Anna\n")
    # (rows another test's worker process may have left behind are not this import's)
    tasks_before = set(DBTaskResult.objects.values_list("id", flat=True))
    facts_before = set(ReactionOutbox.objects.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        import_file(workspace=officina, actor=None, kind="contacts", path=path, dry_run=True)
    assert not DBTaskResult.objects.exclude(id__in=tasks_before).exists()
    with django_capture_on_commit_callbacks(execute=True):
        import_file(workspace=officina, actor=None, kind="contacts", path=path)
    # the import announces one fact for the whole workspace, whatever its size
    fact = ReactionOutbox.objects.exclude(id__in=facts_before).get()
    assert (fact.fact_type, fact.payload["contact_ids"]) == ("ContactsChanged", None)
    with django_capture_on_commit_callbacks(execute=True):
        reactions_run_pending()
    queued = {
        (r.task_path.rsplit(".", 1)[1], r.queue_name)
        for r in DBTaskResult.objects.exclude(id__in=tasks_before)
    }
    assert queued == {
        ("reactions_run_task", "default"),
        ("segments_refresh_all_task", "bulk"),
        ("scores_recompute_task", "bulk"),
    }


# --- cells the reader could not use (issue 10): row errors, the other rows imported ------------


@pytest.mark.django_db
def test_bad_bytes_and_nul_are_row_errors_and_the_other_rows_are_written(tmp_path, officina):
    """Written for real, so PostgreSQL sees no NUL and no mis-decoded accent."""
    from volano.contacts.models import Contact
    from volano.imports.services import import_file

    path = tmp_path / "contatti.csv"
    path.write_bytes(
        b"Email;Nome;Note\n"
        + "niccolo@example.it;Niccolò;ok\n".encode()
        + b"bruno@example.it;Bruno\xe8;ok\n"
        + b"carla@example.it;Car\x00la;ok\n"
        + b"dario@example.it;Dario;ignored \xff column\n"
        + "elena@example.it;Elena Forlì;ok\n".encode()
    )
    mapping = {"Email": "email", "Nome": "first_name", "Note": ""}
    report = import_file(
        workspace=officina, actor=None, kind="contacts", path=path, mapping=mapping
    )
    assert (report.rows, report.created, report.error_count) == (5, 3, 2)
    by_row = {e["row"]: e for e in report.errors}
    assert by_row[3]["column"] == "Nome" and "not valid UTF-8" in by_row[3]["message"]
    assert by_row[3]["value"] == "Bruno\ufffd"
    assert by_row[4]["column"] == "Nome" and "NUL" in by_row[4]["message"]
    assert "\x00" not in by_row[4]["value"]
    names = dict(Contact.objects.for_workspace(officina).values_list("email", "first_name"))
    assert names == {
        "niccolo@example.it": "Niccolò",
        "dario@example.it": "Dario",
        "elena@example.it": "Elena Forlì",
    }
