"""The lifecycle stages page in Chromium: no stage name is cut in its field.

The old fields were about 180 px wide, so "Riciclato (di nuovo in nurturing)" or "Lead
qualificato per le vendite" showed only their first words."""

from __future__ import annotations

import pytest

from volano.core import services as core_services
from volano.core.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1440


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_stage_name_fits_its_field(page, live_server, officina, giulia, language):
    core_services.membership_set(workspace=officina, user=giulia, role=Role.ADMIN)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/lifecycle/stages/")
    fields = page.locator(".stage-rename input[name=name]")
    assert fields.count() == 8
    for i in range(fields.count()):  # each field filled with its stage's default name
        field = fields.nth(i)
        field.fill(field.get_attribute("placeholder") or "")
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.stage-rename input[name=name]')]
            .filter(f => f.scrollWidth > f.clientWidth).map(f => f.value)"""
    )
    assert cut == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_on_a_phone_nothing_runs_off_the_screen(page, live_server, officina, giulia):
    core_services.membership_set(workspace=officina, user=giulia, role=Role.ADMIN)
    page.context.add_cookies([{"name": "django_language", "value": "it", "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/lifecycle/stages/")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    fields = page.locator(".stage-rename input[name=name]")
    for i in range(fields.count()):
        field = fields.nth(i)
        field.fill(field.get_attribute("placeholder") or "")
    off_screen = page.evaluate(
        """() => [...document.querySelectorAll('.stages-table :is(input, button, td.num)')]
            .filter(el => el.getBoundingClientRect().right > innerWidth
                          || (el.tagName == 'INPUT' && el.scrollWidth > el.clientWidth))
            .map(el => el.value || el.textContent.trim())"""
    )
    assert off_screen == []
