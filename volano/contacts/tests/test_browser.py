"""Giulia works the contacts list and a contact page in a real browser (Chromium): one request
per search, a bulk action on every contact the filters match, and a logged call that refreshes
the timeline and the stage card without a reload."""

from __future__ import annotations

import re

import pytest

from volano.contacts import services
from volano.contacts.models import Contact
from volano.lifecycle.services import threshold_rule_save
from volano.scoring.services import score_model_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT_WIDTH = 1440


@pytest.fixture
def milanesi(officina, giulia):
    """Sixty contacts in Milan (more than one page) and one in Rome."""
    for i in range(60):
        services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "first_name": f"Cliente{i:02d}",
                "last_name": "Milano",
                "email": f"mi{i}@example.it",
                "province": "MI",
            },
        )
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Rita",
            "last_name": "Romano",
            "email": "rita@example.it",
            "province": "RM",
            "phone": "338 307 6475",
        },
    )


def test_typing_a_search_sends_one_request(page, live_server, milanesi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/contacts/")
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/contacts/?" in r.url else None)
    box = page.locator("#id_q")
    box.press_sequentially("338 307", delay=20)  # quicker than the pause the list waits for
    box.press("Enter")  # before, Enter, the search event and the change on blur each sent one
    expect(page.locator("#results tbody tr")).to_have_count(1)  # the search has answered
    expect(page.locator("#results")).to_contain_text("Rita Romano")
    page.get_by_role("heading", name="Contacts").click()  # blur: no "change" request
    page.wait_for_load_state("networkidle")
    assert len(searches) == 1, searches
    assert "q=338%20307" in searches[0]
    expect(page.locator("#results")).to_contain_text("+39 338 307 6475")


def test_change_owner_of_all_contacts_matching_a_filter(
    page, live_server, officina, marco, milanesi
):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/contacts/")
    page.locator(".more-filters summary").click()
    page.get_by_label("Province").select_option("MI")
    expect(page.locator("#results")).not_to_contain_text("Rita Romano")
    page.get_by_label("Tick every contact on this page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("50 contacts picked.")
    page.get_by_role("button", name="Pick all 60 contacts matching the filters").click()
    expect(page.locator("[data-bulk-count]")).to_have_text(
        "All 60 contacts matching the filters are picked."
    )
    page.get_by_label("With the picked contacts").select_option("owner")
    page.get_by_label("New owner").select_option(label="Marco Neri")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".messages")).to_contain_text("60 contacts have a new owner.")
    expect(page.get_by_label("Province")).to_have_value("MI")  # back to the same filters
    owned = Contact.objects.for_workspace(officina).filter(owner=marco)
    assert owned.count() == 60
    assert not owned.filter(province="RM").exists()


def test_logging_a_call_refreshes_timeline_and_stage_card_without_reload(
    page, live_server, officina, giulia
):
    from playwright.sync_api import expect

    score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "contatti",
            "name": "Contatti commerciali",
            "rules": [
                {
                    "kind": "engagement",
                    "when": {"event": "call"},
                    "points": 30,
                    "half_life_days": 90,
                }
            ],
        },
    )
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Contatti ≥ 30 → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "score.contatti", "op": "gte", "value": 30},
        },
    )
    sara = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Sara", "last_name": "Galli", "email": "sara@galli.it"},
    )
    page.goto(f"{live_server.url}/contacts/{sara.pk}/")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#lifecycle-card .stage-line")).to_contain_text("Lead")
    page.get_by_text("Log an activity…").click()
    page.get_by_label("What happened").select_option("call")
    page.get_by_label("Subject").fill("Richiesta preventivo")
    page.get_by_label("Notes").fill("Vuole 3 trinciaerba per aprile.\nRichiamare lunedì.")
    page.get_by_role("button", name="Log", exact=True).click()
    # newest first: the stage change, the score change, then the call that caused them
    expect(page.locator("#timeline-list .tl-item").nth(2)).to_contain_text("Richiesta preventivo")
    expect(page.locator("#timeline-list .tl-note").first).to_have_text(
        "Vuole 3 trinciaerba per aprile.\nRichiamare lunedì."
    )
    expect(page.locator("#lifecycle-card .stage-line")).to_contain_text("Marketing qualified lead")
    expect(page.locator("#lifecycle-card")).to_contain_text("30")
    expect(page.locator("#activity-log [role=status]")).to_contain_text("Activity logged")
    assert page.evaluate("window.__notReloaded") is True  # the same document: no reload


def test_a_sales_rep_starts_on_their_own_and_the_url_keeps_everyone(
    page, live_server, client, officina, giulia, marco, milanesi
):
    """Marco (a rep) opens the list on his own contacts, picks Everyone, opens a contact and
    comes back with the browser's back button: still everyone's, as the URL says."""
    from django.conf import settings
    from playwright.sync_api import expect

    services.contact_update(
        workspace=officina, actor=giulia, contact=milanesi, data={"owner_id": marco.pk}
    )
    client.force_login(marco)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto(f"{live_server.url}/contacts/")
    expect(page.locator("#id_owner")).to_have_value("mine")
    expect(page.locator("#results tbody tr")).to_have_count(1)  # Rita, his only one
    page.locator("#id_owner").select_option("everyone")
    expect(page.locator("#results tbody tr")).to_have_count(50)  # a page of everyone's
    expect(page).to_have_url(re.compile(r"/contacts/\?.*owner=everyone"))
    page.locator("#results tbody tr a").first.click()
    page.wait_for_url("**/contacts/*/")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/contacts/\?.*owner=everyone"))
    expect(page.locator("#id_owner")).to_have_value("everyone")
    expect(page.locator("#results tbody tr")).to_have_count(50)
