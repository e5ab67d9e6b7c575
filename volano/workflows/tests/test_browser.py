"""The workflow page in Chromium, on a phone and on a laptop: the steps, indented under their
branch, with their counts; no CSP violation, no script error."""

from __future__ import annotations

import os

import pytest

from volano.workflows.tests.test_views import running  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("VOLANO_SCREENSHOTS", "")


@pytest.mark.parametrize("width", [390, 1440])
def test_the_workflow_page_reads_on_a_phone_and_a_laptop(page, live_server, running, width):  # noqa: F811
    workflow, anna = running
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/")
    step = page.locator('[data-step="secondo"]')
    assert "1 waiting here" in step.inner_text()
    branch_child = page.locator('[data-step="newsletter"]').bounding_box()
    top_level = page.locator('[data-step="grazie"]').bounding_box()
    assert branch_child["x"] > top_level["x"]  # indented under its branch
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/workflow-{width}.png", full_page=True)
    page.goto(f"{live_server.url}/contacts/{anna.pk}/")
    assert "Nuovo contatto" in page.locator("#workflows-title").locator("..").inner_text()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/contact-{width}.png", full_page=True)
