"""The builder in Chromium, on a phone and on a laptop: a marketer creates a workflow, adds an
email and a branch on it with the forms (HTMX swaps the builder in place), replays the draft and
publishes it; no CSP violation, no script error, nothing wider than the screen."""

from __future__ import annotations

import os

import pytest

from volano.workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("VOLANO_SCREENSHOTS", "")


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_a_marketer_builds_and_publishes_a_workflow(page, live_server, officina, templates, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/workflows/")
    page.click("[data-testid=new-workflow]")
    page.fill("#id_name", "Benvenuto")
    page.click("[data-testid=create]")
    page.wait_for_selector("#wf-builder")
    assert "Builder: Benvenuto" in page.inner_text("h1")

    # an email before the first step
    page.locator("[data-testid=add-step]").first.click()
    page.click("a.wfb-kind[data-kind=send_email]")
    page.select_option("#id_template", "grazie")
    page.click("[data-testid=save-step]")
    page.wait_for_selector('[data-step="send-email-1"]')
    # a branch at the end on whether they clicked it
    page.locator("[data-testid=add-step]").last.click()
    page.click("a.wfb-kind[data-kind=branch]")
    page.check("input[name=mode][value=on]")
    page.check("input[name=on_steps][value=send-email-1]")
    page.click("[data-testid=save-step]")
    page.wait_for_selector('[data-step="branch-1"]')
    assert "If they clicked the email of step send-email-1" in page.inner_text("#wf-builder")
    # a wait inside "If no"
    page.locator('[data-step="branch-1"] [data-testid=add-step]').last.click()
    page.click("a.wfb-kind[data-kind=wait]")
    page.fill("#id_amount", "3")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/builder-form-{width}.png", full_page=True)
    page.click("[data-testid=save-step]")
    page.wait_for_selector('[data-step="wait-2"]')
    workflow = Workflow.objects.for_workspace(officina).get(name="Benvenuto")
    assert workflow.draft["steps"][2]["else"] == [{"key": "wait-2", "kind": "wait", "days": 3}]
    inner = page.locator('[data-step="wait-2"]').bounding_box()
    outer = page.locator('[data-step="branch-1"]').bounding_box()
    assert inner["x"] > outer["x"]  # indented under its branch

    # the goal's condition builder is mounted in the swapped-in form
    page.click("text=Set a goal")
    page.wait_for_selector("[data-condition-builder] select, [data-condition-builder] button")
    assert page.locator("[data-condition-builder]").inner_text().strip() != ""
    page.click(".wfb-goal >> text=Cancel")
    page.wait_for_selector("text=Set a goal")

    page.click("[data-testid=replay]")
    page.wait_for_selector("[data-testid=replay-result]")
    assert page.inner_text("[data-testid=replay-entered]") == "0"
    assert "Ready to publish" in page.inner_text("[data-testid=check]")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/builder-{width}.png", full_page=True)
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=pause]")
    assert "Published" in page.inner_text("[data-testid=status]")
    assert page.locator('[data-step="send-email-1"] [data-testid=waiting]').inner_text() == (
        "0 waiting here"
    )
