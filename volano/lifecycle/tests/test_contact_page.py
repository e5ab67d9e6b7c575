"""The contact page shows the stage, lets a marketer change it with a reason, and explains scores."""

import pytest

from volano.conftest import worker_run_once
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
    assert "+15<" in page and "job title contains" in page
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


@pytest.mark.django_db(transaction=True)
def test_a_logged_webinar_raises_the_score_and_the_rules_move_the_lead(
    signed_in, officina, giulia, anna
):
    """The issue's story up to the hand-off: the webinar pushes Anna over the threshold and,
    having attended a webinar, she goes on to SQL in the same pass."""

    from volano.lifecycle.services import threshold_rule_save

    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Ricambi ≥ 60 → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "score.ricambi", "op": "gte", "value": 60},
        },
    )
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "MQL + webinar → SQL",
            "from_stages": ["mql"],
            "to_stage": "sql",
            "condition": {"event": "webinar_attended", "within_days": 30},
        },
    )
    response = signed_in.post(  # the worker picks up the scoring enqueued on commit
        f"/contacts/{anna.pk}/activity/",
        {"activity-type": "webinar_attended", "activity-title": "Manutenzione trinciaerba"},
    )
    assert response.status_code == 302
    worker_run_once()
    anna.refresh_from_db()
    assert anna.lifecycle_stage == "sql"
    page = signed_in.get(f"/contacts/{anna.pk}/").content.decode()
    assert "Manutenzione trinciaerba" in page
    assert "Lead → Marketing qualified lead" in page
    assert ">75<" in page  # 15 for the job title + 30 for each of the two webinars


def test_the_funnel_says_its_period_as_an_italian_writes_it(client, giulia, settings, tmp_path):
    """ "dal 3 settembre 2026 al 1 dicembre 2026", not "03 Settembre" nor "Sept. 3, 2026"."""
    from volano.core.tests.catalog import ITALIAN_MONTHS, install_italian

    install_italian(settings, tmp_path / "locale", ITALIAN_MONTHS)
    client.force_login(giulia)
    client.cookies["django_language"] = "it"
    page = client.get("/reports/funnel/", {"start": "2026-09-03", "end": "2026-12-01"})
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "3 settembre 2026" in text and "1 dicembre 2026" in text
    assert "03 settembre" not in text.lower()
