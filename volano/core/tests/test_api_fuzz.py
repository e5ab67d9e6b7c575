"""Schemathesis over the whole OpenAPI surface, in-process, with Giulia's bearer token.

Every operation gets valid and invalid requests generated from the schema (a bounded number of
each, so the run stays short on SQLite and PostgreSQL); none may answer a server error, every
answer must have a status the schema lists and a body that matches the schema. Path ids are
drawn now and then from the seeded rows, so routes also find something.

`VOLANO_FUZZ_EXAMPLES` raises the number of examples per operation and mode for a longer hunt,
with fresh random examples each time (the suite's own run is derandomized, so it is repeatable).
"""

from __future__ import annotations

import contextlib
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi._hypothesis import can_negate_headers, can_negate_path_parameters
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from volano.contacts import services as contact_services
from volano.deals import services as deal_services
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("VOLANO_FUZZ_EXAMPLES", "5"))
# The suite's run is the same every time (a failure reproduces); a longer hunt explores afresh.
HUNT = "VOLANO_FUZZ_EXAMPLES" in os.environ
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(officina, giulia):
    """Something for the routes to find: a company, a contact in it, a segment, a list, a deal,
    a published workflow."""
    company = contact_services.company_create(
        workspace=officina, actor=giulia, data={"name": "Tornerie Lombarde"}
    )
    contact = contact_services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "anna.bianchi@example.it", "first_name": "Anna", "company_id": company.pk},
    )
    segment = segment_services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardia",
        name="Lombardia",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )
    segment_services.list_from_segment(
        workspace=officina, actor=giulia, segment=segment, slug="lombardia", name="Lombardia"
    )
    deal = deal_services.deal_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Tornio CNC", "contact_id": contact.pk, "amount": 1000},
    )
    from volano.workflows import services as workflow_services

    workflow = workflow_services.workflow_create(
        workspace=officina,
        actor=giulia,
        definition={
            "name": "Benvenuto",
            "trigger": {"kind": "manual"},
            "steps": [{"key": "attesa", "kind": "wait", "days": 1}],
        },
    )
    workflow_services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    return {
        "contact_id": contact.pk,
        "company_id": company.pk,
        "deal_id": deal.pk,
        "workflow_id": workflow.pk,
        "slug": "lombardia",  # the segment's and the list's
    }


def test_fuzzed_requests_get_no_server_error_and_answers_match_the_schema(giulia_token, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {giulia_token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not an empty schema
    invalid = [operation for operation in operations if can_be_invalid(operation, headers)]
    assert len(invalid) > len(operations) / 2  # most operations get invalid requests too
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, headers, seeded, failures)
    for operation in invalid:
        fuzz(operation, GenerationMode.NEGATIVE, headers, seeded, failures)
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n{len(failures)} failures"


def can_be_invalid(operation, headers: dict) -> bool:
    """Whether schemathesis can build an invalid request for the operation, by the rules its
    negative mode follows (`_draw_negated_locations`; the token is given, so not negated): an
    operation whose only parameters are strings in the path has none, and Hypothesis took 0.6-1 s
    of rejected tries for each of them (37 of 188) before saying Unsatisfiable."""
    given = {name.lower() for name in headers}
    for location in (
        ParameterLocation.PATH,
        ParameterLocation.HEADER,
        ParameterLocation.COOKIE,
        ParameterLocation.QUERY,
    ):
        names = set(operation.get_parameter_set(location).schema["properties"])
        if location == ParameterLocation.HEADER:
            names = {name.lower() for name in names} - given
        if not names:
            continue
        if location == ParameterLocation.PATH and not can_negate_path_parameters(operation):
            continue
        if location.is_in_header and not can_negate_headers(operation, location):
            continue
        return True
    return bool(operation.body) and any(item.is_negatable for item in operation.body.items)


def fuzz(operation, mode, headers: dict, seeded: dict, failures: list[str]) -> None:
    """Up to EXAMPLES requests to one operation; a failed check is collected, not raised, so
    one run reports every operation that fails."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not HUNT,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers), seed=st.booleans())
    def exercise(case, seed):
        if seed and case.path_parameters:
            for name in case.path_parameters:
                if name in seeded:
                    case.path_parameters[name] = seeded[name]
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, FailureGroup) as error:
            failures.append(f"{operation.label} ({mode.value}): {error}")

    # Unsatisfiable: no invalid request can be built for this operation (nothing to get wrong).
    with contextlib.suppress(Unsatisfiable):
        exercise()
