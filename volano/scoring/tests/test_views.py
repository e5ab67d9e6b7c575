"""Lead-scoring pages through HTTP, as Giulia the marketer uses them."""

import html as html_lib
import json
import re

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core import services as core_services
from volano.core.models import Role
from volano.lifecycle.models import ThresholdRule
from volano.lifecycle.services import threshold_rule_save
from volano.scoring.models import ScoreModel
from volano.scoring.services import score_model_save, scores_compute

pytestmark = pytest.mark.django_db

BUYERS = {
    "slug": "ricambi",
    "name": "Ricambi",
    "rules": [
        {
            "kind": "fit",
            "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
            "points": 70,
            "label": "Buyer",
        },
        {
            "kind": "negative",
            "when": {"field": "consent.email_marketing", "op": "eq", "value": "revoked"},
            "points": -50,
        },
    ],
}


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def people(officina, giulia):
    """Three buyers (two leads, one already SQL) and a contact with no title."""
    rows = [
        ("anna@agri.it", "Responsabile acquisti", "lead"),
        ("luca@agri.it", "Ufficio acquisti", "recycled"),
        ("sara@agri.it", "Direttrice acquisti", "sql"),
        ("piero@agri.it", "", "lead"),
    ]
    contacts = []
    for email, title, stage in rows:
        contact = contact_create(
            workspace=officina, actor=giulia, data={"email": email, "job_title": title}
        )
        Contact.objects.for_workspace(officina).filter(pk=contact.pk).update(lifecycle_stage=stage)
        contacts.append(contact)
    return contacts


@pytest.fixture
def ricambi(officina, giulia, people):
    model = score_model_save(workspace=officina, actor=giulia, data=BUYERS)
    scores_compute(workspace=officina, model=model)
    return model


@pytest.fixture
def mql_rule(officina, giulia, ricambi):
    return threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Ricambi ≥ 60 → MQL",
            "from_stages": ["lead", "recycled"],
            "to_stage": "mql",
            "condition": {"field": "score.ricambi", "op": "gte", "value": 60},
        },
    )


def preview(client, model, threshold="60", from_stages=("lead", "recycled")):
    return client.post(
        reverse("scoring:model_preview"),
        {"model_json": json.dumps(model), "threshold": threshold, "from_stages": from_stages},
    ).content.decode()


def text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


# ---- the models page ------------------------------------------------------------------------


