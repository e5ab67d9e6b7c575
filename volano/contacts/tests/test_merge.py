"""Merging a duplicate into a survivor loses nothing, following the rule in contacts/merge.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from volano.contacts import selectors, services
from volano.contacts.merge import contact_merge
from volano.contacts.models import ConsentStatus, Contact, Purpose
from volano.core.errors import ApplicationError
from volano.events.models import Event, EventType, Visitor
from volano.events.selectors import contact_timeline
from volano.events.services import event_append
from volano.orders.models import Order

AGO = timezone.now() - dt.timedelta(days=30)


@pytest.fixture
def pair(officina):
    company = services.company_create(
        workspace=officina, actor=None, data={"name": "Agromeccanica Colombo S.r.l."}
    )
    services.custom_field_create(
        workspace=officina, key="interesse", label="Interesse", type="text"
    )
    services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato", type="money"
    )
    survivor = services.contact_create(
        workspace=officina,
        actor=None,
        data={
            "email": "mario.rossi@colombo.it",
            "first_name": "Mario",
            "tags": ["cliente"],
            "custom": {"interesse": "ricambi"},
        },
    )
    duplicate = services.contact_create(
        workspace=officina,
        actor=None,
        data={
            "email": "m.rossi@gmail.com",
            "first_name": "Mariolino",
            "last_name": "Rossi",
            "phone": "3331234567",
            "company_id": company.pk,
            "province": "BG",
            "tags": ["fiera", "cliente"],
            "custom": {"interesse": "macchine", "fatturato": "250000"},
        },
    )
    Contact.objects.for_workspace(officina).filter(pk=duplicate.pk).update(created_at=AGO)
    duplicate.refresh_from_db()
    return survivor, duplicate, company


def test_fields_tags_and_custom_follow_the_rule(officina, giulia, pair):
    survivor, duplicate, company = pair
    merged = contact_merge(workspace=officina, actor=giulia, survivor=survivor, duplicate=duplicate)
    merged.refresh_from_db()
    assert merged.email == "mario.rossi@colombo.it"
    assert merged.first_name == "Mario"  # the survivor's value wins
    assert merged.last_name == "Rossi"  # an empty field takes the duplicate's
    assert merged.phone == "+393331234567"
    assert merged.company_id == company.pk
    assert (merged.province, merged.region) == ("BG", "Lombardia")
    assert merged.tags == ["cliente", "fiera"]
    assert merged.custom == {"interesse": "ricambi", "fatturato": 250000.0}
    assert merged.created_at == AGO  # the oldest is kept
    assert not Contact.objects.for_workspace(officina).filter(pk=duplicate.pk).exists()


def test_timeline_orders_and_visitors_move_and_the_merge_is_on_the_timeline(officina, giulia, pair):
    survivor, duplicate, _company = pair
    for n in range(3):
        event_append(
            workspace=officina,
            type=EventType.PAGE_VIEW,
            contact_id=duplicate.pk,
            occurred_at=AGO + dt.timedelta(hours=n),
            properties={"url": "https://www.officinarossi.it/prezzi"},
        )
    Order.objects.create(
        workspace=officina,
        number="WEB-2026-0001",
        contact=duplicate,
        ordered_at=AGO,
        total=Decimal("189.00"),
    )
    Visitor.objects.create(workspace=officina, anonymous_id="abc123", contact=duplicate)

    contact_merge(workspace=officina, actor=giulia, survivor=survivor, duplicate=duplicate)

    timeline = list(contact_timeline(workspace=officina, contact=survivor))
    assert [e.type for e in timeline].count(EventType.PAGE_VIEW) == 3
    merge_event = timeline[0]
    assert merge_event.type == EventType.CONTACT_MERGED
    assert merge_event.properties["duplicate"] == {
        "id": duplicate.pk,
        "email": "m.rossi@gmail.com",
        "name": "Mariolino Rossi",
    }
    assert merge_event.properties["events_moved"] == 3
    assert merge_event.properties["orders_moved"] == 1
    assert merge_event.properties["by"] == giulia.email
    assert Order.objects.for_workspace(officina).get(number="WEB-2026-0001").contact == survivor
    assert Visitor.objects.for_workspace(officina).get(anonymous_id="abc123").contact == survivor
    assert not Event.objects.for_workspace(officina).filter(contact_id=duplicate.pk).exists()


def _consent(workspace, contact, status, at, purpose=Purpose.EMAIL_MARKETING):
    return services.consent_set(
        workspace=workspace,
        actor=None,
        contact=contact,
        purpose=purpose,
        status=status,
        source="t",
        at=at,
    )


def test_the_newest_consent_wins(officina, pair):
    survivor, duplicate, _company = pair
    _consent(officina, survivor, ConsentStatus.GRANTED, AGO)
    _consent(officina, duplicate, ConsentStatus.REVOKED, AGO + dt.timedelta(days=1))
    _consent(
        officina, survivor, ConsentStatus.GRANTED, AGO + dt.timedelta(days=2), Purpose.PROFILING
    )
    _consent(officina, duplicate, ConsentStatus.DENIED, AGO, Purpose.PROFILING)
    _consent(officina, duplicate, ConsentStatus.GRANTED, AGO, Purpose.THIRD_PARTY)

    contact_merge(workspace=officina, actor=None, survivor=survivor, duplicate=duplicate)

    consents = selectors.contact_consents(workspace=officina, contact=survivor)
    assert consents[Purpose.EMAIL_MARKETING].status == ConsentStatus.REVOKED  # newer, unsubscribed
    assert consents[Purpose.PROFILING].status == ConsentStatus.GRANTED  # survivor's is newer
    assert (
        consents[Purpose.THIRD_PARTY].status == ConsentStatus.GRANTED
    )  # only the duplicate had it
    assert not selectors.contact_is_emailable(workspace=officina, contact=survivor)


def test_on_a_tie_the_more_restrictive_consent_wins(officina, pair):
    survivor, duplicate, _company = pair
    _consent(officina, survivor, ConsentStatus.GRANTED, AGO)
    _consent(officina, duplicate, ConsentStatus.REVOKED, AGO)
    contact_merge(workspace=officina, actor=None, survivor=survivor, duplicate=duplicate)
    consents = selectors.contact_consents(workspace=officina, contact=survivor)
    assert consents[Purpose.EMAIL_MARKETING].status == ConsentStatus.REVOKED


def test_merging_across_workspaces_or_into_itself_is_refused(officina, ferramenta, pair):
    survivor, _duplicate, _company = pair
    theirs = services.contact_create(
        workspace=ferramenta, actor=None, data={"email": "x@ferramenta.it"}
    )
    with pytest.raises(ApplicationError, match="this workspace"):
        contact_merge(workspace=officina, actor=None, survivor=survivor, duplicate=theirs)
    with pytest.raises(ApplicationError, match="this workspace"):
        contact_merge(workspace=ferramenta, actor=None, survivor=theirs, duplicate=survivor)
    with pytest.raises(ApplicationError, match="itself"):
        contact_merge(workspace=officina, actor=None, survivor=survivor, duplicate=survivor)
    assert Contact.objects.for_workspace(ferramenta).filter(pk=theirs.pk).exists()
    assert Contact.objects.for_workspace(officina).filter(pk=survivor.pk).exists()
