"""Giulia edits score-model rules and threshold rules by clicking in a real browser (Chromium),
with the condition builder the segments use, without typing JSON."""

import json
import os
import re

import pytest

from volano.contacts.services import custom_field_create
from volano.demo.sales import MODELS, RULES
from volano.lifecycle.models import ThresholdRule
from volano.lifecycle.services import threshold_rule_save
from volano.scoring.models import ScoreModel
from volano.scoring.services import score_model_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there

BUYERS = {
    "slug": "ricambi",
    "name": "Ricambi",
    "rules": [
        {
            "kind": "fit",
            "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
            "points": 20,
        }
    ],
}


@pytest.fixture
def ricambi(officina):
    return score_model_save(workspace=officina, actor=None, data=BUYERS)


def _kinds_offered(row) -> list[str]:
    return row.locator("[data-role=kind] option").evaluate_all("os => os.map(o => o.value)")


def test_build_an_engagement_rule_save_and_read_it_back(page, live_server, officina, ricambi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/models/ricambi/")
    expect(page.get_by_test_id("would-move")).to_contain_text("With this threshold")
    # a fit rule's builder offers no membership: a scoring rule cannot name lists or segments
    first = page.locator("[data-rule]").nth(0)
    assert "member" not in _kinds_offered(first.locator(".cond-row").first)

    # from the keyboard: a pointer click can land on the sticky top bar when the button has just
    # been scrolled to the top edge of the window
    page.get_by_role("button", name="Add a rule").focus()
    page.keyboard.press("Enter")
    rule = page.locator("[data-rule]").nth(1)
    rule.get_by_label("Kind").select_option("engagement")
    builder = rule.locator("[data-when-builder]")
    # one event condition: no type to pick, no count, no totals
    expect(builder.locator("[data-role=kind]")).to_have_count(0)
    expect(builder.locator("[data-role=count]")).to_have_count(0)
    builder.get_by_label("What").select_option("page_view")
    builder.get_by_role("button", name="+ Filter on a detail").click()
    builder.locator("[data-role=prop_value]").fill("/prezzi")
    rule.get_by_label("Points").fill("10")
    rule.get_by_label("At most (times)").fill("3")
    rule.get_by_label("Half-life (days)").fill("30")
    expect(rule.locator(".rule-note")).to_contain_text(
        re.compile("visited a page containing /prezzi", re.I)
    )
    expect(page.get_by_test_id("would-move")).to_contain_text("With this threshold")

    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".messages, [role=status], .alert").first).to_contain_text("saved")
    expected = {
        "kind": "engagement",
        "when": {"event": "page_view", "where": {"url": {"contains": "/prezzi"}}},
        "points": 10,
        "max_times": 3,
        "half_life_days": 30,
    }
    saved = ScoreModel.objects.for_workspace(officina).get(slug="ricambi")
    assert saved.rules[1] == expected

    page.reload()
    rule = page.locator("[data-rule]").nth(1)
    expect(rule.get_by_label("Kind")).to_have_value("engagement")
    expect(rule.get_by_label("Points")).to_have_value("10")
    expect(rule.get_by_label("At most (times)")).to_have_value("3")
    expect(rule.get_by_label("Half-life (days)")).to_have_value("30")
    builder = rule.locator("[data-when-builder]")
    expect(builder.get_by_label("What")).to_have_value("page_view")
    expect(builder.locator("[data-role=prop]")).to_have_value("url")
    # the marketer reads the detail's label, not its key
    expect(builder.locator("[data-role=prop] option:checked")).to_have_text("Page address")
    expect(builder.locator("[data-role=prop_op]")).to_have_value("contains")
    expect(builder.locator("[data-role=prop_value]")).to_have_value("/prezzi")
    expect(rule.locator(".rule-note")).to_contain_text(
        re.compile("visited a page containing /prezzi", re.I)
    )
    model_json = json.loads(page.locator("textarea[name=model_json]").input_value())
    assert model_json["rules"] == saved.rules


