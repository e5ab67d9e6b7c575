"""What attribution does when something happens elsewhere (see volano.core.reactions): the
workspace's kept results go stale (`cache.generation_raise`) when an input of theirs changed.

| fact | why a kept result is stale |
|---|---|
| EventsAppended | a touch (a marketing event type) was stored, or an anonymous visitor's touches moved to their contact |
| ContactsChanged | a contact was created (a lead) or deleted: only when the fields are unknown or include `created_at` |
| ContactsMerged | the duplicates' touches and conversions are the survivor's now |
| StageChanged | an MQL, SQL, opportunity or customer conversion |
| DealChanged | a won deal is revenue |
| OrderCompleted | a completed order is revenue |

Before raising the generation, each reaction marks the days of the per-day credits
(`daily.py`) the change can move; its table of which days says how.
"""

from __future__ import annotations

from volano.attribution import daily
from volano.attribution.cache import generation_raise
from volano.campaigns.selectors import TOUCH_TYPES
from volano.core.facts import (
    ContactsChanged,
    ContactsMerged,
    DealChanged,
    EventsAppended,
    Fact,
    OrderCompleted,
    StageChanged,
)
from volano.core.reactions import reacts_to

_TOUCH_TYPES = frozenset(str(t) for t in TOUCH_TYPES)


def _stale(fact: Fact) -> None:
    generation_raise(fact.workspace_id)


@reacts_to(EventsAppended, phase="after_commit")
def results_follow_events(fact: EventsAppended) -> None:
    if fact.event_types is None or fact.event_types & _TOUCH_TYPES:
        daily.touches_changed(fact.workspace_id, fact.contact_ids)
        _stale(fact)


@reacts_to(ContactsChanged, phase="after_commit")
def results_follow_contacts(fact: ContactsChanged) -> None:
    if fact.fields is None or "created_at" in fact.fields:
        daily.contacts_changed(fact.workspace_id, fact.contact_ids, fact.fields)
        _stale(fact)


@reacts_to(ContactsMerged, phase="after_commit")
def results_follow_merge(fact: ContactsMerged) -> None:
    daily.mark(fact.workspace_id, [daily.EVERY_DAY])
    _stale(fact)


@reacts_to(StageChanged, phase="after_commit")
def results_follow_stages(fact: StageChanged) -> None:
    daily.stages_changed(fact.workspace_id, fact.contact_ids)
    _stale(fact)


# deals and orders announce in the writer's transaction only: the counter is raised there
# (one small UPDATE, committed with the deal or order)
@reacts_to(DealChanged, phase="transaction")
def results_follow_deals(fact: DealChanged) -> None:
    daily.deals_changed(fact.workspace_id, fact.contact_ids)
    _stale(fact)


@reacts_to(OrderCompleted, phase="transaction")
def results_follow_orders(fact: OrderCompleted) -> None:
    daily.orders_completed(fact.workspace_id, fact.contact_ids)
    _stale(fact)
