"""Static lists: by hand, by emails, snapshot of a segment; personas on the contact page."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.core.errors import ApplicationError
from volano.segments import selectors, services

pytestmark = pytest.mark.django_db


def test_lists_add_remove_emails_and_snapshot(officina, ferramenta, giulia):
    a = contact_services.contact_create(
        workspace=officina, actor=None, data={"email": "a@a.it", "province": "MI"}
    )
    b = contact_services.contact_create(workspace=officina, actor=None, data={"email": "b@b.it"})
    foreign = contact_services.contact_create(
        workspace=ferramenta, actor=None, data={"email": "f@f.it"}
    )
    fiera = services.list_create(
        workspace=officina, actor=giulia, slug="fiera-2025", name="Fiera 2025"
    )
    with pytest.raises(ApplicationError, match="already exists"):
        services.list_create(workspace=officina, actor=giulia, slug="fiera-2025", name="Altra")
    with pytest.raises(ApplicationError, match="slug"):
        services.list_create(workspace=officina, actor=giulia, slug="Fiera 2025", name="x")
    assert (
        services.list_add(workspace=officina, contact_list=fiera, contact_ids=[a.pk, foreign.pk])
        == 1
    )
    added, missing = services.list_add_emails(
        workspace=officina, contact_list=fiera, emails=["B@B.IT ", "zz@z.it", "f@f.it"]
    )
    assert (added, missing) == (1, ["f@f.it", "zz@z.it"])
    members = selectors.list_members(workspace=officina, contact_list=fiera)
    assert set(members.values_list("email", flat=True)) == {"a@a.it", "b@b.it"}
    assert services.list_remove(workspace=officina, contact_list=fiera, contact_ids=[b.pk]) == 1
    assert [cl.slug for cl in selectors.contact_lists(workspace=officina, contact=a)] == [
        "fiera-2025"
    ]

    milano = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="milano",
        name="Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )
    snap = services.list_from_segment(
        workspace=officina, actor=giulia, segment=milano, slug="milano-oggi", name="Milano oggi"
    )
    assert list(snap.memberships.values_list("contact_id", "source")) == [(a.pk, "segment:milano")]
    # the snapshot stays when the segment moves on
    contact_services.contact_update(
        workspace=officina, actor=giulia, contact=a, data={"province": "RM"}
    )
    services.segment_refresh(workspace=officina, segment=milano)
    assert selectors.segment_members(workspace=officina, segment=milano).count() == 0
    assert snap.memberships.count() == 1


def test_adding_a_queryset_to_a_list_skips_its_members_and_counts_only_the_new(officina, giulia):
    """`list_add_contacts` skips who is a member by the unique key (ON CONFLICT DO NOTHING,
    session wf15): the members stay as they were (source, date) and the count is of the new."""
    from volano.contacts.models import Contact
    from volano.segments.models import ListMembership

    Contact.objects.bulk_create(
        [Contact(workspace=officina, email=f"l{i}@lista.it") for i in range(30)]
    )
    contacts = Contact.objects.for_workspace(officina).filter(email__endswith="@lista.it")
    ids = sorted(contacts.values_list("pk", flat=True))
    fiera = services.list_create(workspace=officina, actor=giulia, slug="fiera", name="Fiera")
    first = contacts.filter(pk__in=ids[:20])
    assert (
        services.list_add_contacts(
            workspace=officina, contact_list=fiera, contacts=first, source="manual"
        )
        == 20
    )
    # 10 of these are members already: only the other 10 are added
    again = contacts.filter(pk__in=ids[10:])
    assert (
        services.list_add_contacts(
            workspace=officina, contact_list=fiera, contacts=again, source="workflow"
        )
        == 10
    )
    rows = ListMembership.objects.for_workspace(officina).filter(list=fiera)
    assert sorted(rows.values_list("contact_id", flat=True)) == ids
    assert set(rows.filter(contact_id__in=ids[:20]).values_list("source", flat=True)) == {"manual"}
    assert set(rows.filter(contact_id__in=ids[20:]).values_list("source", flat=True)) == {
        "workflow"
    }
    assert (
        services.list_add_contacts(workspace=officina, contact_list=fiera, contacts=contacts) == 0
    )


def test_personas_show_for_the_contact(officina, giulia):
    c = contact_services.contact_create(
        workspace=officina,
        actor=None,
        data={"email": "m@m.it", "job_title": "Responsabile manutenzione"},
    )
    persona = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="manutenzione",
        name="Responsabile manutenzione",
        kind="persona",
        goals="Macchine ferme il meno possibile",
        pains="Ricambi che tardano",
        channels="email, telefono",
        job_titles="Responsabile manutenzione, Capo officina",
        definition={"field": "job_title", "op": "contains", "value": "manutenzione"},
    )
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="tutti",
        name="Tutti",
        definition={"field": "email", "op": "is_set"},
    )
    assert selectors.contact_personas(workspace=officina, contact=c) == [persona]
    assert [s.slug for s in selectors.segment_list(workspace=officina, kind="persona")] == [
        "manutenzione"
    ]
    with pytest.raises(ApplicationError, match="used by"):
        services.segment_save(
            workspace=officina,
            actor=giulia,
            slug="uses",
            name="Uses",
            definition={"persona": "manutenzione"},
        )
        services.segment_delete(workspace=officina, actor=giulia, segment=persona)
