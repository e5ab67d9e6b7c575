"""The demo workspace's budget data (the demo loader calls this after the campaigns): two years
of weekly spend on six channels and the web shop's weekly revenue, with a known structure —
revenue = base + trend + season + the sum of each channel's adstocked, saturated effect + noise
(`DEMO_CHANNELS`: carry-over, half-saturation and the weekly revenue at saturation, in euro, so
each channel's ROAS is believable, from below 1 on print to about 5 on search) — then a response
model fitted on the shop's revenue, so the response curves page has something true to find.

The spend is stored as a weekly spend file imports it (platform "generic", one row per week and
channel on the Monday, `channel` as written). The revenue is the shop's (order channel "shop"):
the generator's own shop orders stay, and one order a week (numbers DEMO-MMM-<monday>) makes up
the rest of the simulated week, so the shop's weekly revenue *is* the simulation. The B2B orders
of the reps and the won deals do not respond to the spend (they are the generator's stories), so
the model is fitted on the shop only. Each weekly order is placed by one of the contacts who
already bought (in turn): no new buyer appears, so the cross-sell and customer stories hold.
"""

from __future__ import annotations

import datetime as dt

from volano.budgets.services import BOOTSTRAP_DRAWS, response_model_fit
from volano.budgets.simulation import ChannelTruth, Simulated, simulate, simulation_store
from volano.budgets.weekly import outcome_by_week
from volano.campaigns.models import CostEntry
from volano.core.models import Workspace
from volano.orders.models import Order

WEEKS = 104
ORDER_CHANNEL = "shop"
BASE_LEVEL = 45_000.0  # the shop's weekly revenue without media, at least
NOISE = 0.005
# the lowest the base + trend + season reaches, as a share of the base level (simulation.simulate)
BASE_LOW = 0.86
# (key, mean weekly spend, decay, half-saturation in mean spends, weekly revenue at saturation)
DEMO_CHANNELS = (
    ("google_ads", 1800.0, 0.2, 0.8, 16_000.0),
    ("meta_ads", 1200.0, 0.4, 1.5, 9_000.0),
    ("linkedin_ads", 900.0, 0.3, 1.0, 3_600.0),
    ("display", 600.0, 0.5, 0.5, 900.0),
    ("fiere", 1500.0, 0.7, 2.0, 6_750.0),
    ("stampa", 700.0, 0.6, 1.0, 1_100.0),
)


def demo_truth(*, first_monday: dt.date, shop_before: float = 0.0) -> Simulated:
    """The simulated two years: the base is raised when the generator's shop already sells more
    in some week than the lowest simulated week (a larger demo), the media effects stay."""
    base = max(BASE_LEVEL, 1.25 * shop_before / BASE_LOW)
    channels = tuple(
        ChannelTruth(key, mean, decay, half, saturated / base)
        for key, mean, decay, half, saturated in DEMO_CHANNELS
    )
    return simulate(
        first_monday=first_monday,
        weeks=WEEKS,
        channels=channels,
        base_level=base,
        noise=NOISE,
        seed=2026,
    )


def demo_budgets_create(
    *, workspace: Workspace, now: dt.datetime, bootstrap: int = BOOTSTRAP_DRAWS
) -> dict:
    today = now.date()
    this_monday = today - dt.timedelta(days=today.weekday())
    first = this_monday - dt.timedelta(days=7 * WEEKS)
    shop = outcome_by_week(workspace, "revenue", first, WEEKS, order_channel=ORDER_CHANNEL)
    simulated = demo_truth(first_monday=first, shop_before=float(shop.max()))
    buyers = list(
        Order.objects.for_workspace(workspace)
        .filter(contact_id__isnull=False)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .distinct()[:WEEKS]
    )
    simulation_store(
        workspace=workspace,
        simulated=simulated,
        number_prefix="DEMO-MMM",
        buyer_ids=buyers,
        order_channel=ORDER_CHANNEL,
        already=shop,
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
        bootstrap=bootstrap,
        order_channel=ORDER_CHANNEL,
    )
    return {
        "weeks": WEEKS,
        "channels": len(simulated.keys),
        "model": model.pk,
        "truth": dict(zip(simulated.keys, simulated.contributions, strict=True)),
        "spend": dict(zip(simulated.keys, simulated.spend.sum(axis=0), strict=True)),
        "revenue": [float(v) for v in simulated.revenue],
    }
