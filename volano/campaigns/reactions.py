"""What campaigns do when something happens elsewhere (see volano.core.reactions): each
contact's first touches (`touches.py`) follow its touch events; a change to every contact (a
bulk load) rebuilds the workspace's on the bulk queue."""

from __future__ import annotations

import functools

from django.db import transaction

from volano.campaigns.models import FirstTouch
from volano.campaigns.selectors import TOUCH_TYPES
from volano.campaigns.tasks import first_touches_refresh_task
from volano.campaigns.touches import first_touches_refresh
from volano.core.facts import ContactsMerged, ContactsMerging, EventsAppended, IdSet
from volano.core.reactions import reacts_to, workspace_of

_TOUCH_TYPES = frozenset(str(t) for t in TOUCH_TYPES)


def _refresh(fact: EventsAppended | ContactsMerged, contact_ids: IdSet) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return
    if contact_ids is None:
        transaction.on_commit(functools.partial(first_touches_refresh_task.enqueue, workspace.pk))
        return
    first_touches_refresh(workspace=workspace, contact_ids=contact_ids)


@reacts_to(EventsAppended, phase="after_commit")
def first_touches_follow_events(fact: EventsAppended) -> None:
    """Touch events appended (or an anonymous visitor's moved to their contact): these
    contacts' first touches are rebuilt from their events."""
    if fact.event_types is None or fact.event_types & _TOUCH_TYPES:
        _refresh(fact, fact.contact_ids)


@reacts_to(ContactsMerged, phase="after_commit")
def first_touches_follow_merge(fact: ContactsMerged) -> None:
    _refresh(fact, fact.survivor_ids)


@reacts_to(ContactsMerging, phase="transaction", handles=("campaigns.FirstTouch.contact",))
def first_touches_merge(fact: ContactsMerging) -> None:
    """The duplicates' rows go; the survivor's is rebuilt after commit (ContactsMerged), from
    the events the merge moved to it."""
    FirstTouch.objects.for_workspace(fact.workspace_id).filter(
        contact_id__in=fact.duplicate_ids
    ).delete()
