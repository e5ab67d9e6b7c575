"""Rule scoring: the documented arithmetic, exact, set-based, on SQLite and PostgreSQL."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from volano.contacts.models import Contact
from volano.contacts.services import consent_set, contact_create
from volano.core.errors import ValidationFailed
from volano.events.models import Event
from volano.events.services import event_append
from volano.scoring.models import Score
from volano.scoring.services import (
    TEMP_TABLE,
    score_model_save,
    scores_compute,
    scores_refresh_contacts,
)

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
RICAMBI = {
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
        {
            "kind": "negative",
            "when": {"field": "consent.email_marketing", "op": "eq", "value": "revoked"},
            "points": -50,
        },
    ],
}


def webinar(workspace, contact, days_ago):
    event_append(
        workspace=workspace,
        type="webinar_attended",
        contact_id=contact.pk,
        occurred_at=NOW - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def people(officina, giulia):
    anna = contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "anna@agri.it", "job_title": "Responsabile Acquisti"},
    )
    luca = contact_create(workspace=officina, actor=giulia, data={"email": "luca@agri.it"})
    nobody = contact_create(workspace=officina, actor=giulia, data={"email": "zero@agri.it"})
    for days in (10, 60, 200):
        webinar(officina, anna, days)
    consent_set(
        workspace=officina,
        actor=None,
        contact=luca,
        purpose="email_marketing",
        status="revoked",
        source="test",
    )
    return anna, luca, nobody


def points(model, contact):
    row = Score.objects.for_workspace(model.workspace_id).filter(model=model, contact=contact)
    return row.values_list("points", flat=True).first() or 0.0


def test_the_documented_arithmetic_exactly(officina, giulia, people):
    anna, luca, nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    result = scores_compute(workspace=officina, model=model, now=NOW)
    newest_two = 30 * 0.5 ** (10 / 60) + 30 * 0.5 ** (60 / 60)  # the 200-day one is beyond max
    assert newest_two == pytest.approx(41.727, abs=1e-3)
    # each rule's points are kept to the hundredth
    assert points(model, anna) == pytest.approx(15 + round(newest_two, 2), abs=1e-9)
    assert points(model, luca) == pytest.approx(-50)
    assert points(model, nobody) == 0.0
    assert result.scored == 2
    parts = Score.objects.for_workspace(officina).get(model=model, contact=anna).parts
    assert parts == pytest.approx([15, 41.73, 0], abs=1e-9)


def test_score_changes_are_timeline_events_once(officina, giulia, people):
    anna, _luca, _nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    scores_compute(workspace=officina, model=model, now=NOW)  # nothing moved: no new event
    changes = Event.objects.for_workspace(officina).filter(type="score_changed")
    assert changes.count() == 2
    event = changes.get(contact=anna)
    assert event.properties["model"] == "ricambi"
    assert (event.properties["from"], event.properties["to"]) == (0, 57)


def test_a_new_models_first_computation_matches_a_recompute(officina, giulia, people):
    # the first computation writes without reading old scores (there are none of this model);
    # another model's scores stay, and a later recompute over the same data moves nothing
    first = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=first, now=NOW)
    second = score_model_save(
        workspace=officina, actor=giulia, data={**RICAMBI, "slug": "bis", "name": "Bis"}
    )
    with CaptureQueriesContext(connection) as statements:
        result = scores_compute(workspace=officina, model=second, now=NOW)
    assert (result.scored, result.changed) == (2, 2)
    # its plan cannot depend on the scores table's statistics (a new install's say "empty"):
    # no statement reads that table beside the new scores, no join, no anti-join
    beside = [
        q["sql"]
        for q in statements.captured_queries
        if TEMP_TABLE in q["sql"] and re.search(r'\b(FROM|JOIN)\s+"?scoring_score\b', q["sql"])
    ]
    assert any(TEMP_TABLE in q["sql"] for q in statements.captured_queries)
    assert beside == []
    mine = Score.objects.for_workspace(officina).filter(model=second)
    theirs = Score.objects.for_workspace(officina).filter(model=first)
    assert sorted(mine.values_list("contact_id", "points", "parts")) == sorted(
        theirs.values_list("contact_id", "points", "parts")
    )
    moved = Event.objects.for_workspace(officina).filter(
        type="score_changed", properties__model="bis"
    )
    assert sorted((e.properties["from"], e.properties["to"]) for e in moved) == [(0, -50), (0, 57)]
    again = scores_compute(workspace=officina, model=second, now=NOW)
    assert (again.scored, again.changed) == (2, 0)


def test_a_full_recompute_writes_what_moved_and_gives_what_a_new_model_gives(
    officina, giulia, people
):
    # the full recompute of a model with scores (on PostgreSQL one FULL JOIN of the model's
    # SELECT with its scores): a score removed, one moved, one new, the rest untouched
    anna, luca, nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    Event.objects.for_workspace(officina).filter(contact=anna).delete()
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(job_title="")
    webinar(officina, luca, 0)  # -50 → -20
    webinar(officina, nobody, 30)  # 0 → 30 · 0.5^0.5 = 21.21
    kept = contact_create(
        workspace=officina, actor=giulia, data={"email": "kept@agri.it", "job_title": "acquisti"}
    )
    scores_compute(workspace=officina, model=model, now=NOW)
    kept_at = Score.objects.for_workspace(officina).get(model=model, contact=kept).updated_at
    result = scores_compute(workspace=officina, model=model, now=NOW + dt.timedelta(days=1))
    assert (result.scored, result.changed) == (3, 0)  # a day of decay moves no rounded score
    assert Score.objects.for_workspace(officina).get(contact=kept).updated_at == kept_at
    assert points(model, anna) == 0.0
    assert not Score.objects.for_workspace(officina).filter(contact=anna).exists()
    assert points(model, luca) == pytest.approx(-20.0 - 0.0 + 30 * (0.5 ** (1 / 60) - 1), abs=0.01)
    moved = Event.objects.for_workspace(officina).filter(type="score_changed")
    assert sorted(
        (e.contact_id, e.properties["from"], e.properties["to"]) for e in moved
    ) == sorted(
        [
            (luca.pk, 0, -50),  # (anna's first one went with her events)
            (anna.pk, 57, 0),
            (luca.pk, -50, -20),
            (nobody.pk, 0, 21),
            (kept.pk, 0, 15),
        ]
    )
    fresh = score_model_save(
        workspace=officina, actor=giulia, data={**RICAMBI, "slug": "bis", "name": "Bis"}
    )
    scores_compute(workspace=officina, model=fresh, now=NOW + dt.timedelta(days=1))
    mine = Score.objects.for_workspace(officina).filter(model=model)
    theirs = Score.objects.for_workspace(officina).filter(model=fresh)
    assert sorted(mine.values_list("contact_id", "points", "parts")) == sorted(
        theirs.values_list("contact_id", "points", "parts")
    )


def test_a_new_event_updates_the_score_of_that_contact(officina, giulia, people):
    _anna, luca, _nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    webinar(officina, luca, 0)
    results = scores_refresh_contacts(
        workspace=officina, contact_ids=[luca.pk], changed=["event:webinar_attended"], now=NOW
    )
    assert results["ricambi"].changed_ids == [luca.pk]
    assert points(model, luca) == pytest.approx(-20)


def test_a_score_falling_to_nothing_is_removed(officina, giulia, people):
    anna, _luca, _nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    Event.objects.for_workspace(officina).filter(contact=anna).delete()
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(job_title="")
    scores_compute(workspace=officina, model=model, now=NOW, contact_ids=[anna.pk])
    assert not Score.objects.for_workspace(officina).filter(contact=anna).exists()
    last = Event.objects.for_workspace(officina).filter(type="score_changed", contact=anna).get()
    assert last.properties["to"] == 0


def test_scores_never_cross_workspaces(officina, ferramenta, giulia, bruno, people):
    other = contact_create(
        workspace=ferramenta, actor=bruno, data={"email": "x@y.it", "job_title": "Ufficio acquisti"}
    )
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    assert not Score.all_workspaces.filter(contact=other).exists()
    assert Score.all_workspaces.exclude(workspace=officina).count() == 0


def test_no_decay_without_half_life_and_no_cap_without_max_times(officina, giulia, people):
    anna, _luca, _nobody = people
    data = {
        "slug": "webinar",
        "name": "Webinar",
        "rules": [{"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 5}],
    }
    model = score_model_save(workspace=officina, actor=giulia, data=data)
    scores_compute(workspace=officina, model=model, now=NOW)
    assert points(model, anna) == pytest.approx(15)


def test_invalid_models_name_every_problem(officina, giulia):
    bad = {
        "slug": "Ricambi!",
        "name": "",
        "rules": [
            {"kind": "fit", "when": {"field": "citta", "op": "eq", "value": "x"}, "points": 5},
            {
                "kind": "engagement",
                "when": {"field": "city", "op": "eq", "value": "x"},
                "points": 5,
            },
            {"kind": "negative", "when": {"event": "email_bounced"}, "points": 10},
            {"kind": "engagement", "when": {"event": "page_view"}, "points": 1, "max_times": 0},
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        score_model_save(workspace=officina, actor=giulia, data=bad)
    fields = {e["field"]: e["message"] for e in caught.value.extra["errors"]}
    assert "slug" in fields and "name" in fields
    assert "unknown field 'citta'" in fields["rules[0].when.field"]
    assert "engagement rule counts one kind of event" in fields["rules[1].when"]
    assert "below 0" in fields["rules[2].points"]
    assert "≥ 1" in fields["rules[3].max_times"]
    from volano.scoring.models import ScoreModel

    assert not ScoreModel.objects.for_workspace(officina).exists()


def test_thresholds_can_read_scores(officina, giulia, people):
    from volano.lifecycle.services import threshold_rule_save, thresholds_apply

    anna, luca, _nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Punteggio ricambi ≥ 50",
            "from_stages": ["lead", "recycled"],
            "to_stage": "mql",
            "condition": {"field": "score.ricambi", "op": "gte", "value": 50},
        },
    )
    assert thresholds_apply(workspace=officina, now=timezone.now()) == {"Punteggio ricambi ≥ 50": 1}
    anna.refresh_from_db()
    luca.refresh_from_db()
    assert (anna.lifecycle_stage, luca.lifecycle_stage) == ("mql", "lead")
    change = anna.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.source) == ("lead", "mql", "rule")


def test_a_score_condition_counts_a_contact_without_a_score_as_zero(officina, giulia, people):
    from volano.conditions.parse import condition_parse
    from volano.conditions.selectors import contacts_matching

    anna, luca, nobody = people
    model = score_model_save(workspace=officina, actor=giulia, data=RICAMBI)
    scores_compute(workspace=officina, model=model, now=NOW)

    def matching(op, value):
        condition = condition_parse(
            {"field": "score.ricambi", "op": op, "value": value}, workspace=officina
        )
        found = contacts_matching(workspace=officina, condition=condition, now=NOW)
        return set(found.values_list("email", flat=True))

    assert matching("lt", 10) == {luca.email, nobody.email}
    assert matching("gte", 50) == {anna.email}
    assert matching("between", [-60, 0]) == {luca.email, nobody.email}


def test_one_contacts_update_reads_no_table_whole_on_sqlite(officina, giulia, people):
    """After an event, the demo's 13-rule model is computed for that contact alone: on SQLite
    every rule probes the contact's own rows through an index (correlated EXISTS, searches by
    contact_id). No table is scanned whole and no `IN (subquery)` list is built, each of which
    cost 30–60 ms a rule at 1M contacts (docs/benchmarks.md, issue 13)."""
    from django.db import connection

    from volano.demo.load import demo_custom_fields_create
    from volano.demo.sales import MODELS
    from volano.scoring.services import model_definition
    from volano.scoring.sql import scores_select

    if connection.vendor != "sqlite":
        pytest.skip("the few-contact form is SQLite's (PostgreSQL joins the ids instead)")
    anna, _luca, _nobody = people
    demo_custom_fields_create(workspace=officina)
    model = score_model_save(
        workspace=officina, actor=giulia, data={**MODELS[0], "product_line": ""}
    )
    kinds = {rule["kind"] for rule in MODELS[0]["rules"]}
    assert kinds == {"fit", "engagement", "negative"}
    sql, params = scores_select(officina, model_definition(model), [anna.pk], NOW)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[-1] for row in cursor.fetchall()]
    tables = set(connection.introspection.table_names())
    whole = [step for step in plan if step.startswith("SCAN ") and step.split()[1] in tables]
    lists = [step for step in plan if "LIST SUBQUERY" in step]
    assert not whole and not lists, "\n".join(plan)
    assert any("USING INDEX event_contact_time" in step for step in plan)
