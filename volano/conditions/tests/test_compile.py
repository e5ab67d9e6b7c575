"""Every operator and every kind of condition, compiled to SQL and checked against the plain
Python evaluation of the same condition over the same data (see oracle.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import condition_count, contacts_matching
from volano.conditions.tests.data import ISSUE_EXAMPLE, NOW, SegmentsInMemory, workspace_fill
from volano.conditions.tests.oracle import Snapshot
from volano.contacts.models import Contact

LEAVES = [
    # contact text columns
    {"field": "city", "op": "eq", "value": "milano"},
    {"field": "city", "op": "neq", "value": " MILANO "},
    {"field": "province", "op": "in", "value": ["MI", "BG"]},
    {"field": "province", "op": "not_in", "value": ["mi", "rm"]},
    {"field": "job_title", "op": "contains", "value": "acquist"},
    {"field": "first_name", "op": "starts_with", "value": "luc"},
    {"field": "email", "op": "is_set"},
    {"field": "first_name", "op": "is_not_set"},
    {"field": "region", "op": "eq", "value": "Lombardia"},
    {"field": "postal_code", "op": "starts_with", "value": "20"},
    # timestamps
    {"field": "created_at", "op": "older_than_days", "value": 30},
    {"field": "created_at", "op": "within_last_days", "value": 90},
    {"field": "created_at", "op": "gt", "value": "2025-09-01"},
    {"field": "created_at", "op": "lte", "value": "2025-09-01"},
    {"field": "created_at", "op": "between", "value": ["2025-06-01", "2025-12-31"]},
    {"field": "updated_at", "op": "eq", "value": "2026-03-01"},
    {"field": "updated_at", "op": "neq", "value": "2026-03-01"},
    # tags and owner
    {"field": "tags", "op": "contains", "value": "fiera-eima-2025"},
    {"field": "tags", "op": "is_set"},
    {"field": "tags", "op": "is_not_set"},
    {"field": "owner", "op": "eq", "value": "giulia@officinarossi.it"},
    {"field": "owner", "op": "not_in", "value": ["marco@officinarossi.it"]},
    {"field": "owner", "op": "is_not_set"},
    # custom fields of every type
    {"field": "custom.fatturato", "op": "gte", "value": 1000000},
    {"field": "custom.fatturato", "op": "lt", "value": 1000000},
    {"field": "custom.fatturato", "op": "eq", "value": 0},
    {"field": "custom.fatturato", "op": "between", "value": [100000, 1500000.5]},
    {"field": "custom.fatturato", "op": "in", "value": [0, 250000]},
    {"field": "custom.fatturato", "op": "is_not_set"},
    {"field": "custom.fatturato", "op": "gt", "value": 250000},
    {"field": "custom.fatturato", "op": "lte", "value": 250000},
    {"field": "custom.fatturato", "op": "neq", "value": 250000},
    {"field": "custom.interesse", "op": "eq", "value": "RICAMBI"},
    {"field": "custom.interesse", "op": "not_in", "value": ["macchine"]},
    {"field": "custom.scadenza", "op": "within_last_days", "value": 30},
    {"field": "custom.scadenza", "op": "older_than_days", "value": 10},
    {"field": "custom.scadenza", "op": "gte", "value": "2026-03-15"},
    {"field": "custom.scadenza", "op": "between", "value": ["2026-01-01", "2026-04-30"]},
    {"field": "custom.scadenza", "op": "is_set"},
    {"field": "custom.newsletter", "op": "eq", "value": True},
    {"field": "custom.newsletter", "op": "neq", "value": True},
    {"field": "custom.settori", "op": "contains", "value": "Edilizia"},
    {"field": "custom.settori", "op": "is_set"},
    {"field": "custom.note", "op": "contains", "value": "storico"},
    {"field": "custom.note", "op": "is_set"},
    # company
    {"field": "company.size_band", "op": "eq", "value": "10-49"},
    {"field": "company.size_band", "op": "neq", "value": "10-49"},
    {"field": "company.name", "op": "starts_with", "value": "rossi"},
    {"field": "company.sector", "op": "is_not_set"},
    {"field": "company.custom.fatturato", "op": "gte", "value": 1000000},
    {"field": "company.custom.distributore", "op": "eq", "value": False},
    {"field": "company.region", "op": "in", "value": ["lombardia"]},
    # consent
    {"field": "consent.email_marketing", "op": "eq", "value": "granted"},
    {"field": "consent.email_marketing", "op": "eq", "value": "none"},
    {"field": "consent.profiling", "op": "in", "value": ["revoked", "none"]},
    {"field": "consent.profiling", "op": "neq", "value": "granted"},
    # behaviour
    {"event": "page_view"},
    {
        "event": "page_view",
        "where": {"url": {"contains": "/prezzi"}},
        "count": {"gte": 3},
        "within_days": 30,
    },
    {"event": "page_view", "where": {"url": "/prezzi"}},
    {
        "event": "page_view",
        "where": {"url": {"starts_with": "/blog"}, "dwell_seconds": {"gte": 60}},
    },
    {
        "event": "page_view",
        "where": {"url": {"not_in": ["/prezzi", "/contatti"]}},
        "count": {"eq": 2},
    },
    {"event": "page_view", "count": {"lte": 2}},
    {"event": "page_view", "count": {"lte": 2, "gte": 1}, "within_days": 60},
    {
        "event": "page_view",
        "where": {"dwell_seconds": {"between": [10, 30]}},
        "count": {"gt": 1, "lt": 4},
    },
    {"event": "email_clicked", "within_days": 90},
    {"event": "email_clicked", "between": ["2025-12-01", "2026-01-31"]},
    {"event": "order", "where": {"product_line": "ricambi"}, "count": {"gte": 1}},
    {"event": "order", "where": {"product_lines": {"contains": "ASSISTENZA"}}},
    {"event": "order", "where": {"product_lines": {"in": ["macchine", "nessuna"]}}},
    {"event": "order", "where": {"product_lines": {"neq": "ricambi"}}},
    {"event": "order", "where": {"paid": True}},
    {"event": "order", "where": {"total": {"gte": 5000}}},
    {"event": "order", "where": {"total": 2500.5}},
    {"event": "order", "where": {"total": {"in": [100, 7000]}}},
    {"event": "order", "sum": {"property": "total", "gte": 10000}, "within_days": 365},
    {"event": "order", "sum": {"property": "total", "lt": 5000}},
    {"event": "order", "last": {"older_than_days": 90}},
    {"event": "order", "first": {"within_days": 60}},
    {"event": "order", "first": {"after": "2025-10-01", "before": "2026-02-01"}},
    {"event": "order", "last": {"before": "2026-01-01"}, "count": {"gte": 2}},
    {"event": "survey_answered", "where": {"score": {"gte": 9}}},
    {"event": "survey_answered", "where": {"score": {"is_set": True}}},
    {"event": "survey_answered", "where": {"score": {"lt": 5}}, "count": {"eq": 0}},
    {"event": "webinar_attended", "where": {"webinar": {"eq": "manutenzione"}}},
    {"event": "webinar_attended", "where": {"missing": {"is_not_set": True}}},
    {"not": {"event": "email_clicked", "within_days": 90}},
    {"not": {"event": "order", "where": {"product_line": "assistenza"}}},
]


@pytest.fixture
def filled(officina, ferramenta, giulia, marco, bruno):
    workspace_fill(officina, seed=1, owners=[giulia, marco])
    workspace_fill(ferramenta, seed=2, owners=[bruno, giulia], contacts=30)
    return officina, ferramenta, Snapshot(officina, NOW)


def check(workspace, snapshot, definition) -> set[int]:
    condition = condition_parse(definition, workspace=workspace)
    found = set(
        contacts_matching(workspace=workspace, condition=condition, now=NOW).values_list(
            "pk", flat=True
        )
    )
    expected = snapshot.matching(condition)
    assert found == expected, f"{definition}: SQL {len(found)}, Python {len(expected)}"
    return found


def test_every_leaf_matches_the_python_evaluation(filled):
    officina, _ferramenta, snapshot = filled
    sizes = {}
    for definition in LEAVES:
        found = check(officina, snapshot, definition)
        sizes[repr(definition)] = len(found)
        negated = check(officina, snapshot, {"not": definition})
        assert len(found) + len(negated) == len(snapshot.contacts)
    # The data exercises the conditions: most leaves match some contacts but not all.
    trivial = [d for d, n in sizes.items() if n in (0, len(snapshot.contacts))]
    assert len(trivial) <= 8, trivial


def test_the_issue_example_runs_as_one_query(filled, django_assert_num_queries):
    officina, _ferramenta, snapshot = filled
    resolver = SegmentsInMemory(
        officina,
        {"clienti-attivi": {"field": "tags", "op": "contains", "value": "cliente"}},
        {"fiera-2025": [c["email"] for c in snapshot.contacts[::3]]},
    )
    snapshot.lists = {"fiera-2025": {c["id"] for c in snapshot.contacts[::3]}}
    snapshot.segments = {
        "clienti-attivi": condition_parse(
            resolver.definitions["clienti-attivi"], workspace=officina
        )
    }
    condition = condition_parse(ISSUE_EXAMPLE, workspace=officina)
    with django_assert_num_queries(1):
        count = condition_count(workspace=officina, condition=condition, now=NOW, resolver=resolver)
    assert count == len(snapshot.matching(condition))
    looser = condition_parse(ISSUE_EXAMPLE["all"][4:6], workspace=officina)
    assert condition_count(workspace=officina, condition=looser, now=NOW) > 0


def test_a_condition_never_matches_another_workspace(filled):
    officina, ferramenta, _snapshot = filled
    theirs = set(Contact.objects.for_workspace(ferramenta).values_list("pk", flat=True))
    for definition in (
        {"not": {"field": "email", "op": "eq", "value": "nobody@x.it"}},
        *LEAVES[:60:5],
    ):
        condition = condition_parse(definition, workspace=officina)
        found = set(
            contacts_matching(workspace=officina, condition=condition, now=NOW).values_list(
                "pk", flat=True
            )
        )
        assert not found & theirs
    everyone = condition_parse(
        {"not": {"event": "order", "count": {"gte": 1000}}}, workspace=officina
    )
    assert (
        condition_count(workspace=officina, condition=everyone, now=NOW)
        == Contact.objects.for_workspace(officina).count()
    )


def trees(depth: int = 3):
    leaf = st.sampled_from(LEAVES)
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda item: {"not": item}, children),
        ),
        max_leaves=6,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(definition=trees())
def test_random_condition_trees_match_the_python_evaluation(filled, definition):
    officina, _ferramenta, snapshot = filled
    check(officina, snapshot, definition)


def test_accented_capitals_compare_like_their_lower_case(officina):
    """SQLite's own lower() folds only A-Z: "FORLÌ" must still equal "forlì" on both databases."""
    from django.utils import timezone

    from volano.events.models import Event

    forli = Contact.objects.create(workspace=officina, email="a@forli.it", city="  FORLÌ ")
    Contact.objects.create(workspace=officina, email="b@forli.it", city="Forlimpopoli")
    Event.objects.create(
        workspace=officina,
        contact=forli,
        type="page_view",
        occurred_at=timezone.now(),
        properties={"url": "/OFFERTE/ATTREZZATURE-PERCHÉ"},
    )

    def matching(definition: dict) -> set[int]:
        condition = condition_parse(definition, workspace=officina)
        return set(
            contacts_matching(workspace=officina, condition=condition).values_list("pk", flat=True)
        )

    assert matching({"field": "city", "op": "eq", "value": "forlì"}) == {forli.pk}
    assert matching({"field": "city", "op": "in", "value": ["Forlì", "Cesena"]}) == {forli.pk}
    assert matching({"event": "page_view", "where": {"url": {"contains": "perché"}}}) == {forli.pk}


