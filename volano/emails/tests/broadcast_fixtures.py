"""The broadcast tests' story: officina's contacts in Milano and Torino, the segment "milano"
and the personalised template "novita". Test modules take them with a star import."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.emails.templating.services import template_save
from volano.segments import services as segment_services

__all__ = ["milano", "newsletter", "people"]


@pytest.fixture
def people(officina):
    """48 contacts in Milano (36 agreed to marketing email, 12 did not) and 6 in Torino who did."""
    made = {"mi_yes": [], "mi_no": [], "to_yes": []}
    for i in range(54):
        group = "mi_yes" if i < 36 else "mi_no" if i < 48 else "to_yes"
        contact = Contact.objects.create(
            workspace=officina,
            email=f"persona{i}@example.it",
            first_name=f"Persona{i}",
            province="TO" if group == "to_yes" else "MI",
        )
        if group != "mi_no":
            contact_services.consent_set(
                workspace=officina, actor=None, contact=contact, purpose="email_marketing",
                status="granted", source="test",
            )  # fmt: skip
        made[group].append(contact)
    return made


@pytest.fixture
def milano(officina, people):
    return segment_services.segment_save(
        workspace=officina,
        actor=None,
        slug="milano",
        name="Clienti di Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )


@pytest.fixture
def newsletter(officina):
    return template_save(
        workspace=officina,
        actor=None,
        slug="novita",
        name="Novità di stagione",
        subject="Novità per {{ contact.first_name|default('te') }}",
        html="<html><body><p>Ciao {{ contact.first_name }}</p>"
        '<p><a href="https://www.officinarossi.it/ricambi">Ricambi</a></p></body></html>',
    )