def test_build_a_threshold_rule_save_and_read_it_back(page, live_server, officina, ricambi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/rules/new/")
    builder = page.locator("[data-condition-builder]")
    score = builder.locator(".cond-row").nth(0)
    # a threshold rule cannot name lists or segments: the builder does not offer them
    assert "member" not in _kinds_offered(score)
    expect(score.get_by_label("Field")).to_have_value("score.ricambi")
    expect(score.get_by_label("Operator")).to_have_value("gte")
    score.get_by_label("Value").fill("50")

    builder.get_by_role("button", name="+ Add a condition").click()
    stage = builder.locator(".cond-row").nth(1)
    stage.get_by_label("Field").select_option("lifecycle_stage")
    stage.get_by_label("Operator").select_option("eq")
    stage.get_by_label("Value").select_option("lead")
    page.get_by_label("Name").fill("Ricambi ≥ 50 → MQL")
    page.get_by_label("Recycled (back to nurturing)").uncheck()
    expect(page.locator("#rule-preview")).to_contain_text("at least 50")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "threshold-rule.png"), full_page=True)

    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("h1")).to_contain_text("Lead scoring")
    rule = ThresholdRule.objects.for_workspace(officina).get(name="Ricambi ≥ 50 → MQL")
    assert rule.condition == {
        "all": [
            {"field": "score.ricambi", "op": "gte", "value": 50},
            {"field": "lifecycle_stage", "op": "eq", "value": "lead"},
        ]
    }
    assert rule.from_stages == ["lead"] and rule.to_stage == "mql"

    page.goto(f"{live_server.url}/scoring/rules/{rule.pk}/")
    rows = page.locator("[data-condition-builder] .cond-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_label("Field")).to_have_value("score.ricambi")
    expect(rows.nth(0).get_by_label("Operator")).to_have_value("gte")
    expect(rows.nth(0).get_by_label("Value")).to_have_value("50")
    expect(rows.nth(1).get_by_label("Field")).to_have_value("lifecycle_stage")
    expect(rows.nth(1).get_by_label("Operator")).to_have_value("eq")
    expect(rows.nth(1).get_by_label("Value")).to_have_value("lead")
    expect(page.get_by_label("To stage")).to_have_value("mql")
    assert json.loads(page.locator("textarea[name=condition]").input_value()) == rule.condition


def test_the_json_view_and_the_builder_stay_in_step(page, live_server, officina, ricambi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/rules/new/")
    page.get_by_text("Edit as JSON").click()
    box = page.locator("textarea[name=condition]")
    box.fill('{"field": "lifecycle_stage", "op": "eq"')
    expect(page.locator("[data-json-note-for]")).to_contain_text("Not valid JSON yet")
    box.fill('{"field": "lifecycle_stage", "op": "eq", "value": "mql"}')
    row = page.locator("[data-condition-builder] .cond-row")
    expect(row).to_have_count(1)
    expect(row.get_by_label("Field")).to_have_value("lifecycle_stage")
    expect(row.get_by_label("Value")).to_have_value("mql")
    expect(page.locator("[data-json-note-for]")).to_have_text("")
    # and back: the builder writes the JSON box
    row.get_by_label("Value").select_option("lead")
    assert json.loads(box.input_value()) == {
        "field": "lifecycle_stage",
        "op": "eq",
        "value": "lead",
    }


def test_a_refused_reference_stays_an_advanced_row_with_its_error(
    page, live_server, officina, ricambi
):
    """A condition the context refuses (a list, typed in the JSON view) is not drawn as
    something the builder offers: it stays as written, and the preview says why at its row."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/rules/new/")
    page.get_by_text("Edit as JSON").click()
    page.locator("textarea[name=condition]").fill('{"list": "fiera-2026"}')
    row = page.locator("[data-condition-builder] .cond-row")
    expect(row).to_have_attribute("data-kind", "raw")
    expect(row.locator("[data-role=error]")).to_contain_text("cannot use a list")


def test_the_demo_rules_load_into_the_builder_and_read_back_unchanged(page, live_server, officina):
    from playwright.sync_api import expect

    custom_field_create(
        workspace=officina,
        key="interesse",
        label="Interesse",
        type="choice",
        choices=["macchine", "ricambi", "assistenza"],
    )
    for model in MODELS:
        score_model_save(workspace=officina, actor=None, data=model)
    for rule in RULES:
        threshold_rule_save(workspace=officina, actor=None, data=rule)
    for model in ScoreModel.objects.for_workspace(officina).filter(kind="rules"):
        page.goto(f"{live_server.url}/scoring/models/{model.slug}/")
        expect(page.locator("[data-rule]")).to_have_count(len(model.rules))
        expect(page.locator("[data-rule] .cond-row").first).to_be_visible()
        expect(page.locator("[data-rule] .cond-row[data-kind=raw]")).to_have_count(0)
        read_back = json.loads(page.locator("textarea[name=model_json]").input_value())
        assert read_back["rules"] == model.rules, model.slug
        expect(page.get_by_test_id("would-move")).to_be_visible()
    for rule in ThresholdRule.objects.for_workspace(officina):
        page.goto(f"{live_server.url}/scoring/rules/{rule.pk}/")
        expect(page.locator("[data-condition-builder] .cond-row").first).to_be_visible()
        expect(page.locator("[data-condition-builder] .cond-row[data-kind=raw]")).to_have_count(0)
        read_back = json.loads(page.locator("textarea[name=condition]").input_value())
        assert read_back == rule.condition, rule.name
        expect(page.get_by_test_id("rule-count")).to_be_visible()


def test_a_rule_error_is_shown_at_its_row_in_the_builder(page, live_server, officina, ricambi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/models/ricambi/")
    rule = page.locator("[data-rule]").nth(0)
    row = rule.locator("[data-when-builder] .cond-row")
    row.get_by_label("Value").fill("")
    expect(rule.locator(".rule-errors")).to_be_visible()
    expect(row.locator("[data-role=error]")).not_to_be_empty()
    row.get_by_label("Value").fill("acquisti")
    expect(row.locator("[data-role=error]")).to_be_empty()
    expect(rule.locator(".rule-note")).to_contain_text("Job title contains acquisti")


def test_the_model_json_view_redraws_the_rule_builders(page, live_server, officina, ricambi):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/scoring/models/ricambi/")
    page.get_by_text("Edit as JSON").click()
    box = page.locator("textarea[name=model_json]")
    model = json.loads(box.input_value())
    model["rules"][0]["when"] = {"field": "lifecycle_stage", "op": "eq", "value": "lead"}
    model["rules"].append(
        {"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30}
    )
    box.fill(json.dumps(model))
    rules = page.locator("[data-rule]")
    expect(rules).to_have_count(2)
    first = rules.nth(0).locator("[data-when-builder] .cond-row")
    expect(first.get_by_label("Field")).to_have_value("lifecycle_stage")
    expect(first.get_by_label("Value")).to_have_value("lead")
    expect(rules.nth(1).locator("[data-when-builder]").get_by_label("What")).to_have_value(
        "webinar_attended"
    )
    expect(rules.nth(1).locator(".rule-note")).to_contain_text(
        re.compile("attended a webinar", re.I)
    )
