"""What the lifecycle does when something happens elsewhere (see volano.core.reactions): the
stage rules follow new scores, orders and deals move their contacts, and the stage history of a
merged duplicate is kept."""

from __future__ import annotations

import datetime as dt

from volano.contacts.models import Contact
from volano.core.facts import ContactsMerging, DealChanged, OrderCompleted, ScoresChanged
from volano.core.models import User
from volano.core.reactions import reacts_to, workspace_of
from volano.lifecycle.models import OPEN_LEAD_STAGES, ChangeSource, LifecycleStage, StageChange
from volano.lifecycle.services import contacts_become_customers, stages_move, thresholds_apply


@reacts_to(ScoresChanged, phase="transaction")
def thresholds_follow_scores(fact: ScoresChanged) -> None:
    """The threshold rules run over the contacts just scored, as of the same moment."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    now = dt.datetime.fromisoformat(fact.as_of) if fact.as_of else None
    stamped_at = dt.datetime.fromisoformat(fact.stamped_at) if fact.stamped_at else None
    thresholds_apply(
        workspace=workspace, contact_ids=fact.contact_ids, now=now, stamped_at=stamped_at
    )


@reacts_to(OrderCompleted, phase="transaction")
def customers_from_orders(fact: OrderCompleted) -> None:
    """A completed order makes its buyer a Customer (whatever the stage before)."""
    workspace = workspace_of(fact)
    if workspace is not None:
        contacts_become_customers(
            workspace=workspace,
            contact_ids=fact.contact_ids,
            source=ChangeSource.ORDER,
            reason=fact.reason,
        )


@reacts_to(DealChanged, phase="transaction")
def stages_follow_deals(fact: DealChanged) -> None:
    """Won: a Customer. Lost: an Opportunity with no other open deal goes back to Recycled.
    Open: a lead becomes an Opportunity (a customer stays one)."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    actor = User.objects.filter(pk=fact.actor_id).first() if fact.actor_id else None
    if fact.change == "won":
        contacts_become_customers(
            workspace=workspace,
            contact_ids=fact.contact_ids,
            source=ChangeSource.DEAL,
            actor=actor,
            reason=f"deal won: {fact.deal_name}",
        )
        return
    if fact.change == "lost":
        ids, to_stage, from_stages = (
            fact.contact_ids - fact.open_elsewhere,
            LifecycleStage.RECYCLED,
            [LifecycleStage.OPPORTUNITY],
        )
        reason = f"deal lost: {fact.reason}"
    else:
        ids, to_stage = fact.contact_ids, LifecycleStage.OPPORTUNITY
        from_stages = list(OPEN_LEAD_STAGES)
        reason = f"deal: {fact.deal_name}"
    if ids:
        stages_move(
            workspace=workspace,
            contacts=Contact.objects.for_workspace(workspace).filter(pk__in=ids),
            to_stage=to_stage,
            from_stages=from_stages,
            source=ChangeSource.DEAL,
            actor=actor,
            reason=reason,
        )


@reacts_to(ContactsMerging, phase="transaction", handles=("lifecycle.StageChange.contact",))
def stage_history_merge(fact: ContactsMerging) -> None:
    """The duplicate's stage history is kept, on the survivor's timeline of stages."""
    StageChange.objects.for_workspace(fact.workspace_id).filter(
        contact_id__in=fact.duplicate_ids
    ).update(contact_id=fact.survivor_id)
