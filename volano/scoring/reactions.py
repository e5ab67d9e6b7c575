"""What scoring does when something happens elsewhere (see volano.core.reactions): the models
that read what changed are recomputed for the contacts it changed on (set-based), and a bulk
change (an import) recomputes everything on the bulk queue."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.db import transaction

from volano.core.facts import (
    ConsentChanged,
    ContactsChanged,
    ContactsMerged,
    ContactsMerging,
    EventsAppended,
    IdSet,
)
from volano.core.reactions import reacts_to, workspace_of
from volano.scoring.models import Score
from volano.scoring.services import scores_refresh_contacts
from volano.scoring.tasks import scores_recompute_task


def _rescore(fact, contact_ids: IdSet, tokens: Iterable[str] | None) -> None:
    workspace = workspace_of(fact)
    if workspace is None:
        return
    if contact_ids is None:
        transaction.on_commit(functools.partial(scores_recompute_task.enqueue, workspace.pk))
        return
    scores_refresh_contacts(workspace=workspace, contact_ids=contact_ids, changed=tokens)


@reacts_to(ContactsChanged, phase="after_commit")
def scores_follow_contacts(fact: ContactsChanged) -> None:
    _rescore(fact, fact.contact_ids, fact.change_tokens())


@reacts_to(ConsentChanged, phase="after_commit")
def scores_follow_consents(fact: ConsentChanged) -> None:
    _rescore(fact, fact.contact_ids, fact.change_tokens())


@reacts_to(EventsAppended, phase="after_commit")
def scores_follow_events(fact: EventsAppended) -> None:
    """New events (a page view, a form, an order, a deal change…): the models reading those
    event types are recomputed for their contacts, and the stage rules follow."""
    _rescore(fact, fact.contact_ids, fact.change_tokens())


@reacts_to(ContactsMerged, phase="after_commit")
def scores_follow_merge(fact: ContactsMerged) -> None:
    _rescore(fact, fact.survivor_ids, None)


@reacts_to(ContactsMerging, phase="transaction", handles=("scoring.Score.contact",))
def scores_merge(fact: ContactsMerging) -> None:
    """The duplicate's scores go; the survivor's are recomputed after commit (ContactsMerged)."""
    Score.objects.for_workspace(fact.workspace_id).filter(
        contact_id__in=fact.duplicate_ids
    ).delete()
