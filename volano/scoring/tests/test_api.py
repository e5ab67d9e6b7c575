"""/api/v1/score-models takes the model's JSON as the body (issue 10: it read a query string)."""

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
