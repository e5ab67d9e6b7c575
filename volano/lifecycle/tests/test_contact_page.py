"""The contact page shows the stage, lets a marketer change it with a reason, and explains scores."""

import pytest

from volano.contacts.services import contact_create
from volano.events.services import event_append
from volano.scoring.services import score_model_save, scores_compute


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def anna(officina, giulia):
    contact = contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "anna@agri.it", "first_name": "Anna", "job_title": "Ufficio acquisti"},
    )
    event_append(workspace=officina, type="webinar_attended", contact_id=contact.pk)
    model = score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "ricambi",
            "name": "Ricambi",
            "rules": [
                {
                    "kind": "fit",
                    "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
                    "points": 15,
                },
                {
                    "kind": "engagement",
                    "when": {"event": "webinar_attended"},
                    "points": 30,
                    "max_times": 2,
                    "half_life_days": 60,
                },
            ],
        },
    )
    scores_compute(workspace=officina, model=model)
    return contact


def test_the_page_shows_stage_and_score_explanation(signed_in, anna):
    page = signed_in.get(f"/contacts/{anna.pk}/").content.decode()
    assert "Lifecycle and scores" in page
    assert "Lead" in page
    assert "Ricambi" in page and ">45<" in page
    assert "+15.0" in page and "job title contains" in page
    assert "attended a webinar" in page


def test_changing_the_stage_keeps_the_reason(signed_in, anna):
    response = signed_in.post(
        f"/contacts/{anna.pk}/stage/", {"stage": "disqualified", "reason": "è uno studente"}
    )
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.lifecycle_stage == "disqualified"
    page = signed_in.get(f"/contacts/{anna.pk}/").content.decode()
    assert "è uno studente" in page
    assert "Lead → Disqualified" in page  # the timeline line


def test_an_unknown_stage_is_an_error_on_the_page(signed_in, anna):
    response = signed_in.post(f"/contacts/{anna.pk}/stage/", {"stage": "tiepido"})
    assert response.status_code == 422
    assert "unknown stage" in response.content.decode()


def test_a_viewer_cannot_change_a_stage(client, officina, anna):
    from volano.core import services as core_services
    from volano.core.models import Role

    viewer = core_services.user_create(email="v@x.it", password="viewer-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    response = client.post(f"/contacts/{anna.pk}/stage/", {"stage": "sql"})
    assert response.status_code == 403
    anna.refresh_from_db()
    assert anna.lifecycle_stage == "lead"
