"""Weekly spend and revenue with a known structure (adstock, saturation, coefficients, trend and
season chosen here), so the model can be checked against the truth: by the tests, the
benchmark and the demo workspace, which stores it as costs and orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from volano.budgets import mmm


@dataclass(frozen=True)
class ChannelTruth:
    key: str
    mean_spend: float
    decay: float
    half: float  # in multiples of mean_spend
    beta: float  # in multiples of the base level


DEFAULT_CHANNELS = (
    ChannelTruth("google_ads", 1800.0, 0.2, 0.8, 0.16),
    ChannelTruth("meta_ads", 1200.0, 0.4, 1.5, 0.12),
    ChannelTruth("linkedin_ads", 900.0, 0.3, 1.0, 0.08),
    ChannelTruth("display", 600.0, 0.5, 0.5, 0.03),
    ChannelTruth("fiere", 1500.0, 0.7, 2.0, 0.14),
    ChannelTruth("stampa", 700.0, 0.6, 1.0, 0.05),
)


@dataclass(frozen=True)
class Simulated:
    keys: tuple[str, ...]
    week_starts: tuple[dt.date, ...]
    spend: np.ndarray
    revenue: np.ndarray
    contributions: np.ndarray  # each channel's true revenue over the weeks
    truth: tuple[ChannelTruth, ...]
    base_level: float


def simulate(
    *,
    first_monday: dt.date,
    weeks: int = 104,
    channels: tuple[ChannelTruth, ...] = DEFAULT_CHANNELS,
    base_level: float = 40_000.0,
    noise: float = 0.01,
    seed: int = 7,
) -> Simulated:
    """Spend varies week to week (and pauses about one week in six), as an SME's does."""
    rng = np.random.default_rng(seed)
    means = np.array([c.mean_spend for c in channels])
    spend = means * np.exp(rng.normal(0.0, 0.5, (weeks, len(channels))))
    spend[rng.random((weeks, len(channels))) < 0.17] = 0.0
    spend = np.round(spend, 2)
    x = spend / spend.mean(axis=0)
    carried = np.empty_like(x)
    for c, truth in enumerate(channels):
        carried[:, c] = mmm._carried(x[:, [c]], np.array([truth.decay]))[:, 0]
    half = np.array([c.half for c in channels])
    beta = np.array([c.beta for c in channels])
    effect = carried / (carried + half) * beta
    week_starts = tuple(first_monday + dt.timedelta(days=7 * w) for w in range(weeks))
    day_of_year = np.array([d.timetuple().tm_yday for d in week_starts], dtype=float)
    base = 1.0 + 0.08 * np.linspace(-1, 1, weeks) + 0.06 * np.sin(2 * np.pi * day_of_year / 365.25)
    level = base + effect.sum(axis=1)
    revenue = base_level * level * (1 + rng.normal(0.0, noise, weeks))
    return Simulated(
        keys=tuple(c.key for c in channels),
        week_starts=week_starts,
        spend=spend,
        revenue=np.round(revenue, 2),
        contributions=effect.sum(axis=0) * base_level,
        truth=channels,
        base_level=base_level,
    )


def simulation_store(
    *,
    workspace,
    simulated: Simulated,
    number_prefix: str = "SIM",
    buyer_ids: list[int] | None = None,
    order_channel: str = "",
    already: np.ndarray | None = None,
) -> None:
    """Keep the simulation as the workspace's data: one cost row per week and channel (as a
    weekly spend file imports it, on the week's Monday) and one order per week (on its
    Wednesday, of `order_channel`) for that week's revenue less what `already` holds for the
    week (the workspace's own orders of that channel, so their sum is the simulated revenue),
    placed by the contacts of `buyer_ids` in turn (else anonymous). Set-based: two bulk
    inserts."""
    from volano.campaigns.models import CostEntry, CostKind, CostPlatform
    from volano.orders.models import Order

    costs = [
        CostEntry(
            workspace=workspace,
            campaign_key=f"channel:{key}",  # as the weekly import keys it: no campaign
            channel=key,
            platform=CostPlatform.GENERIC,
            kind=CostKind.MEDIA,
            day=monday,
            amount=Decimal(str(simulated.spend[w, c])),
        )
        for w, monday in enumerate(simulated.week_starts)
        for c, key in enumerate(simulated.keys)
    ]
    CostEntry.objects.bulk_create(costs, batch_size=1000)
    rest = simulated.revenue - (0.0 if already is None else already)
    if (rest < 0).any():
        raise ValueError("the simulated revenue is below the revenue already there")
    orders = [
        Order(
            workspace=workspace,
            number=f"{number_prefix}-{monday.isoformat()}",
            ordered_at=dt.datetime.combine(
                monday + dt.timedelta(days=2), dt.time(12, 0), tzinfo=dt.UTC
            ),
            total=Decimal(str(round(float(rest[w]), 2))),
            channel=order_channel,
            contact_id=buyer_ids[w % len(buyer_ids)] if buyer_ids else None,
        )
        for w, monday in enumerate(simulated.week_starts)
    ]
    Order.objects.bulk_create(orders, batch_size=1000)
