"""A threshold rule is checked against the context it runs in, and one that cannot run any more
is switched off with its reason while the other rules and the scores go on (issue 10)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts.models import CustomField
from volano.contacts.services import contact_create, custom_field_create
from volano.lifecycle.models import ThresholdRule
from volano.lifecycle.services import threshold_rule_save, thresholds_apply
from volano.scoring.models import Score
from volano.scoring.services import score_model_save
from volano.segments.services import list_create, segment_save

MQL_RULE = {
    "name": "Lombardia → MQL",
    "from_stages": ["lead"],
    "to_stage": "mql",
    "condition": {"field": "region", "op": "eq", "value": "Lombardia"},
}


@pytest.fixture
def clienti(officina, giulia):
    """A real segment and a real list: the refusal is about the context, not an unknown slug."""
    list_create(workspace=officina, actor=giulia, slug="fiera", name="Fiera")
    return segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Lombardi",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )


@pytest.mark.parametrize(
    ("condition", "node", "words"),
    [
        ({"segment": "lombardi"}, "condition", "cannot use a segment"),
        ({"list": "fiera"}, "condition", "cannot use a list"),
        (
            {"all": [{"field": "region", "op": "eq", "value": "Lombardia"}, {"list": "fiera"}]},
            "condition.all[1]",
            "cannot use a list",
        ),
        ({"any": [{"not": {"segment": "lombardi"}}]}, "condition.any[0].not", "cannot use"),
    ],
)
def test_a_rule_naming_a_segment_or_list_is_refused_at_save(
    api, officina, clienti, condition, node, words
):
    response = api.post("/threshold-rules", {**MQL_RULE, "condition": condition})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    fields = {
        e["field"].replace("conditions", "condition", 1): e["message"] for e in error["errors"]
    }
    # the node is named, and the message says the context
    assert words in fields[node] and "a threshold rule" in fields[node], fields
    assert not ThresholdRule.objects.for_workspace(officina).exists()


def test_a_scoring_rule_naming_a_segment_is_refused_at_save(api, officina, clienti):
    response = api.post(
        "/score-models",
        {
            "slug": "ricambi",
            "name": "Ricambi",
            "rules": [{"kind": "fit", "when": {"segment": "lombardi"}, "points": 10}],
        },
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]["errors"][0]
    assert error["field"] == "rules[0].when"
    assert "a scoring rule cannot use a segment" in error["message"]


def test_the_rule_preview_names_the_context(client, giulia, officina, clienti):
    client.force_login(giulia)
    response = client.post(
        reverse("scoring:rule_preview"),
        {"condition": '{"segment": "lombardi"}', "from_stages": ["lead"]},
    )
    assert "a threshold rule cannot use a segment" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_rule_broken_after_saving_is_disabled_with_its_reason_and_the_others_still_run(
    api, client, officina, giulia, clienti
):
    anna = contact_create(
        workspace=officina, actor=giulia, data={"email": "anna@agri.it", "region": "Lombardia"}
    )
    custom_field_create(workspace=officina, key="fatturato", label="Fatturato", type="number")
    # 1st: written past the service (an old row, a manual fix): names a segment
    written = ThresholdRule.objects.create(
        workspace=officina,
        name="Clienti → SQL",
        position=0,
        from_stages=["lead"],
        to_stage="sql",
        condition={"segment": "lombardi"},
    )
    # 2nd: valid when saved, then its custom field is deleted
    orphan = threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Fatturato alto → SQL",
            "from_stages": ["lead"],
            "to_stage": "sql",
            "position": 1,
            "condition": {"field": "custom.fatturato", "op": "gte", "value": 1_000_000},
        },
    )
    CustomField.objects.for_workspace(officina).filter(key="fatturato").delete()
    good = threshold_rule_save(workspace=officina, actor=giulia, data={**MQL_RULE, "position": 2})
    # a scoring model alongside: its scores must still be written
    score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "webinar",
            "name": "Webinar",
            "rules": [{"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30}],
        },
    )
    worker_run_once()  # the model's first recompute (its thresholds pass runs the rules too)

    response = api.post(
        "/events",
        [
            {
                "type": "webinar_attended",
                "occurred_at": timezone.now().isoformat(),
                "contact_id": anna.pk,
            }
        ],
    )
    assert response.status_code == 200, response.content
    worker_run_once()

    anna.refresh_from_db()
    assert anna.lifecycle_stage == "mql"  # the good rule moved her
    assert list(
        Score.objects.for_workspace(officina).filter(contact=anna).values_list("points", flat=True)
    ) == [30.0]
    written.refresh_from_db()
    orphan.refresh_from_db()
    good.refresh_from_db()
    assert good.active and not good.disabled_reason
    assert not written.active and "threshold rule cannot use a segment" in written.disabled_reason
    assert not orphan.active and "custom.fatturato" in orphan.disabled_reason
    assert written.disabled_at is not None

    listed = {r["name"]: r for r in api.get("/threshold-rules").json()}
    assert listed["Clienti → SQL"]["active"] is False
    assert "cannot use a segment" in listed["Clienti → SQL"]["disabled_reason"]
    assert listed["Lombardia → MQL"]["disabled_reason"] == ""

    client.force_login(giulia)
    page = client.get(reverse("scoring:models")).content.decode()
    assert "Disabled by Volano" in page
    assert "because it could not run" in page and "custom.fatturato" in page
    form = client.get(reverse("scoring:rule_edit", args=[written.pk])).content.decode()
    assert 'data-testid="rule-disabled-reason"' in form and "cannot use a segment" in form
    active_box = re.search(r'<input[^>]*name="active"[^>]*>', form).group(0)
    assert "checked" in active_box  # saving the fixed rule switches it on again

    # saving it fixed switches it on again and clears the reason
    fixed = threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={**MQL_RULE, "name": "Clienti → SQL", "to_stage": "sql", "from_stages": ["mql"]},
        rule=written,
    )
    assert fixed.active and fixed.disabled_reason == "" and fixed.disabled_at is None
    assert thresholds_apply(workspace=officina, contact_ids=[anna.pk])["Clienti → SQL"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_score_model_broken_after_saving_is_disabled_and_the_others_still_score(
    api, client, officina, giulia, clienti
):
    from volano.scoring.models import ModelKind, ScoreModel

    anna = contact_create(
        workspace=officina, actor=giulia, data={"email": "anna@agri.it", "region": "Lombardia"}
    )
    broken = ScoreModel.objects.create(  # written past the service
        workspace=officina,
        slug="clienti",
        name="Clienti",
        kind=ModelKind.RULES,
        rules=[{"kind": "fit", "when": {"segment": "lombardi"}, "points": 10}],
    )
    score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "webinar",
            "name": "Webinar",
            "rules": [{"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30}],
        },
    )
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={**MQL_RULE, "condition": {"field": "score.webinar", "op": "gte", "value": 30}},
    )
    worker_run_once()
    now = timezone.now().isoformat()
    response = api.post(
        "/events", [{"type": "webinar_attended", "occurred_at": now, "contact_id": anna.pk}]
    )
    assert response.status_code == 200, response.content
    worker_run_once()

    anna.refresh_from_db()
    assert anna.lifecycle_stage == "mql"
    points = Score.objects.for_workspace(officina).filter(contact=anna)
    assert list(points.values_list("model__slug", "points")) == [("webinar", 30.0)]
    broken.refresh_from_db()
    assert not broken.active
    assert broken.report["disabled_reason"].startswith("rules[0].when: a scoring rule cannot use")
    client.force_login(giulia)
    page = client.get(reverse("scoring:models")).content.decode()
    assert "Switched off because its rules could not run: rules[0].when" in page
