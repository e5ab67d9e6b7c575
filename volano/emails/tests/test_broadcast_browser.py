"""Giulia creates a broadcast to a segment and sends it from the pages (real Chromium); the
worker delivers it to a real SMTP server and the page shows the figures by itself (HTMX)."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_and_send_a_broadcast_from_the_pages(
    page, live_server, officina, people, milano, newsletter, smtp, tmp_path
):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/email/broadcasts/")
    page.get_by_role("link", name="New broadcast").click()
    page.get_by_label("Name").fill("Novità di marzo")
    page.get_by_label("Email template").select_option(label="Novità di stagione")
    page.get_by_label("Send to").select_option(label="Clienti di Milano")
    page.get_by_label("Now").check()
    page.screenshot(path=str(tmp_path / "new.png"), full_page=True)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Novità di marzo")).to_be_visible()
    expect(page.get_by_test_id("whole-list-warning")).to_have_count(0)

    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_text("Broadcast on its way.")).to_be_visible()
    worker_run_once()
    # the progress block polls while it sends: the figures arrive without a reload
    expect(page.get_by_test_id("stat-sent")).to_have_text("36", timeout=10_000)
    expect(page.locator("#broadcast-progress")).to_contain_text("Sent")
    assert len(smtp.inbox.messages) == 36
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/email/broadcasts/")
    expect(page.get_by_role("link", name="Novità di marzo")).to_be_visible()
    page.screenshot(path=str(tmp_path / "list-phone.png"), full_page=True)
    import os
    import shutil

    if os.environ.get("VOLANO_SCREENSHOTS"):
        for name in ("new.png", "detail.png", "list-phone.png"):
            shutil.copy(tmp_path / name, os.path.join(os.environ["VOLANO_SCREENSHOTS"], name))
