"""The demo workspace's costs: a year of them, imported through the real import service from
files generated in the shape the platforms export (a Google Ads campaign report, Italian, one
row per day and campaign; a Meta Ads export, Italian, one row per month and campaign, whose
amounts the importer spreads over the month's days), and a few costs entered by hand (the EIMA
stand, print for Fieragricola, the agency's fee). The two years of weekly spend per channel the
media-mix model reads are the budgets demo's, not these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from volano.campaigns.costs.services import cost_create, costs_import
from volano.campaigns.models import Campaign, CostKind
from volano.core.models import Workspace


def _italian(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + cents


def _active_days(campaign: Campaign, start: dt.date, end: dt.date) -> list[dt.date]:
    first = max(start, campaign.starts_on or start)
    last = min(end, campaign.ends_on or end)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def google_ads_report(campaigns: list[Campaign], start: dt.date, end: dt.date) -> bytes:
    """A Google Ads campaign report as the Italian UI downloads it: UTF-16, tabs, a title and
    the date range above the headers, a total at the bottom."""
    lines = ["Rapporto sulle campagne", f"{start:%d/%m/%Y} - {end:%d/%m/%Y}"]
    lines.append("Giorno\tCampagna\tStato campagna\tCodice valuta\tImpr.\tClic\tCosto")
    total = Decimal(0)
    for campaign in campaigns:
        days = _active_days(campaign, start, end)
        if not days:
            continue
        daily = campaign.budget / len(days)
        for n, day in enumerate(days):
            weekday = (Decimal("1.15"), Decimal("1.1"), 1, 1, Decimal("0.9"), Decimal("0.7"))
            factor = Decimal(weekday[min(day.weekday(), 5)]) + Decimal((n * 7) % 11 - 5) / 50
            cost = (daily * factor).quantize(Decimal("0.01"))
            total += cost
            clicks = int(cost / Decimal("0.85"))
            lines.append(
                f"{day.isoformat()}\t{campaign.name}\tAttiva\tEUR\t"
                f"{_italian(Decimal(clicks * 23))[:-3]}\t{clicks}\t{_italian(cost)}"
            )
    lines.append(f"Totale: campagne\t\t\tEUR\t\t\t{_italian(total)}")
    return ("\n".join(lines) + "\n").encode("utf-16")


def meta_export(campaigns: list[Campaign], start: dt.date, end: dt.date) -> bytes:
    """A Meta Ads Manager export, Italian: one row per campaign and month."""
    rows = [
        '"Inizio report","Fine report","Nome della campagna","Impression","Importo speso (EUR)"'
    ]
    month = start.replace(day=1)
    while month <= end:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        first, last = max(month, start), min(following - dt.timedelta(days=1), end)
        for campaign in campaigns:
            days = _active_days(campaign, first, last)
            if not days:
                continue
            total_days = len(_active_days(campaign, start, end)) or 1
            spent = (campaign.budget * len(days) / total_days).quantize(Decimal("0.01"))
            rows.append(
                f'"{days[0].isoformat()}","{days[-1].isoformat()}","{campaign.name}",'
                f'"{_italian(Decimal(int(spent) * 31))[:-3]}","{_italian(spent)}"'
            )
        month = following
    return ("\ufeff" + "\n".join(rows) + "\n").encode("utf-8")


def demo_costs_create(*, workspace: Workspace, now: dt.datetime) -> dict[str, int]:
    end = now.date()
    start = end - dt.timedelta(days=364)
    campaigns = list(Campaign.objects.for_workspace(workspace))
    by_utm = {c.utm_campaign: c for c in campaigns}
    google = [c for c in campaigns if c.channel_group == "paid_search"]
    meta = [c for c in campaigns if c.utm_campaign in ("agricoltura-4-0", "black-friday-ricambi")]
    reports = [
        costs_import(
            workspace=workspace,
            actor=None,
            content=google_ads_report(google, start, end),
            filename="Rapporto_campagne_Google_Ads.csv",
        ),
        costs_import(
            workspace=workspace,
            actor=None,
            content=meta_export(meta, start, end),
            filename="Officina-Rossi-Campagne-Meta.csv",
        ),
    ]
    manual = [
        ("fiera-eima", CostKind.FAIR, 0, Decimal("18500"), "Stand EIMA, 64 m²"),
        ("fieragricola-qr", CostKind.PRINT, -10, Decimal("1850"), "Cataloghi e cartelli QR"),
        ("fieragricola-qr", CostKind.FAIR, 0, Decimal("9800"), "Stand Fieragricola"),
        ("", CostKind.AGENCY, 0, Decimal("2400"), "Agenzia: gestione campagne (trimestre)"),
        ("", CostKind.TOOLS, 0, Decimal("490"), "Licenze strumenti grafici"),
    ]
    written = 0
    for utm, kind, offset, amount, note in manual:
        campaign = by_utm.get(utm)
        day = campaign.starts_on if campaign and campaign.starts_on else end - dt.timedelta(days=40)
        cost_create(
            workspace=workspace,
            actor=None,
            data={
                "campaign": campaign,
                "kind": kind,
                "day": day + dt.timedelta(days=offset),
                "amount": amount,
                "note": note,
            },
        )
        written += 1
    return {"imported": sum(r.created + r.updated for r in reports), "manual": written}
