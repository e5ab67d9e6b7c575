"""A merge loses nothing in any domain: every table that points at a contact is handled by a
reaction of its own domain, and the survivor's segments, scores and stage follow after commit."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.contacts import services
from volano.contacts.merge import contact_merge
from volano.contacts.models import Contact
from volano.core.facts import ContactsMerging
from volano.core.reactions import TRANSACTION, reactions_for
from volano.deals import services as deal_services
from volano.events.models import EventType
from volano.handoff.models import Assignment, AssignmentStatus
from volano.lifecycle.models import StageChange
from volano.lifecycle.services import stage_set, threshold_rule_save
from volano.scoring.models import Score
from volano.scoring.services import score_model_save
from volano.segments import services as segment_services
from volano.segments.models import ListMembership, SegmentMembership


def test_every_foreign_key_to_contact_is_handled_when_contacts_merge():
    """A new table pointing at Contact fails here until its domain says, in a ContactsMerging
    reaction, what happens to the duplicate's rows (a cascade would delete them silently)."""
    relations = {  # hidden ones too: a ForeignKey with related_name="+" still cascades
        f"{rel.related_model._meta.label}.{rel.field.name}"
        for rel in Contact._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    }
    handled = [h for r in reactions_for(ContactsMerging, TRANSACTION) for h in r.handles]
    assert sorted(relations - set(handled)) == []  # not handled by any reaction
    assert sorted(set(handled) - relations) == []  # handled, but no such relation
    assert len(handled) == len(set(handled))  # each by one reaction only


@pytest.fixture
def pair(officina):
    survivor = services.contact_create(
        workspace=officina, actor=None, data={"email": "mario.rossi@colombo.it"}
    )
    duplicate = services.contact_create(
        workspace=officina,
        actor=None,
        data={"email": "m.rossi@gmail.com", "province": "BG", "job_title": "Acquisti"},
    )
    return survivor, duplicate


@pytest.mark.django_db
def test_deals_lists_stage_history_and_assignments_move_to_the_survivor(
    officina, giulia, marco, pair
):
    survivor, duplicate = pair
    deal = deal_services.deal_create(
        workspace=officina, actor=giulia, data={"name": "Tornio T200", "contact_id": duplicate.pk}
    )
    fiera = segment_services.list_create(
        workspace=officina, actor=giulia, slug="fiera", name="Fiera"
    )
    clienti = segment_services.list_create(
        workspace=officina, actor=giulia, slug="clienti", name="Clienti"
    )
    segment_services.list_add(workspace=officina, contact_list=fiera, contact_ids=[duplicate.pk])
    segment_services.list_add(
        workspace=officina, contact_list=clienti, contact_ids=[duplicate.pk, survivor.pk]
    )
    stage_set(workspace=officina, actor=giulia, contact=duplicate, stage="sql")
    survivor_open = Assignment.objects.create(workspace=officina, contact=survivor, rep=marco)
    duplicate_open = Assignment.objects.create(workspace=officina, contact=duplicate, rep=giulia)
    history = set(
        StageChange.objects.for_workspace(officina)
        .filter(contact=duplicate)
        .values_list("pk", flat=True)
    )
    assert history

    contact_merge(workspace=officina, actor=giulia, survivor=survivor, duplicate=duplicate)

    deal.refresh_from_db()
    assert deal.contact_id == survivor.pk  # it used to be left with no contact
    lists = ListMembership.objects.for_workspace(officina).filter(contact=survivor)
    assert sorted(lists.values_list("list__slug", flat=True)) == ["clienti", "fiera"]
    assert (
        set(
            StageChange.objects.for_workspace(officina)
            .filter(contact=survivor)
            .values_list("pk", flat=True)
        )
        >= history
    )
    survivor_open.refresh_from_db()
    duplicate_open.refresh_from_db()
    assert (survivor_open.status, duplicate_open.status) == (
        AssignmentStatus.PENDING,
        AssignmentStatus.CLOSED,
    )
    assert duplicate_open.contact_id == survivor.pk
    event = survivor.events.filter(type=EventType.CONTACT_MERGED).get()
    assert event.properties["deals_moved"] == 1


@pytest.mark.django_db
def test_segment_history_moves_and_one_current_membership_stays(officina, giulia, pair):
    survivor, duplicate = pair
    everyone = segment_services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="tutti",
        name="Tutti",
        definition={"field": "email", "op": "contains", "value": "@"},
    )
    assert SegmentMembership.objects.for_workspace(officina).filter(segment=everyone).count() == 2
    contact_merge(workspace=officina, actor=giulia, survivor=survivor, duplicate=duplicate)
    rows = SegmentMembership.objects.for_workspace(officina).filter(segment=everyone)
    assert list(rows.values_list("contact_id", "left_at")) == [(survivor.pk, None)]


@pytest.mark.django_db(transaction=True)
def test_after_the_merge_the_survivor_is_scored_segmented_and_staged_again(officina, giulia, pair):
    """The survivor took the duplicate's province and job title: once the merge commits, the
    worker scores it again, re-evaluates its segments and runs the stage rules for it."""
    survivor, duplicate = pair
    segment = segment_services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="bergamo",
        name="Bergamo",
        definition={"field": "province", "op": "eq", "value": "BG"},
    )
    model = score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "fit",
            "name": "Fit",
            "rules": [
                {
                    "kind": "fit",
                    "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
                    "points": 70,
                }
            ],
        },
    )
    threshold_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Fit ≥ 60 → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "score.fit", "op": "gte", "value": 60},
        },
    )
    worker_run_once()
    assert not Score.objects.for_workspace(officina).filter(contact=survivor).exists()

    contact_merge(workspace=officina, actor=giulia, survivor=survivor, duplicate=duplicate)
    worker_run_once()

    survivor.refresh_from_db()
    assert (survivor.province, survivor.job_title) == ("BG", "Acquisti")
    members = SegmentMembership.objects.for_workspace(officina).filter(
        segment=segment, left_at__isnull=True
    )
    assert list(members.values_list("contact_id", flat=True)) == [survivor.pk]
    score = Score.objects.for_workspace(officina).get(contact=survivor, model=model)
    assert score.points == 70
    assert survivor.lifecycle_stage == "mql"
