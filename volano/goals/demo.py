"""The demo workspace's three SMART goals (the demo loader calls this last, when every story is
in): the quarter's SQLs, owned by the marketer and shared with sales; the year's revenue from new
customers, owned by the administrator; and the quarter's won deals of the sales rep Marco Neri,
counted on his own deals only (he sees it, and the shared one, not the administrator's). Their targets are set from the
demo's own pace, so the first is on track and the second behind, whatever day the demo is
loaded."""

from __future__ import annotations

import datetime as dt
import math

from volano.core.models import User, Workspace
from volano.goals import metrics, services

MARKETER = "giulia.verdi@officinarossi.it"
ADMIN = "demo@volano.local"
REP = "marco.neri@officinarossi.it"


def _pace(
    workspace: Workspace,
    key: str,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    owner: int | None = None,
) -> float:
    """The metric at the deadline if it kept the pace it has had since the start."""
    metric = metrics.METRICS[key]
    so_far = metrics.metric_value(workspace, metric, start, today, owner) or 0.0
    share = ((today - start).days + 1) / ((end - start).days + 1)
    return so_far / share if share > 0 else so_far


def demo_goals_create(*, workspace: Workspace, now: dt.datetime) -> list[int]:
    today = now.astimezone(metrics.zone_of(workspace)).date()
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    quarter_end = (quarter_start + dt.timedelta(days=92)).replace(day=1) - dt.timedelta(days=1)
    year_start, year_end = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    marketer = User.objects.filter(email=MARKETER).first()
    admin = User.objects.filter(email=ADMIN).first() or marketer
    rep = User.objects.filter(email=REP).first() or marketer
    sqls = max(10, math.floor(0.9 * _pace(workspace, "sqls", quarter_start, quarter_end, today)))
    revenue = 1.15 * _pace(workspace, "new_customer_revenue", year_start, year_end, today)
    revenue = max(50_000, round(revenue, -4))
    rep_pace = _pace(
        workspace, "won_deals", quarter_start, quarter_end, today, rep.pk if rep else None
    )
    won = max(5_000, round(1.05 * rep_pace, -3))
    made = [
        services.goal_create(
            workspace=workspace,
            actor=None,
            data={
                "name": f"{sqls} SQL nel trimestre",
                "metric": "sqls",
                "target": sqls,
                "start_on": quarter_start,
                "deadline": quarter_end,
                "owner": marketer,
                "notes": "Le vendite chiedono lead qualificati costanti per i quattro agenti.",
                "shared": True,
            },
        ),
        services.goal_create(
            workspace=workspace,
            actor=None,
            data={
                "name": f"Fatturato da nuovi clienti {today.year}",
                "metric": "new_customer_revenue",
                "target": revenue,
                "start_on": year_start,
                "deadline": year_end,
                "owner": admin,
                "notes": "Il piano di marketing dell'anno si giustifica con i nuovi clienti.",
            },
        ),
        services.goal_create(
            workspace=workspace,
            actor=None,
            data={
                "name": "Trattative vinte nel trimestre",
                "metric": "won_deals",
                "target": won,
                "start_on": quarter_start,
                "deadline": quarter_end,
                "owner": rep,
                "scope": "owner",
                "notes": "Le trattative che Marco chiude nel Nord-Ovest: il ritmo che si è "
                "impegnato a tenere.",
            },
        ),
    ]
    return [goal.pk for goal in made]
