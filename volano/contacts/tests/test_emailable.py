"""The one definition of "emailable": `Contact.objects.for_workspace(ws).emailable()`."""

from __future__ import annotations

import pytest

from volano.contacts import selectors, services
from volano.contacts.models import ConsentStatus, Contact, Purpose
from volano.core.tenancy import WorkspaceScopeError


def contact_with(workspace, email, status=None, purpose=Purpose.EMAIL_MARKETING):
    contact = services.contact_create(
        workspace=workspace, actor=None, data={"email": email, "first_name": "X"}
    )
    if status is not None:
        services.consent_set(
            workspace=workspace,
            actor=None,
            contact=contact,
            purpose=purpose,
            status=status,
            source="test",
        )
    return contact


def test_only_a_granted_email_marketing_consent_with_an_email_is_emailable(officina, ferramenta):
    granted = contact_with(officina, "granted@example.it", ConsentStatus.GRANTED)
    contact_with(officina, "revoked@example.it", ConsentStatus.REVOKED)
    contact_with(officina, "pending@example.it", ConsentStatus.PENDING)
    contact_with(officina, "denied@example.it", ConsentStatus.DENIED)
    contact_with(officina, "none@example.it")
    contact_with(officina, "profiling@example.it", ConsentStatus.GRANTED, Purpose.PROFILING)
    no_email = contact_with(officina, "", None)
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=no_email,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.GRANTED,
        source="test",
    )
    # another workspace's emailable contact is not this one's
    contact_with(ferramenta, "granted@example.it", ConsentStatus.GRANTED)

    emailable = Contact.objects.for_workspace(officina).emailable()
    assert list(emailable.values_list("pk", flat=True)) == [granted.pk]
    assert selectors.contact_is_emailable(workspace=officina, contact=granted)
    assert not selectors.contact_is_emailable(workspace=officina, contact=no_email)


def test_unsubscribing_makes_a_contact_not_emailable(officina):
    contact = contact_with(officina, "mario@example.it", ConsentStatus.GRANTED)
    assert Contact.objects.for_workspace(officina).emailable().filter(pk=contact.pk).exists()
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.REVOKED,
        source="unsubscribe",
    )
    assert not Contact.objects.for_workspace(officina).emailable().exists()


def test_the_verb_needs_a_workspace(officina):
    with pytest.raises(WorkspaceScopeError):
        Contact.objects.emailable()
