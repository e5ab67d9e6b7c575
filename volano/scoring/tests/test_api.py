"""/api/v1/score-models takes the model's JSON as the body (issue 10: it read a query string)."""

import pytest

from volano.scoring.models import ScoreModel

RICAMBI = {
    "slug": "ricambi",
    "name": "Ricambi",
    "product_line": "ricambi",
    "rules": [
        {
            "kind": "fit",
            "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
            "points": 15,
        }
    ],
}


def test_a_model_is_created_and_replaced_through_the_api(api, officina):
    created = api.post("/score-models", RICAMBI)
    assert created.status_code == 200, created.content
    assert created.json()["slug"] == "ricambi" and created.json()["rules"] == RICAMBI["rules"]

    rules = [
        *RICAMBI["rules"],
        {"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30},
    ]
    replaced = api.put("/score-models/ricambi", {"name": "Ricambi 2", "rules": rules})
    assert replaced.status_code == 200, replaced.content
    model = ScoreModel.objects.for_workspace(officina).get(slug="ricambi")
    assert (model.name, len(model.rules)) == ("Ricambi 2", 2)
    assert api.get("/score-models/ricambi").json()["name"] == "Ricambi 2"


def test_validation_errors_name_the_field(api, officina):
    response = api.post(
        "/score-models",
        {**RICAMBI, "rules": [{"kind": "fit", "when": {"field": "citta"}, "points": -3}]},
    )
    assert response.status_code == 422, response.content
    fields = {e["field"] for e in response.json()["error"]["errors"]}
    assert {"rules[0].points", "rules[0].when.field"} <= fields
    wrong_slug = api.put("/score-models/ricambi", {**RICAMBI, "slug": "altro"})
    assert wrong_slug.status_code == 400 and wrong_slug.json()["error"]["field"] == "slug"
    not_an_object = api.post("/score-models", [1, 2])
    assert not_an_object.status_code == 422
    assert not_an_object.json()["error"]["field"] == "body"
    assert not ScoreModel.objects.for_workspace(officina).exists()


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_training_is_a_job_whose_status_ends_with_the_evaluation(
    api, client, officina, bruno_token
):
    from volano.conftest import ApiClient, worker_run_once
    from volano.scoring.tests.test_predictive import history

    history(
        officina, customers=60, customers_by_deal=0, disqualified=60, lost_by_deal=0, open_leads=5
    )
    started = api.post("/scoring/train", {})
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["status"] == "queued" and job["result"] is None
    assert api.get(f"/scoring/train/{job['job']}").json()["status"] == "queued"
    # another workspace's token does not see the job
    assert ApiClient(client, bruno_token).get(f"/scoring/train/{job['job']}").status_code == 404
    assert api.get("/scoring/train/not-a-job").status_code == 404

    worker_run_once()
    done = api.get(f"/scoring/train/{job['job']}").json()
    assert done["status"] == "done", done["reason"]
    assert set(done["result"]) >= {"auc", "brier", "n_train", "n_test"}
    assert done["result"]["n_train"] + done["result"]["n_test"] == 120
    assert done["finished_at"] is not None
    assert ScoreModel.objects.for_workspace(officina).get(slug="predictive").trained


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_a_training_refused_for_thin_history_is_failed_with_the_reason(api, officina):
    from volano.conftest import worker_run_once

    job = api.post("/scoring/train", {}).json()["job"]
    worker_run_once()
    status = api.get(f"/scoring/train/{job}").json()
    assert status["status"] == "failed"
    assert "not enough history to learn from" in status["reason"]
