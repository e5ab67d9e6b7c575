"""In Chromium: a marketer uploads an Excel file with errors and reads the error report."""

from __future__ import annotations

import pytest
from django.test import Client
from openpyxl import Workbook

from volano.conftest import worker_run_once

from .conftest import ITALIAN_XLSX_ROWS


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_an_excel_file_and_read_the_error_report(live_server, chromium, giulia, tmp_path):
    from playwright.sync_api import expect

    path = tmp_path / "contatti.xlsx"
    workbook = Workbook()
    for row in ITALIAN_XLSX_ROWS:
        workbook.active.append(row)
    workbook.save(path)
    client = Client()
    client.force_login(giulia)
    session = client.cookies["sessionid"].value

    context = chromium.new_context()
    try:
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/imports/")
        page.get_by_role("radio", name="Contacts", exact=True).check()
        page.locator("#import-file").set_input_files(str(path))
        page.get_by_role("button", name="Upload and map columns").click()
        expect(page.get_by_role("heading", name="Map columns: contatti.xlsx")).to_be_visible()
        expect(page.get_by_text("Reading the file: Volano reads")).to_be_visible()
        worker_run_once()  # the worker reads the header; the page polls and shows the form
        expect(page.get_by_label("E-mail")).to_have_value("email", timeout=20_000)
        page.get_by_label("Data iscrizione").select_option("")
        page.get_by_role("button", name="Check with a dry run").click()
        expect(page.get_by_role("progressbar")).to_be_attached()
        worker_run_once()
        expect(page.get_by_text("Dry run: nothing was imported.")).to_be_visible(timeout=20_000)
        page.get_by_role("button", name="Import the valid rows").click()
        expect(page.get_by_text("Importing…")).to_be_visible()
        worker_run_once()
        expect(page.get_by_text("Import finished.")).to_be_visible(timeout=20_000)
        errors = page.locator("table.errors tbody tr")
        expect(errors).to_have_count(1)
        expect(errors.first).to_contain_text("3")
        expect(errors.first).to_contain_text("luca.bianchi@")
        expect(errors.first).to_contain_text("not an email address")
        expect(page.locator('[data-count="created"]')).to_have_text("2")
    finally:
        context.close()


CSV_FROM_THE_FAIR = (
    "E-mail;Nome;Cognome;Data iscrizione\nmario.rossi@example.it;Mario;Rossi;31/12/2025\n"
)


def _current_step(page) -> str:
    return page.locator('.import-steps [aria-current="step"]').inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_drop_a_file_on_the_drop_zone_and_walk_the_steps(page, live_server, officina):
    """A file dropped on the zone goes into the form's file input (the dispatched drop event a
    real drag ends with), the zone names it, and each page of the wizard marks its step."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/imports/")
    expect(page.locator(".import-steps")).to_be_visible()
    assert _current_step(page).strip().endswith("File")
    page.get_by_role("radio", name="Contacts", exact=True).check()
    page.locator("[data-dropzone]").evaluate(
        """(zone, text) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "contatti_fiera.csv", {type: "text/csv"}));
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true,
                                                        cancelable: true}));
            }
        }""",
        CSV_FROM_THE_FAIR,
    )
    expect(page.locator("[data-dropzone-file]")).to_have_text("contatti_fiera.csv")
    assert page.locator("#import-file").evaluate("input => input.files[0].name") == (
        "contatti_fiera.csv"
    )
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="Map columns: contatti_fiera.csv")).to_be_visible()
    assert _current_step(page).strip().endswith("Columns")
    worker_run_once()
    expect(page.get_by_label("E-mail")).to_have_value("email", timeout=20_000)
    # The preview shows the date the way the file writes it.
    expect(page.locator("table.preview")).to_contain_text("31/12/2025")
    assert _current_step(page).strip().endswith("Columns")
    page.get_by_role("button", name="Check with a dry run").click()
    worker_run_once()
    expect(page.get_by_text("Dry run: nothing was imported.")).to_be_visible(timeout=20_000)
    assert _current_step(page).strip().endswith("Check")
    page.get_by_role("button", name="Import now").click()
    worker_run_once()
    expect(page.get_by_text("Import finished.")).to_be_visible(timeout=20_000)
    assert _current_step(page).strip().endswith("Import")
    page.get_by_role("link", name="Show the 1 contact created or updated").click()
    expect(page.get_by_text("mario.rossi@example.it")).to_be_visible()
    page.get_by_role("link", name="Mario Rossi").click()
    expect(page.locator(".tl-title").filter(has_text="Imported")).to_contain_text(
        "from contatti_fiera.csv"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_drop_zone_takes_a_file_from_the_keyboard_path(page, live_server, officina, tmp_path):
    """The file input itself is in the tab order (the zone is its label): set_input_files on it,
    as a keyboard user choosing a file from the dialog, and the zone says which file."""
    from playwright.sync_api import expect

    path = tmp_path / "contatti.csv"
    path.write_text(CSV_FROM_THE_FAIR, encoding="utf-8")
    page.goto(f"{live_server.url}/imports/")
    page.get_by_role("radio", name="Contacts", exact=True).focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "import-file"
    page.locator("#import-file").set_input_files(str(path))
    expect(page.locator("[data-dropzone]")).to_have_class("dropzone has-file")
    expect(page.locator("[data-dropzone-file]")).to_have_text("contatti.csv")
