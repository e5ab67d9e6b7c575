"""Services fail closed: an object of another workspace is as absent as a missing one.

The probe from issue 11: `consent_set(workspace=officina, contact=<a contact of ferramenta>)`
used to write a Consent row of Officina for Ferramenta's contact. Every service that takes a
model instance now checks it first (`ensure_in_workspace`) and writes nothing."""

from __future__ import annotations

import pytest

from volano.contacts import selectors as contact_selectors
from volano.contacts import services as contact_services
from volano.contacts.models import Company, Consent, Contact
from volano.core.errors import NotFound
from volano.events.models import Event
from volano.lifecycle.models import ThresholdRule
from volano.lifecycle.services import stages_move, threshold_rule_save
from volano.scoring.models import ModelKind, ScoreModel
from volano.scoring.services import score_model_recompute, scores_compute
from volano.segments.models import ContactList
from volano.segments.services import list_add_emails, list_create


@pytest.fixture
def theirs(ferramenta, bruno):
    """Objects of Ferramenta, handed (by mistake) to services running for Officina."""
    contact = contact_services.contact_create(
        workspace=ferramenta, actor=bruno, data={"email": "luca@ferramentabianchi.it"}
    )
    company = contact_services.company_create(
        workspace=ferramenta, actor=bruno, data={"name": "Bianchi S.n.c."}
    )
    rule = ThresholdRule.objects.create(
        workspace=ferramenta,
        name="Bianchi",
        from_stages=["lead"],
        to_stage="mql",
        condition={"field": "email", "op": "is_set"},
    )
    model = ScoreModel.objects.create(
        workspace=ferramenta, slug="bianchi", name="Bianchi", kind=ModelKind.RULES, rules=[]
    )
    contact_list = list_create(workspace=ferramenta, actor=bruno, slug="vip", name="VIP")
    return {
        "contact": contact,
        "company": company,
        "rule": rule,
        "model": model,
        "list": contact_list,
    }


CALLS = {
    "consent_set": lambda ws, o: contact_services.consent_set(
        workspace=ws,
        actor=None,
        contact=o["contact"],
        purpose="marketing_email",
        status="granted",
        source="probe",
    ),
    "consent_request": lambda ws, o: contact_services.consent_request(
        workspace=ws,
        contact=o["contact"],
        purpose="marketing_email",
        source="probe",
        ip=None,
        form="probe",
        proof="",
    ),
    "contact_update": lambda ws, o: contact_services.contact_update(
        workspace=ws, actor=None, contact=o["contact"], data={"first_name": "Preso"}
    ),
    "company_update": lambda ws, o: contact_services.company_update(
        workspace=ws, actor=None, company=o["company"], data={"name": "Preso"}
    ),
    "threshold_rule_save": lambda ws, o: threshold_rule_save(
        workspace=ws,
        actor=None,
        rule=o["rule"],
        data={
            "name": "Preso",
            "from_stages": ["lead"],
            "to_stage": "sql",
            "condition": {"field": "email", "op": "is_set"},
        },
    ),
    "stages_move": lambda ws, o: stages_move(
        workspace=ws,
        contacts=Contact.objects.for_workspace(ws),
        to_stage="mql",
        source="probe",
        rule=o["rule"],
    ),
    "scores_compute": lambda ws, o: scores_compute(workspace=ws, model=o["model"]),
    "score_model_recompute": lambda ws, o: score_model_recompute(workspace=ws, model=o["model"]),
    "list_add_emails": lambda ws, o: list_add_emails(
        workspace=ws, contact_list=o["list"], emails=["luca@ferramentabianchi.it"]
    ),
}


def _snapshot() -> tuple:
    return (
        Consent.all_workspaces.count(),
        Event.all_workspaces.count(),
        list(Contact.all_workspaces.values_list("pk", "first_name", "workspace_id")),
        list(Company.all_workspaces.values_list("pk", "name")),
        list(ThresholdRule.all_workspaces.values_list("pk", "name", "to_stage")),
        list(ContactList.all_workspaces.values_list("pk", "workspace_id")),
    )


@pytest.mark.parametrize("service", list(CALLS), ids=list(CALLS))
def test_a_service_given_another_workspaces_object_raises_and_writes_nothing(
    officina, ferramenta, theirs, service
):
    before = _snapshot()
    with pytest.raises(NotFound):
        CALLS[service](officina, theirs)
    assert _snapshot() == before


def test_the_consent_probe_writes_no_consent_for_the_other_workspace(officina, theirs):
    with pytest.raises(NotFound):
        CALLS["consent_set"](officina, theirs)
    assert not Consent.objects.for_workspace(officina).exists()
    assert not Consent.all_workspaces.filter(contact=theirs["contact"]).exists()


def test_access_contact_fetches_and_checks_in_one_call(officina, ferramenta, theirs):
    contact = theirs["contact"]
    assert contact_selectors.access_contact(workspace=ferramenta, contact_id=contact.pk) == contact
    for bad in (contact.pk, 999_999, "x", None):
        with pytest.raises(NotFound):
            contact_selectors.access_contact(workspace=officina, contact_id=bad)
    with pytest.raises(NotFound):
        contact_selectors.access_company(workspace=officina, company_id=theirs["company"].pk)
