"""In Chromium: a marketer uploads an Excel file with errors and reads the error report."""

from __future__ import annotations

import pytest
from django.test import Client
from openpyxl import Workbook

from volano.conftest import worker_run_once

from .conftest import ITALIAN_XLSX_ROWS


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_an_excel_file_and_read_the_error_report(
    live_server, chromium_path, giulia, tmp_path, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    path = tmp_path / "contatti.xlsx"
    workbook = Workbook()
    for row in ITALIAN_XLSX_ROWS:
        workbook.active.append(row)
    workbook.save(path)
    client = Client()
    client.force_login(giulia)
    session = client.cookies["sessionid"].value

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/imports/")
        page.get_by_label("Contacts").check()
        page.get_by_label("File", exact=True).set_input_files(str(path))
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
        browser.close()
