"""The demo workspace's budget plan for the current year, built from its own campaigns and costs
(the demo loader calls this after the response model): a line per campaign running this year
(its budget over its months), a line per channel of the weekly spend file (last year's spend
per month, 5% more), the agency and the tools at their full cost of ownership, people's time
with hours logged since January, training, a reserve; then one line changed and a review at the
end of the last quarter, so the history page has a version 2 to read back."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import ExtractMonth

from volano.budgets import plan_selectors, plan_services
from volano.budgets.plan_models import TimeLog
from volano.budgets.plan_templates import spread
from volano.campaigns.costs.selectors import costs_in
from volano.campaigns.models import Campaign
from volano.core.models import Workspace

CENT = Decimal("0.01")
MEDIA = {
    "paid_search": ("media", "search"),
    "paid_social": ("media", "social"),
    "display": ("media", "display"),
    "offline": ("training", "event"),
    "email": ("tools", "licence"),
    "organic_search": ("agency", "agency"),
}
# the weekly spend file's channels: (line name, kind, item, maturity, team)
CHANNELS = {
    "google_ads": ("Google Ads – campagne sempre attive", "media", "search", "proven", "marketing"),
    "meta_ads": ("Meta Ads – pubblico agricolo", "media", "social", "proven", "marketing"),
    "linkedin_ads": (
        "LinkedIn Ads – aziende agricole e contoterzisti",
        "media",
        "social",
        "new",
        "shared",
    ),
    "display": ("Display – siti di settore", "media", "display", "experiment", "marketing"),
    "fiere": ("Fiere locali e open day", "training", "event", "proven", "shared"),
    "stampa": ("Stampa di settore", "media", "other_media", "proven", "marketing"),
}


def _months_active(campaign: Campaign, year: int) -> list[float]:
    weights = []
    start = campaign.starts_on or dt.date(year, 1, 1)
    end = campaign.ends_on or dt.date(year, 12, 31)
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        days = (min(last, end) - max(first, start)).days + 1
        weights.append(max(days, 0))
    return [float(w) for w in weights]


def _campaign_lines(workspace: Workspace, year: int) -> list[dict]:
    lines = []
    for campaign in (
        Campaign.objects.for_workspace(workspace).filter(archived_at__isnull=True).order_by("pk")
    ):
        weights = _months_active(campaign, year)
        if not sum(weights) or not campaign.budget:
            continue
        start = campaign.starts_on or dt.date(year, 1, 1)
        end = campaign.ends_on or dt.date(year + 1, 12, 31)
        # a campaign with no end has a budget a year; else its budget over its days
        days = 365 if campaign.ends_on is None else max((end - start).days + 1, 1)
        share = Decimal(str(min(sum(weights) / days, 1.0)))
        kind, item = MEDIA.get(campaign.channel_group, ("media", ""))
        long_running = campaign.ends_on is None
        lines.append(
            {
                "name": campaign.name,
                "kind": kind,
                "item": item,
                "campaign": campaign.pk,
                "maturity": "proven"
                if long_running
                else ("new" if "LinkedIn" not in campaign.name else "experiment"),
                "team": "shared" if campaign.channel_group == "offline" else "marketing",
                "months": spread((campaign.budget * share).quantize(Decimal(1)), tuple(weights)),
            }
        )
    return lines


def _channel_lines(workspace: Workspace, year: int) -> list[dict]:
    last_year = (
        costs_in(workspace, dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31))
        .filter(channel__in=list(CHANNELS))
        .annotate(month=ExtractMonth("day"))
        .values("channel", "month")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    months: dict[str, list[Decimal]] = {c: [Decimal(0)] * 12 for c in CHANNELS}
    for row in last_year:
        months[row["channel"]][int(row["month"]) - 1] = row["total"] or Decimal(0)
    lines = []
    for channel, (name, kind, item, maturity, team) in CHANNELS.items():
        total = sum(months[channel], Decimal(0))
        if not total:
            continue
        lines.append(
            {
                "name": name,
                "kind": kind,
                "item": item,
                "channel": channel,
                "maturity": maturity,
                "team": team,
                "months": spread(
                    (total * Decimal("1.05")).quantize(Decimal(1)),
                    tuple(float(m) for m in months[channel]),
                ),
            }
        )
    return lines


FIXED: list[dict[str, Any]] = [
    {
        "name": "Agenzia – gestione campagne",
        "kind": "agency",
        "item": "agency",
        "total": "9600",
        "committed": "9600",
    },
    {
        "name": "Software grafico – licenze",
        "kind": "tools",
        "item": "licence",
        "total": "1960",
        "committed": "1960",
    },
    {"name": "CRM Volano – hosting", "kind": "tools", "item": "hosting", "total": "720"},
    {
        "name": "CRM Volano – integrazione con l'e-commerce",
        "kind": "tools",
        "item": "integration",
        "months": [0, 0, 1500] + [0] * 9,
    },
    {
        "name": "CRM Volano – formazione del team",
        "kind": "tools",
        "item": "tool_training",
        "months": [0, 0, 0, 800] + [0] * 8,
    },
    {
        "name": "Corso Google Ads avanzato",
        "kind": "training",
        "item": "course",
        "maturity": "new",
        "months": [0, 1200] + [0] * 10,
    },
]


def demo_plan_create(*, workspace: Workspace, now: dt.datetime, actor: Any = None) -> dict:
    today = now.date()
    year = today.year
    lines = _campaign_lines(workspace, year) + _channel_lines(workspace, year)
    lines += [dict(line) for line in FIXED]
    lines += [
        {
            "name": "Responsabile marketing",
            "kind": "people",
            "role": "Responsabile marketing",
            "hours": "440",
            "hourly_rate": "42",
            "activities": "campagne, fiere, newsletter, rapporti con l'agenzia",
        },
        {
            "name": "Commerciali – richiamo dei contatti delle fiere",
            "kind": "people",
            "role": "Commerciale",
            "hours": "160",
            "hourly_rate": "35",
            "team": "shared",
            "maturity": "new",
            "activities": "telefonate e offerte ai contatti raccolti in fiera",
        },
    ]
    planned = sum(
        (sum(Decimal(str(m)) for m in line.get("months", [])) for line in lines), Decimal(0)
    )
    lines.append(
        {
            "name": "Riserva",
            "kind": "reserve",
            "total": str((planned * Decimal("0.05")).quantize(Decimal(1))),
        }
    )
    plan = plan_services.plan_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": f"Piano marketing {year}",
            "year": year,
            "notes": "Costruito da campagne e costi del "
            "workspace: una voce per campagna, una per canale della spesa settimanale.",
        },
        lines=lines,
    )
    by_role = {line.role: line for line in plan_selectors.people_lines(plan)}
    logs = []
    day = dt.date(year, 1, 5)
    while day <= today:
        logs.append(
            TimeLog(
                workspace=workspace,
                line=by_role["Responsabile marketing"],
                person="Giulia Verdi",
                role="Responsabile marketing",
                day=day,
                hours=Decimal("8.5"),
                activity="campagne e newsletter",
            )
        )
        if day.month in (2, 3, 10, 11, 12):
            logs.append(
                TimeLog(
                    workspace=workspace,
                    line=by_role["Commerciale"],
                    person="Marco Neri",
                    role="Commerciale",
                    day=day,
                    hours=Decimal("4"),
                    activity="richiamo dei contatti delle fiere",
                )
            )
        day += dt.timedelta(days=7)
    TimeLog.objects.bulk_create(logs)
    # the end of the last quarter: print moved to LinkedIn, then the review
    last_month = 3 * ((today.month - 1) // 3)
    last_day = (
        dt.date(year, last_month, calendar.monthrange(year, last_month)[1]) if last_month else today
    )
    rows = {line.channel: line for line in plan_selectors.plan_lines(plan) if line.channel}
    if "stampa" in rows and "linkedin_ads" in rows:
        print_line, linkedin = rows["stampa"], rows["linkedin_ads"]
        moved = (print_line.total * Decimal("0.3")).quantize(Decimal(1))
        plan_services.line_update(
            workspace=workspace,
            actor=actor,
            plan_id=plan.pk,
            line_id=print_line.pk,
            data={"total": str(print_line.total - moved)},
        )
        plan_services.line_update(
            workspace=workspace,
            actor=actor,
            plan_id=plan.pk,
            line_id=linkedin.pk,
            data={"total": str(linkedin.total + moved)},
        )
    reviewed = plan_services.review_record(
        workspace=workspace,
        actor=actor,
        plan_id=plan.pk,
        reviewed_on=last_day,
        today=today,
        notes="Revisione trimestrale. La stampa di settore porta pochi contatti: il 30% del suo "
        "budget passa a LinkedIn Ads, che in primavera ha portato richieste di preventivo dai "
        "contoterzisti. Le fiere restano la voce più redditizia.",
    )
    return {"plan": plan.pk, "lines": len(lines), "time_logs": len(logs), "review": reviewed.pk}
