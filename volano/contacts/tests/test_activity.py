"""A rep logs a call, a meeting or a note on the contact page: the timeline and the stage card
follow without a reload, and what the call caused (score, stage) is never stamped before it."""

from __future__ import annotations

import re

import pytest

from volano.conftest import worker_run_once
from volano.contacts import services
from volano.events.models import Event
from volano.lifecycle.services import threshold_rule_save
from volano.scoring.services import score_model_save

CALLS = {
    "slug": "contatti",
    "name": "Contatti commerciali",
    "rules": [
        {"kind": "engagement", "when": {"event": "call"}, "points": 30, "half_life_days": 90},
        {"kind": "engagement", "when": {"event": "meeting"}, "points": 50, "half_life_days": 90},
    ],
}


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def rules(officina, giulia):
    score_model_save(workspace=officina, actor=giulia, data=CALLS)
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


@pytest.fixture
def sara(officina, giulia):
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Sara", "last_name": "Galli", "email": "sara@galli.it"},
    )


def log(client, contact, htmx: bool, **fields):
    data = {f"activity-{key}": value for key, value in fields.items()}
    headers = {"HX-Request": "true", "HX-Target": "activity-log"} if htmx else {}
    return client.post(f"/contacts/{contact.pk}/activity/", data, headers=headers)


@pytest.mark.django_db(transaction=True)
def test_logging_a_call_refreshes_the_timeline_and_the_stage_card(signed_in, officina, rules, sara):
    response = log(
        signed_in,
        sara,
        htmx=True,
        type="call",
        title="Richiesta preventivo",
        text="Vuole 3 trinciaerba per aprile.\nRichiamare lunedì.",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    timeline = re.search(
        r'<div id="timeline-list" hx-swap-oob="true">(.*?)</div>\s*<div id="lifecycle-card"',
        html,
        re.S,
    )
    assert timeline, html
    assert "Richiesta preventivo" in timeline.group(1)
    assert "Vuole 3 trinciaerba per aprile.\nRichiamare lunedì." in timeline.group(1)
    card = html[html.index('<div id="lifecycle-card" hx-swap-oob="true">') :]
    assert "Marketing qualified lead" in card  # the threshold moved Sara at once
    assert ">30<" in card  # her score in the card
    sara.refresh_from_db()
    assert sara.lifecycle_stage == "mql"
    worker_run_once()  # the task the event enqueued finds nothing more to do
    changes = Event.objects.for_workspace(officina).filter(contact=sara, type="score_changed")
    assert changes.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_score_or_stage_change_is_never_stamped_before_the_event_that_caused_it(
    signed_in, officina, rules, sara
):
    """Before, the background scoring stamped its events at the start of the minute, so on the
    timeline the stage change came before the meeting that caused it."""
    worker_run_once()  # the models' first full computation, enqueued when they were saved
    log(signed_in, sara, htmx=False, type="meeting", title="Visita in azienda")
    worker_run_once()  # the scoring of Sara the meeting enqueued
    events = {e.type: e for e in Event.objects.for_workspace(officina).filter(contact=sara)}
    meeting = events["meeting"]
    assert events["score_changed"].occurred_at >= meeting.occurred_at
    assert events["lifecycle_changed"].occurred_at >= events["score_changed"].occurred_at
    page = signed_in.get(f"/contacts/{sara.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    # newest first: the effects above their cause
    assert timeline.index("Lifecycle stage changed") < timeline.index("Score changed")
    assert timeline.index("Score changed") < timeline.index("Visita in azienda")


@pytest.mark.django_db
def test_a_note_needs_its_text_and_the_error_stays_in_the_form(signed_in, officina, sara):
    response = log(signed_in, sara, htmx=True, type="note", title="", text="")
    assert response.status_code == 200  # swapped into the form by HTMX
    assert "Write the note." in response.content.decode()
    assert not Event.objects.for_workspace(officina).filter(contact=sara, type="note").exists()


@pytest.mark.django_db
def test_a_note_is_logged_and_read_on_the_timeline(signed_in, officina, sara):
    response = log(
        signed_in, sara, htmx=False, type="note", text="Preferisce essere chiamata dopo le 17"
    )
    assert response.status_code == 302
    page = signed_in.get(f"/contacts/{sara.pk}/").content.decode()
    assert '<p class="tl-note">Preferisce essere chiamata dopo le 17</p>' in page
    note = Event.objects.for_workspace(officina).get(contact=sara, type="note")
    assert note.channel == "sales"


@pytest.mark.django_db
def test_the_contact_page_puts_consent_first_proof_readable_and_the_cap_without_a_street(
    signed_in, officina, giulia
):
    contact = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Ugo",
            "email": "ugo@example.it",
            "postal_code": "20121",
            "phone": "3383076475",
        },
    )
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose="email_marketing",
        status="granted",
        source="form:newsletter",
        proof="Ho letto l'informativa e acconsento.",
    )
    page = signed_in.get(f"/contacts/{contact.pk}/").content.decode()
    assert page.index('id="consent-title"') < page.index('id="details-title"')
    assert "<pre>" not in page
    assert '<p class="proof-text">Ho letto l&#x27;informativa e acconsento.</p>' in page
    assert "20121 Milano (MI)" in page  # the CAP, with no street
    assert ">+39 338 307 6475</a>" in page