def test_event_facts_give_the_same_contacts_as_the_event_store(filled):
    """A refresh of many segments reads each event type once (facts.py); every event leaf, and
    its negation, must match exactly what the Python evaluation says."""
    from volano.conditions.compiler import condition_q
    from volano.conditions.facts import event_facts

    officina, _ferramenta, snapshot = filled
    definitions = [d for d in LEAVES if "event" in d or "not" in d]
    conditions = [condition_parse(d, workspace=officina) for d in definitions]
    with event_facts(workspace=officina, conditions=conditions, now=NOW) as facts:
        for definition, condition in zip(definitions, conditions, strict=True):
            node = condition.item if "not" in definition else condition
            assert node in facts.columns, definition
            for tested in (condition, condition_parse({"not": definition}, workspace=officina)):
                q = condition_q(workspace=officina, condition=tested, now=NOW, facts=facts)
                found = set(
                    Contact.objects.for_workspace(officina).filter(q).values_list("pk", flat=True)
                )
                assert found == snapshot.matching(tested), definition


def test_the_few_contacts_form_matches_the_python_evaluation(filled):
    """`few` (a handful of contacts after an event): consents, companies and plain event tests
    become correlated EXISTS; every leaf and its negation must still match exactly."""
    from volano.conditions.compiler import condition_q

    officina, _ferramenta, snapshot = filled
    some = sorted(c["id"] for c in snapshot.contacts)[:: max(1, len(snapshot.contacts) // 12)]
    for definition in LEAVES:
        for tested in (definition, {"not": definition}):
            condition = condition_parse(tested, workspace=officina)
            q = condition_q(workspace=officina, condition=condition, now=NOW, few=True)
            found = set(
                Contact.objects.for_workspace(officina)
                .filter(pk__in=some)
                .filter(q)
                .values_list("pk", flat=True)
            )
            assert found == snapshot.matching(condition) & set(some), tested


def test_within_last_days_on_a_date_field_leaves_out_dates_still_to_come(officina):
    """A contract expiring next month did not expire "in the last 30 days" (seed 004's
    cliente-perso segment took every contact with a contract, expired or not)."""
    import datetime as dt

    from django.utils import timezone

    from volano.contacts.services import custom_field_create

    custom_field_create(workspace=officina, key="scadenza", label="Scadenza", type="date")
    today = timezone.localdate()
    made = {
        name: Contact.objects.create(
            workspace=officina,
            email=f"{name}@example.it",
            custom={"scadenza": (today + dt.timedelta(days=days)).isoformat()},
        ).pk
        for name, days in (("past", -10), ("today", 0), ("future", 20), ("old", -90))
    }
    condition = condition_parse(
        {"field": "custom.scadenza", "op": "within_last_days", "value": 30}, workspace=officina
    )
    found = set(
        contacts_matching(workspace=officina, condition=condition).values_list("pk", flat=True)
    )
    assert found == {made["past"], made["today"]}
