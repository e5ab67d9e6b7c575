"""The demo workspace's budget data (the demo loader calls this after the campaigns): two years
of weekly spend on six channels and the weekly shop revenue they drove, simulated from a known
structure (`volano.budgets.simulation.DEFAULT_CHANNELS`: adstock, saturation and coefficients
per channel, a trend and a season), then a response model fitted on it, so the response curves
page opens on something true to find.

The spend is stored as a weekly spend file imports it (platform "generic", one row per week and
channel on the Monday, `channel` as written); the revenue as one shop order a week (numbers
DEMO-MMM-<monday>), on top of the generator's own orders, each placed by one of the contacts who
already bought (in turn): no new buyer appears, so the cross-sell and customer stories hold.
"""

from __future__ import annotations

import datetime as dt

from volano.budgets.services import response_model_fit
from volano.budgets.simulation import simulate, simulation_store
from volano.campaigns.models import CostEntry
from volano.core.models import Workspace
from volano.orders.models import Order

WEEKS = 104


def demo_budgets_create(*, workspace: Workspace, now: dt.datetime) -> dict:
    today = now.date()
    this_monday = today - dt.timedelta(days=today.weekday())
    first = this_monday - dt.timedelta(days=7 * WEEKS)
    simulated = simulate(first_monday=first, weeks=WEEKS, seed=2026)
    buyers = list(
        Order.objects.for_workspace(workspace)
        .filter(contact_id__isnull=False)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .distinct()[:WEEKS]
    )
    simulation_store(
        workspace=workspace, simulated=simulated, number_prefix="DEMO-MMM", buyer_ids=buyers
    )
    # The campaigns' own costs (another demo's) are left out of this fit: its truth is ours.
    others = {
        channel or group
        for channel, group in CostEntry.objects.for_workspace(workspace)
        .filter(day__gte=first)
        .exclude(channel__in=simulated.keys)
        .values_list("channel", "campaign__channel_group")
    }
    model = response_model_fit(
        workspace=workspace,
        actor=None,
        outcome="revenue",
        date_from=first,
        date_to=this_monday - dt.timedelta(days=1),
        exclude=tuple(sorted(c for c in others if c)),
    )
    return {"weeks": WEEKS, "channels": len(simulated.keys), "model": model.pk}
