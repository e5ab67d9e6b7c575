"""What segments do when something happens elsewhere (see volano.core.reactions): the contacts
a fact names are re-evaluated in the segments that read what changed, set-based; a change to
every contact (an import, a full recompute) refreshes every segment on the bulk queue."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef

from volano.core.facts import (
    ConsentChanged,
    ContactsChanged,
    ContactsMerged,
    ContactsMerging,
    EventsAppended,
    Fact,
    IdSet,
    LeadAssigned,
    ListMembershipChanged,
    ScoresChanged,
    SegmentEnteredInBulk,
    StageChanged,
)
from volano.core.reactions import reacts_to, workspace_of
from volano.events.models import EventType
from volano.segments.models import ListMembership, SegmentMembership
from volano.segments.services import (
    segment_entries_record,
    segments_refresh_contacts,
    segments_refresh_reading,
)
from volano.segments.tasks import segments_refresh_all_task

OWN_EVENTS = frozenset({EventType.SEGMENT_ENTERED, EventType.SEGMENT_LEFT})


def _refresh(fact: Fact, contact_ids: IdSet, tokens: Iterable[str] | None) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return
    if contact_ids is None:
        transaction.on_commit(functools.partial(segments_refresh_all_task.enqueue, workspace.pk))
        return
    segments_refresh_contacts(workspace=workspace, contact_ids=contact_ids, changed=tokens)


@reacts_to(ContactsChanged, phase="after_commit")
def segments_follow_contacts(fact: ContactsChanged) -> None:
    _refresh(fact, fact.contact_ids, fact.change_tokens())


@reacts_to(ConsentChanged, phase="after_commit")
def segments_follow_consents(fact: ConsentChanged) -> None:
    _refresh(fact, fact.contact_ids, fact.change_tokens())


@reacts_to(EventsAppended, phase="after_commit")
def segments_follow_events(fact: EventsAppended) -> None:
    """Segments reading these event types re-evaluate the contacts (their own entered/left
    events excepted, which would only start another pass)."""
    tokens = fact.change_tokens(excluding=OWN_EVENTS)
    if tokens is None or tokens:
        _refresh(fact, fact.contact_ids, tokens)


@reacts_to(ScoresChanged, phase="after_commit")
def segments_follow_scores(fact: ScoresChanged) -> None:
    """Segments on a score re-evaluate the contacts whose score moved; after a full recompute
    that moved scores, every segment is refreshed."""
    tokens = {f"field:score.{slug}" for slug in fact.models} | {"event:score_changed"}
    _refresh(fact, fact.changed_ids, tokens)


@reacts_to(StageChanged, phase="after_commit")
def segments_follow_stages(fact: StageChanged) -> None:
    _refresh(
        fact,
        fact.contact_ids,
        {"field:lifecycle_stage", "field:lifecycle_changed_at", "event:lifecycle_changed"},
    )


@reacts_to(LeadAssigned, phase="after_commit")
def segments_follow_assignments(fact: LeadAssigned) -> None:
    _refresh(fact, fact.contact_ids, {"field:owner", "event:lead_assigned"})


@reacts_to(ListMembershipChanged, phase="after_commit")
def segments_follow_lists(fact: ListMembershipChanged) -> None:
    """Segments on membership of the list re-evaluate the contacts added or removed; when those
    are not known (a whole query added), the segments reading the list refresh in full."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    if fact.contact_ids is None:
        segments_refresh_reading(workspace=workspace, changed=fact.change_tokens())
        return
    segments_refresh_contacts(
        workspace=workspace, contact_ids=fact.contact_ids, changed=fact.change_tokens()
    )


@reacts_to(ContactsMerged, phase="after_commit")
def segments_follow_merge(fact: ContactsMerged) -> None:
    """The survivor holds the duplicate's data now: every segment re-evaluates it."""
    _refresh(fact, fact.survivor_ids, None)


@reacts_to(SegmentEnteredInBulk, phase="after_commit")
def segment_entries_follow(fact: SegmentEnteredInBulk) -> None:
    """The timeline events of a bulk entry (a new segment's first materialisation), written
    after the refresh committed: the segment was usable without waiting for them."""
    workspace = workspace_of(fact)
    if workspace is not None:
        segment_entries_record(
            workspace=workspace, segment_id=fact.segment_id, entered_at=fact.entered_at
        )


@reacts_to(
    ContactsMerging,
    phase="transaction",
    handles=("segments.ListMembership.contact", "segments.SegmentMembership.contact"),
)
def memberships_merge(fact: ContactsMerging) -> dict:
    """Static lists: the survivor joins the duplicate's lists (it keeps its own entry where both
    were members). Segments: the duplicate's history moves; where both are current members the
    survivor's membership stays. The survivor is re-evaluated after commit (ContactsMerged)."""
    lists = ListMembership.objects.for_workspace(fact.workspace_id)
    theirs = lists.filter(contact_id__in=fact.duplicate_ids)
    theirs.filter(
        Exists(lists.filter(list_id=OuterRef("list_id"), contact_id=fact.survivor_id))
    ).delete()
    lists_moved = theirs.update(contact_id=fact.survivor_id)

    memberships = SegmentMembership.objects.for_workspace(fact.workspace_id)
    memberships.filter(contact_id__in=fact.duplicate_ids, left_at__isnull=True).filter(
        Exists(
            memberships.filter(
                segment_id=OuterRef("segment_id"),
                contact_id=fact.survivor_id,
                left_at__isnull=True,
            )
        )
    ).delete()
    memberships.filter(contact_id__in=fact.duplicate_ids).update(contact_id=fact.survivor_id)
    return {"lists_moved": lists_moved}
