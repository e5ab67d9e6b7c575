import pytest

from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core.tenancy import WorkspaceScopeError
from volano.events.models import Event


def test_a_query_without_a_workspace_fails_instead_of_leaking(officina):
    with pytest.raises(WorkspaceScopeError):
        list(Contact.objects.filter(email="x@y.it"))
    with pytest.raises(WorkspaceScopeError):
        Event.objects.count()


def test_for_workspace_only_sees_its_own_rows(officina, ferramenta):
    contact_create(workspace=officina, actor=None, data={"email": "anna@cliente.it"})
    contact_create(workspace=ferramenta, actor=None, data={"email": "anna@cliente.it"})
    ours = Contact.objects.for_workspace(officina)
    assert ours.count() == 1
    assert {c.workspace_id for c in ours} == {officina.pk}


def test_related_managers_work_from_a_scoped_row(officina):
    contact = contact_create(workspace=officina, actor=None, data={"email": "anna@cliente.it"})
    assert list(contact.events.all()) == []
