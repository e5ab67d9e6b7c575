"""List writes announce ListMembershipChanged; the segments on the list follow through the real
worker (the outbox task), not through a refresh the writer calls."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core.models import ReactionOutbox
from volano.segments import services
from volano.segments.models import SegmentMembership


def members(workspace, segment):
    return set(
        SegmentMembership.objects.for_workspace(workspace)
        .filter(segment=segment, left_at__isnull=True)
        .values_list("contact__email", flat=True)
    )


def setup(workspace, actor):
    anna = contact_create(workspace=workspace, actor=actor, data={"email": "anna@agri.it"})
    bruno = contact_create(workspace=workspace, actor=actor, data={"email": "bruno@agri.it"})
    fiera = services.list_create(workspace=workspace, actor=actor, slug="fiera", name="Fiera")
    on_list = services.segment_save(
        workspace=workspace,
        actor=actor,
        slug="in-fiera",
        name="In fiera",
        definition={"list": "fiera"},
    )
    # built on the segment: follows it when its membership moves
    on_segment = services.segment_save(
        workspace=workspace,
        actor=actor,
        slug="fiera-agri",
        name="Fiera, agri",
        definition={
            "all": [{"segment": "in-fiera"}, {"field": "email", "op": "contains", "value": "agri"}]
        },
    )
    worker_run_once()  # the contacts' own facts
    return anna, bruno, fiera, on_list, on_segment


@pytest.mark.django_db(transaction=True)
def test_adding_to_a_list_puts_the_contact_in_the_segment_on_that_list(officina, giulia):
    anna, _bruno, fiera, on_list, on_segment = setup(officina, giulia)
    assert members(officina, on_list) == set()

    added = services.list_add(
        workspace=officina, contact_list=fiera, contact_ids=[anna.pk], actor=giulia
    )
    assert added == 1
    # committed, announced, not yet handled: the writer refreshes nothing itself
    assert ReactionOutbox.objects.filter(fact_type="ListMembershipChanged").exists()
    assert members(officina, on_list) == set()
    worker_run_once()
    assert members(officina, on_list) == {"anna@agri.it"}
    assert members(officina, on_segment) == {"anna@agri.it"}

    services.list_add_emails(
        workspace=officina, contact_list=fiera, emails=["BRUNO@agri.it"], actor=giulia
    )
    worker_run_once()
    assert members(officina, on_list) == {"anna@agri.it", "bruno@agri.it"}

    services.list_remove(
        workspace=officina, contact_list=fiera, contact_ids=[anna.pk], actor=giulia
    )
    worker_run_once()
    assert members(officina, on_list) == {"bruno@agri.it"}
    assert members(officina, on_segment) == {"bruno@agri.it"}


@pytest.mark.django_db(transaction=True)
def test_adding_a_whole_query_refreshes_the_segments_reading_the_list(officina, giulia):
    anna, bruno, fiera, on_list, on_segment = setup(officina, giulia)
    services.list_add_contacts(
        workspace=officina,
        contact_list=fiera,
        contacts=Contact.objects.for_workspace(officina).filter(pk__in=[anna.pk, bruno.pk]),
        actor=giulia,
    )
    assert members(officina, on_list) == set()
    worker_run_once()
    assert members(officina, on_list) == {"anna@agri.it", "bruno@agri.it"}
    assert members(officina, on_segment) == {"anna@agri.it", "bruno@agri.it"}
