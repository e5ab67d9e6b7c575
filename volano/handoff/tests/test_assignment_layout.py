"""The lead-assignment page in Chromium: rules counted from 1, the form apart from the table.

The old page numbered the rules from 0 and the "new rule" card touched the rules table."""

from __future__ import annotations

import pytest

from volano.handoff import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1440


@pytest.fixture
def two_rules(officina, giulia, lines, luca, sara):
    for name, region, rep in (("Nord-Ovest", "Lombardia", luca), ("Nord-Est", "Veneto", sara)):
        services.assignment_rule_save(
            workspace=officina,
            actor=giulia,
            data={"name": name, "regions": [region], "reps": [rep.pk]},
        )


def test_positions_start_at_1_and_the_form_stands_apart(page, live_server, two_rules):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/settings/assignment/")
    positions = page.locator("table.data tbody tr td:first-child").all_inner_texts()
    assert positions == ["1", "2"]
    gap = page.evaluate(
        """() => document.querySelector('#rule-form').getBoundingClientRect().top
                 - document.querySelector('.table-wrap').getBoundingClientRect().bottom"""
    )
    assert gap >= 12
    page.get_by_role("link", name="Edit Nord-Ovest").click()
    assert page.get_by_label("Position").input_value() == "1"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_on_a_phone_the_page_does_not_scroll_sideways(page, live_server, two_rules):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/settings/assignment/")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