def test_models_page_lists_models_rules_and_the_predictive_card(signed_in, ricambi, mql_rule):
    response = signed_in.get(reverse("scoring:models"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ricambi" in html and "score.ricambi" in html
    assert reverse("scoring:model_edit", args=["ricambi"]) in html
    assert "Ricambi ≥ 60 → MQL" in html
    page = text(html)
    assert "Lead, Recycled (back to nurturing) → Marketing qualified lead" in page
    assert "60" in page and "Not trained yet" in page
    assert "Train now" in page and "Recompute all scores" in page


def test_recompute_is_queued(signed_in, officina, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("scoring:recompute"), follow=True)
    assert "Recomputing every score is queued" in response.content.decode()
    queued = DBTaskResult.objects.filter(task_path__endswith="scores_recompute_task")
    assert [r.args_kwargs["args"] for r in queued] == [[officina.pk]]


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_train_now_is_queued_polled_and_says_why_when_history_is_thin(signed_in, people):
    from volano.conftest import worker_run_once

    response = signed_in.post(reverse("scoring:train"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="predictive-card"' in html
    assert 'data-status="queued"' in html and "waiting for a worker" in html
    polled = re.search(r'hx-get="([^"]+)" hx-trigger="every 1s"', html)
    assert polled, html
    assert "Train now" not in text(html)  # no second start while one is queued
    worker_run_once()
    done = signed_in.get(polled.group(1)).content.decode()
    assert 'id="predictive-card"' in done and "hx-trigger" not in done
    assert "not enough history to learn from" in done.lower()
    assert "Train now" in text(done)


# ---- the model editor and its preview -------------------------------------------------------


def test_editor_shows_each_rule_and_the_json(signed_in, ricambi):
    response = signed_in.get(reverse("scoring:model_edit", args=["ricambi"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("data-rule>") == 2 + 1  # two rules and the row template
    assert 'name="model_json"' in html and "Edit as JSON" in html
    assert "job title contains" in text(html).lower()
    new = signed_in.get(reverse("scoring:model_new"))
    assert new.status_code == 200 and "New score model" in new.content.decode()


def test_preview_counts_who_would_be_mql_today(signed_in, people):
    page = text(preview(signed_in, BUYERS))
    # Anna (lead) and Luca (recycled) reach 70; Sara is SQL already.
    assert "With this threshold, 2 contacts would be MQL today" in page
    assert "3 contacts reach 60 points" in page
    assert "3 contacts score anything" in page
    assert "With this threshold, 0 contacts would be MQL today" in text(
        preview(signed_in, BUYERS, threshold="80")
    )
    assert "With this threshold, 1 contact would be MQL today" in text(
        preview(signed_in, BUYERS, from_stages=("lead",))
    )


def test_preview_works_before_the_model_has_a_name(signed_in, people):
    draft = {"rules": BUYERS["rules"]}
    assert "2 contacts would be MQL today" in text(preview(signed_in, draft))


def test_preview_of_an_invalid_model_names_the_rule(signed_in, people):
    bad = {**BUYERS, "rules": [BUYERS["rules"][0], {**BUYERS["rules"][1], "points": 20}]}
    html = preview(signed_in, bad)
    assert "would be MQL" not in html
    assert "Rule 2" in html and "a negative rule takes points below 0" in html
    note = re.search(r'<div id="rule-1-note" hx-swap-oob="innerHTML">(.*?)</div>', html, re.S)
    assert note and "a negative rule takes points below 0" in note.group(1)
    first = re.search(r'<div id="rule-0-note" hx-swap-oob="innerHTML">(.*?)</div>', html, re.S)
    assert first and "job title contains" in first.group(1).lower()


def test_saving_an_invalid_model_shows_the_errors_and_saves_nothing(signed_in, officina, people):
    bad = {
        **BUYERS,
        "rules": [
            BUYERS["rules"][0],
            {"kind": "fit", "when": {"field": "nope", "op": "eq", "value": 1}, "points": 5},
        ],
    }
    response = signed_in.post(reverse("scoring:model_new"), {"model_json": json.dumps(bad)})
    assert response.status_code == 422
    html = html_lib.unescape(response.content.decode())
    summary = re.search(r'id="error-summary">(.*?)</div>', html, re.S).group(1)
    assert "Rule 2" in summary and "unknown field 'nope'" in summary
    second = re.search(
        r'<li class="rule-row[^"]*has-error[^"]*" id="rule-1"(.*?)</li>\s*$', html, re.S | re.M
    )
    assert second and "unknown field 'nope'" in second.group(1)
    assert not ScoreModel.objects.for_workspace(officina).exists()


def test_saving_json_that_does_not_parse_keeps_the_text(signed_in, officina):
    response = signed_in.post(reverse("scoring:model_new"), {"model_json": '{"slug": "x",'})
    assert response.status_code == 422
    html = response.content.decode()
    assert "not valid JSON" in html and "{&quot;slug&quot;: &quot;x&quot;," in html
    assert not ScoreModel.objects.for_workspace(officina).exists()


def test_saving_a_model_stores_it_and_reopens_the_editor(signed_in, officina, people):
    response = signed_in.post(reverse("scoring:model_new"), {"model_json": json.dumps(BUYERS)})
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:model_edit", args=["ricambi"])
    model = ScoreModel.objects.for_workspace(officina).get(slug="ricambi")
    assert model.rules == BUYERS["rules"]


def test_a_new_model_does_not_replace_one_with_the_same_slug(signed_in, officina, ricambi):
    other = {**BUYERS, "name": "Altro"}
    response = signed_in.post(reverse("scoring:model_new"), {"model_json": json.dumps(other)})
    assert response.status_code == 422
    assert "another model has this slug" in response.content.decode()
    assert ScoreModel.objects.for_workspace(officina).get(slug="ricambi").name == "Ricambi"


def test_editing_keeps_the_slug_of_the_page(signed_in, officina, ricambi):
    changed = {**BUYERS, "slug": "renamed", "name": "Ricambi 2026"}
    response = signed_in.post(
        reverse("scoring:model_edit", args=["ricambi"]), {"model_json": json.dumps(changed)}
    )
    assert response.status_code == 302
    assert list(ScoreModel.objects.for_workspace(officina).values_list("slug", "name")) == [
        ("ricambi", "Ricambi 2026")
    ]


def test_saved_model_preview_links_to_its_threshold_rule(signed_in, ricambi):
    html = preview(signed_in, BUYERS, threshold="75")
    link = reverse("scoring:rule_new") + "?model=ricambi&amp;threshold=75"
    assert link in html
    form = signed_in.get(reverse("scoring:rule_new") + "?model=ricambi&threshold=75")
    page = form.content.decode()
    assert "Ricambi ≥ 75 → MQL" in page
    assert "&quot;score.ricambi&quot;" in page and "&quot;value&quot;: 75" in page


# ---- threshold rules ------------------------------------------------------------------------


def test_rule_preview_counts_the_contacts_that_would_move(signed_in, ricambi):
    condition = json.dumps({"field": "score.ricambi", "op": "gte", "value": 60})
    url = reverse("scoring:rule_preview")
    both = signed_in.post(url, {"condition": condition, "from_stages": ["lead", "recycled"]})
    assert "2 contacts would move now" in text(both.content.decode())
    leads = signed_in.post(url, {"condition": condition, "from_stages": ["lead"]})
    assert "1 contact would move now" in text(leads.content.decode())
    unknown = json.dumps({"field": "score.nope", "op": "gte", "value": 1})
    bad = signed_in.post(url, {"condition": unknown, "from_stages": ["lead"]})
    assert "unknown score model 'nope'" in text(bad.content.decode())


def test_rule_save_shows_errors_by_field_then_saves(signed_in, officina, ricambi):
    url = reverse("scoring:rule_new")
    data = {
        "name": "Caldi",
        "to_stage": "mql",
        "condition": json.dumps({"field": "score.ricambi", "op": "gte", "value": 60}),
        "active": "on",
    }
    response = signed_in.post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "list the stages a contact moves from" in html
    assert not ThresholdRule.objects.for_workspace(officina).exists()
    response = signed_in.post(url, {**data, "from_stages": ["lead", "recycled"]})
    assert response.status_code == 302
    rule = ThresholdRule.objects.for_workspace(officina).get()
    assert (rule.name, rule.from_stages, rule.to_stage, rule.active) == (
        "Caldi",
        ["lead", "recycled"],
        "mql",
        True,
    )
    edit = reverse("scoring:rule_edit", args=[rule.pk])
    assert "Caldi" in signed_in.get(edit).content.decode()
    response = signed_in.post(edit, {**data, "from_stages": ["lead"], "name": "Caldissimi"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.from_stages, rule.active) == ("Caldissimi", ["lead"], True)
    signed_in.post(reverse("scoring:rule_delete", args=[rule.pk]))
    assert not ThresholdRule.objects.for_workspace(officina).exists()


def test_rule_with_a_bad_condition_names_the_place(signed_in, officina, ricambi):
    response = signed_in.post(
        reverse("scoring:rule_new"),
        {
            "name": "Rotta",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": json.dumps({"field": "score.ricambi", "op": "contains", "value": 1}),
        },
    )
    assert response.status_code == 422
    assert "does not apply to score.ricambi" in text(response.content.decode())


def test_rule_with_a_bad_condition_marks_its_row_in_the_builder(signed_in, officina, ricambi):
    condition = {"all": [{"field": "score.ricambi", "op": "contains", "value": 1}]}
    response = signed_in.post(
        reverse("scoring:rule_new"),
        {
            "name": "Rotta",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": json.dumps(condition),
        },
    )
    html = response.content.decode()
    assert 'data-error-path="conditions.all[0].op"' in html
    preview = signed_in.post(
        reverse("scoring:rule_preview"),
        {"condition": json.dumps(condition), "from_stages": ["lead"]},
    ).content.decode()
    assert 'data-error-path="conditions.all[0].op"' in preview


def _catalogue(html: str) -> dict:
    found = re.search(
        r'<script id="builder-catalogue" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "the page has no builder catalogue"
    return json.loads(found.group(1))


def test_the_rule_builders_offer_only_what_their_context_accepts(signed_in, officina, ricambi):
    """Scoring and threshold rules cannot name lists or segments (SCORE_RULES, THRESHOLD_RULES):
    their builder has no membership row. Threshold rules read the scores and the stage by name."""
    threshold = _catalogue(signed_in.get(reverse("scoring:rule_new")).content.decode())
    fields = {f["name"]: f for f in threshold["contact_fields"]}
    assert "member" not in threshold["text"]["kinds"]
    assert fields["score.ricambi"]["kind"] == "score"
    assert ["mql", "Marketing qualified lead"] in fields["lifecycle_stage"]["choices"]
    assert threshold["new_condition"] == {"field": "score.ricambi", "op": "gte"}

    editor = reverse("scoring:model_edit", args=["ricambi"])
    model = _catalogue(signed_in.get(editor).content.decode())
    assert "member" not in model["text"]["kinds"]
    assert not any(f["name"].startswith("score.") for f in model["contact_fields"])
    assert "lifecycle_stage" in {f["name"] for f in model["contact_fields"]}

    segment = _catalogue(signed_in.get(reverse("segments:new")).content.decode())
    assert "member" in segment["text"]["kinds"]


# ---- roles and workspaces -------------------------------------------------------------------


def test_viewer_can_look_but_not_change(client, officina, ricambi, mql_rule):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("scoring:models")).status_code == 200
    model_json = json.dumps({**BUYERS, "name": "Cambiato"})
    assert client.post(reverse("scoring:model_new"), {"model_json": model_json}).status_code == 403
    edit = reverse("scoring:model_edit", args=["ricambi"])
    assert client.post(edit, {"model_json": model_json}).status_code == 403
    assert client.post(reverse("scoring:rule_new"), {"name": "x"}).status_code == 403
    assert client.post(reverse("scoring:rule_delete", args=[mql_rule.pk])).status_code == 403
    assert client.post(reverse("scoring:train")).status_code == 403
    assert client.post(reverse("scoring:recompute")).status_code == 403
    assert ScoreModel.objects.for_workspace(officina).get().name == "Ricambi"
    assert ThresholdRule.objects.for_workspace(officina).count() == 1


def test_another_workspace_sees_none_of_it(client, bruno, ricambi, mql_rule):
    client.force_login(bruno)
    assert client.get(reverse("scoring:model_edit", args=["ricambi"])).status_code == 404
    assert client.get(reverse("scoring:rule_edit", args=[mql_rule.pk])).status_code == 404
    assert client.post(reverse("scoring:rule_delete", args=[mql_rule.pk])).status_code == 404
    html = client.get(reverse("scoring:models")).content.decode()
    assert "Ricambi" not in html
    # Officina's model is unknown to Bruno's workspace: the preview counts nothing of Officina.
    assert "0 contacts score anything" in text(preview(client, BUYERS))


def test_a_rules_position_counts_from_one_as_the_list_numbers_rules(signed_in, officina, mql_rule):
    """The first rule is "1" in the rules list and in its form (stored as 0); a rule saved at
    position 1 is stored at the service's 0, and 0 is refused."""
    assert mql_rule.position == 0
    edit = reverse("scoring:rule_edit", args=[mql_rule.pk])
    html = signed_in.get(edit).content.decode()
    assert re.search(r'name="position"[^>]*value="1"', html), "the first rule shows position 1"
    data = {
        "name": "Prima",
        "from_stages": ["lead"],
        "to_stage": "mql",
        "condition": json.dumps({"field": "score.ricambi", "op": "gte", "value": 80}),
        "position": "1",
        "active": "on",
    }
    assert signed_in.post(reverse("scoring:rule_new"), data).status_code == 302
    assert ThresholdRule.objects.for_workspace(officina).get(name="Prima").position == 0
    assert signed_in.post(reverse("scoring:rule_new"), {**data, "position": "0"}).status_code == 422
