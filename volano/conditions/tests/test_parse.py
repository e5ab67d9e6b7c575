"""Bad definitions get an error that names the node; list and segment references resolve
through a resolver, and a cycle of segments is named."""

from __future__ import annotations

import pytest

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import condition_count
from volano.conditions.tests.data import ISSUE_EXAMPLE, SegmentsInMemory
from volano.conditions.types import ConditionError, EventCondition, FieldCondition
from volano.contacts.models import Contact
from volano.contacts.services import custom_field_create

BAD = [
    (
        [
            {"event": "page_view"},
            {"event": "page_view"},
            {"event": "page_view", "count": {"gte": "3"}},
        ],
        "conditions[2].count.gte",
        "expected a number",
    ),
    (
        {
            "all": [
                {"field": "city", "op": "eq", "value": "x"},
                {"field": "citta", "op": "eq", "value": "x"},
            ]
        },
        "conditions.all[1].field",
        "unknown field 'citta'",
    ),
    ({"all": []}, "conditions.all", "empty group"),
    ({"any": [{"not": {"all": []}}]}, "conditions.any[0].not.all", "empty group"),
    (
        {"field": "province", "op": "in", "value": [f"P{i}" for i in range(1001)]},
        "conditions.value",
        "at most 1,000",
    ),
    ({"event": "page_visit"}, "conditions.event", "unknown event type 'page_visit'"),
    ({"field": "city", "op": "gt", "value": "M"}, "conditions.op", "does not apply to city (text)"),
    (
        {"field": "custom.fatturato", "op": "gte", "value": "tanto"},
        "conditions.value",
        "expected a number",
    ),
    (
        {"field": "custom.interesse", "op": "eq", "value": "pizza"},
        "conditions.value",
        "is not one of",
    ),
    ({"field": "custom.nope", "op": "is_set"}, "conditions.field", "unknown custom field"),
    (
        {"field": "custom.dipendenti", "op": "gte", "value": 1},
        "conditions.field",
        "company.custom.dipendenti",
    ),
    ({"field": "created_at", "op": "gt", "value": "ieri"}, "conditions.value", "expected a date"),
    (
        {"field": "created_at", "op": "older_than_days", "value": -1},
        "conditions.value",
        "whole number",
    ),
    (
        {"field": "consent.email_marketing", "op": "eq", "value": "yes"},
        "conditions.value",
        "granted",
    ),
    (
        {"field": "consent.newsletter", "op": "eq", "value": "granted"},
        "conditions.field",
        "unknown field",
    ),
    ({"field": "owner", "op": "eq", "value": "marco"}, "conditions.value", "email or id"),
    ({"field": "tags", "op": "contains", "value": ""}, "conditions.value", "some text"),
    ({"field": "city", "op": "is_set", "value": "x"}, "conditions.value", "takes no value"),
    ({"field": "city", "op": "between", "value": ["a"]}, "conditions.op", "does not apply"),
    (
        {"field": "custom.fatturato", "op": "between", "value": [5, 1]},
        "conditions.value",
        "after the second",
    ),
    (
        {"event": "page_view", "where": {"url": {"like": "/x"}}},
        "conditions.where.url.like",
        "unknown operator",
    ),
    (
        {"event": "page_view", "where": {"dwell_seconds": {"gte": "10"}}},
        "conditions.where.dwell_seconds.gte",
        "expected a number",
    ),
    (
        {"event": "order", "where": {"total": [1, 2]}},
        "conditions.where.total",
        "expected text, a number",
    ),
    ({"event": "order", "within_days": 0}, "conditions.within_days", "≥ 1"),
    (
        {"event": "order", "within_days": 3, "between": ["2025-01-01", "2025-02-01"]},
        "conditions.between",
        "either",
    ),
    (
        {"event": "order", "sum": {"property": "total", "gte": "5k"}},
        "conditions.sum.gte",
        "expected a number",
    ),
    ({"event": "order", "last": {"older_than": 90}}, "conditions.last.older_than", "unknown key"),
    ({"event": "order", "count": {"at_least": 2}}, "conditions.count.at_least", "unknown bound"),
    ({"event": "order", "colour": "red"}, "conditions.colour", "unknown key"),
    ({"list": ""}, "conditions.list", "slug"),
    ({"nothing": 1}, "conditions", "expected one of"),
    ("page_view", "conditions", "expected a condition object"),
]


@pytest.fixture
def fields(officina):
    custom_field_create(workspace=officina, key="fatturato", label="Fatturato annuo", type="money")
    custom_field_create(
        workspace=officina, key="interesse", label="Interesse", type="choice", choices=["ricambi"]
    )
    custom_field_create(
        workspace=officina, key="dipendenti", label="Dipendenti", type="number", entity="company"
    )
    return officina


@pytest.mark.parametrize(("definition", "path", "message"), BAD)
def test_a_bad_definition_names_the_node(fields, definition, path, message):
    with pytest.raises(ConditionError) as caught:
        condition_parse(definition, workspace=fields)
    assert caught.value.field == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"
    assert caught.value.as_dict()["field"] == path


def test_the_issue_example_parses_into_typed_nodes(fields):
    custom_field_create(workspace=fields, key="x", label="x", type="text")
    condition = condition_parse(ISSUE_EXAMPLE, workspace=fields)
    assert isinstance(condition.items[1], FieldCondition)
    assert condition.items[1].field.kind == "number"
    page_views = condition.items[4]
    assert isinstance(page_views, EventCondition)
    assert (page_views.count.gte, page_views.within_days) == (3, 30)
    assert condition.items[7].where[0].property == "product_lines"
    assert condition == condition_parse(ISSUE_EXAMPLE, workspace=fields)


def test_without_a_resolver_lists_and_segments_are_refused_naming_the_node(fields):
    condition = condition_parse(ISSUE_EXAMPLE, workspace=fields)
    with pytest.raises(ConditionError) as caught:
        condition_count(workspace=fields, condition=condition)
    assert caught.value.field == "conditions.all[6].any[0]"
    assert (
        caught.value.message
        == "this condition cannot use a list: name its contacts' fields instead"
    )


def test_segments_and_lists_resolve_and_cycles_are_named(fields, ferramenta):
    for email, city in (("a@x.it", "Milano"), ("b@x.it", "Bergamo"), ("c@x.it", "Roma")):
        Contact.objects.create(workspace=fields, email=email, city=city)
    Contact.objects.create(workspace=ferramenta, email="a@x.it", city="Milano")
    resolver = SegmentsInMemory(
        fields,
        {
            "lombardi": {"field": "city", "op": "in", "value": ["milano", "bergamo"]},
            "milanesi": {
                "all": [{"segment": "lombardi"}, {"field": "city", "op": "eq", "value": "Milano"}]
            },
            "uovo": {"segment": "gallina"},
            "gallina": {"any": [{"segment": "uovo"}]},
        },
        {"fiera-2025": ["a@x.it", "c@x.it"]},
    )

    def count(definition):
        condition = condition_parse(definition, workspace=fields)
        return condition_count(workspace=fields, condition=condition, resolver=resolver)

    assert count({"segment": "milanesi"}) == 1
    assert count({"any": [{"list": "fiera-2025"}, {"segment": "lombardi"}]}) == 3
    assert count({"not": {"list": "fiera-2025"}}) == 1
    with pytest.raises(ConditionError) as caught:
        count({"all": [{"segment": "uovo"}]})
    assert caught.value.message == "segments form a cycle: uovo → gallina → uovo"
    assert caught.value.field == "conditions.any[0]"
