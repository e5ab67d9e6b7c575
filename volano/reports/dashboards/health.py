"""The account health score: how well each customer account is doing, 0–100, and why.

An *account* is a company (its contacts and orders together) or a customer with no company; an
account is scored once it has an order. Six parts, each 0–100:

| part | from | points |
|---|---|---|
| recency | days since the last order | 100 up to 30 days, 0 from 365, straight line between |
| frequency | orders in the last 12 months | its percentile among the accounts (0 orders: 0) |
| value | order value in the last 12 months (workspace currency) | its percentile |
| engagement | human opens, clicks, replies, forms, page views in the last 90 days | its percentile |
| tickets | support tickets still open (`ticket` events: the latest status of each ticket) | 100 none, 50 one, 0 two or more |
| satisfaction | the latest `survey_answered`: NPS 0–10 ×10, CSAT 1–5 as (score−1)×25 | as scaled; no answer: left out |

The score is the weighted mean of the parts an account has (weights per workspace, editable);
below `at_risk_below` the account is at risk. Volano has no help-desk model: tickets are the
`ticket` events the help desk sends (properties `ticket` and `status` open/closed).

The parts are computed for every account by a few grouped statements and NumPy, kept in
`AccountHealth` and recomputed once a day (on the first read of the day, or `volano report
health --refresh`); the score is computed on read with the current weights.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.contacts.models import Company, Contact
from volano.core.models import Workspace
from volano.events.models import Event
from volano.orders.models import Order
from volano.reports.dashboards.figures import NOT_REVENUE
from volano.reports.dashboards.models import AccountHealth, HealthWeights

PARTS = ("recency", "frequency", "value", "engagement", "tickets", "satisfaction")
PART_LABELS = {
    "recency": _("Recency of orders"),
    "frequency": _("Frequency of orders"),
    "value": _("Value of orders"),
    "engagement": _("Engagement"),
    "tickets": _("Open support tickets"),
    "satisfaction": _("Satisfaction answers"),
}
ENGAGEMENT_TYPES = ("email_opened", "email_clicked", "email_replied", "form_submitted", "page_view")
RECENT_FULL, RECENT_NONE = 30, 365


def weights_get(workspace: Workspace) -> HealthWeights:
    weights = HealthWeights.objects.for_workspace(workspace).first()
    return weights or HealthWeights(workspace=workspace)


def _account() -> Any:
    """An account as one integer: a company's id, or minus the contact's id."""
    return Coalesce(F("contact__company_id"), -F("contact_id"), output_field=IntegerField())


def percentile(values: np.ndarray) -> np.ndarray:
    """Each value's percentile among all (ties share their mean rank), 0–100; zeros score 0."""
    if len(values) < 2:
        return np.where(values > 0, 100.0, 0.0)
    _unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based
    ranks = (mean_rank[inverse] - 1) / (len(values) - 1) * 100
    return np.where(values > 0, ranks, 0.0)


def recency_points(days: np.ndarray) -> np.ndarray:
    span = RECENT_NONE - RECENT_FULL
    return np.clip((RECENT_NONE - days) / span * 100, 0, 100)


def satisfaction_points(kind: str, score: float) -> float:
    if kind == "csat" or (kind != "nps" and score > 10):
        return max(0.0, min(100.0, (score - 1) * 25))
    return max(0.0, min(100.0, score * 10))


def health_compute(workspace: Workspace, *, today: dt.date | None = None) -> int:
    """Compute every account's parts and replace the kept ones. Returns the accounts."""
    now = timezone.now()
    today = today or now.date()
    year_ago = now - dt.timedelta(days=365)
    orders = (
        Order.objects.for_workspace(workspace)
        .exclude(status__in=NOT_REVENUE)
        .filter(contact_id__isnull=False)
        .annotate(
            account=Coalesce(
                F("company_id"),
                F("contact__company_id"),
                -F("contact_id"),
                output_field=IntegerField(),
            )
        )
        .values("account")
        .annotate(
            last=Max("ordered_at"),
            n=Count("id", filter=Q(ordered_at__gte=year_ago)),
            value=Sum("total", filter=Q(ordered_at__gte=year_ago, currency=workspace.currency)),
        )
    )
    accounts = {row["account"]: row for row in orders}
    if not accounts:
        AccountHealth.objects.for_workspace(workspace).delete()
        return 0
    keys = np.array(sorted(accounts), dtype=np.int64)
    index = {int(k): i for i, k in enumerate(keys)}
    days = np.array([(now - accounts[k]["last"]).total_seconds() / 86400 for k in keys.tolist()])
    n12 = np.array([accounts[k]["n"] for k in keys.tolist()], dtype=float)
    v12 = np.array([float(accounts[k]["value"] or 0) for k in keys.tolist()])

    human = Q(properties__label__isnull=True) | Q(properties__label="human")
    engaged = np.zeros(len(keys))
    for row in (
        Event.objects.for_workspace(workspace)
        .filter(
            occurred_at__gte=now - dt.timedelta(days=90),
            type__in=ENGAGEMENT_TYPES,
            contact_id__isnull=False,
        )
        .filter(~Q(type__in=["email_opened", "email_clicked"]) | human)
        .annotate(account=_account())
        .values("account")
        .annotate(n=Count("id"))
    ):
        if (i := index.get(row["account"])) is not None:
            engaged[i] = row["n"]

    open_tickets = np.zeros(len(keys))
    tickets = (
        Event.objects.for_workspace(workspace)
        .filter(type="ticket", contact_id__isnull=False)
        .annotate(account=_account(), ticket=KeyTextTransform("ticket", "properties"))
        .values("account", "ticket")
        .annotate(
            opened=Max("occurred_at", filter=Q(properties__status="open")),
            closed=Max("occurred_at", filter=Q(properties__status="closed")),
        )
    )
    for row in tickets:
        still = row["opened"] is not None and (
            row["closed"] is None or row["closed"] < row["opened"]
        )
        if still and (i := index.get(row["account"])) is not None:
            open_tickets[i] += 1

    satisfaction: list[float | None] = [None] * len(keys)
    latest: dict[int, tuple] = {}
    for account, at, kind, score in (
        Event.objects.for_workspace(workspace)
        .filter(type="survey_answered", contact_id__isnull=False)
        .annotate(
            account=_account(),
            kind=KeyTextTransform("kind", "properties"),
            score=KeyTextTransform("score", "properties"),
        )
        .values_list("account", "occurred_at", "kind", "score")
    ):
        if account in index and (account not in latest or latest[account][0] < at):
            latest[account] = (at, kind or "", score)
    for account, (_at, kind, score) in latest.items():
        try:
            satisfaction[index[account]] = satisfaction_points(kind, float(score))
        except (TypeError, ValueError):
            continue

    recency = recency_points(days)
    frequency, value, engagement = percentile(n12), percentile(v12), percentile(engaged)
    ticket_points = np.clip(100 - 50 * open_tickets, 0, 100)
    companies = dict(
        Company.objects.for_workspace(workspace)
        .filter(pk__in=[int(k) for k in keys if k > 0])
        .values_list("pk", "name")
    )
    people = {
        pk: (f"{first} {last}".strip() or email)
        for pk, first, last, email in Contact.objects.for_workspace(workspace)
        .filter(pk__in=[int(-k) for k in keys if k < 0])
        .values_list("pk", "first_name", "last_name", "email")
    }
    rows = []
    for i, key in enumerate(keys.tolist()):
        is_company = key > 0
        rows.append(
            AccountHealth(
                workspace=workspace,
                company_id=key if is_company else None,
                contact_id=None if is_company else -key,
                name=(companies.get(key) if is_company else people.get(-key)) or "",
                days_since_order=int(days[i]),
                orders_12m=int(n12[i]),
                value_12m=float(v12[i]),
                engagement_90d=int(engaged[i]),
                open_tickets=int(open_tickets[i]),
                satisfaction_last=satisfaction[i],
                recency=float(recency[i]),
                frequency=float(frequency[i]),
                value=float(value[i]),
                engagement=float(engagement[i]),
                tickets=float(ticket_points[i]),
                satisfaction=satisfaction[i],
                computed_on=today,
            )
        )
    with transaction.atomic():
        AccountHealth.objects.for_workspace(workspace).delete()
        AccountHealth.objects.for_workspace(workspace).bulk_create(rows, batch_size=5000)
        scores_write(workspace)
    return len(rows)


def health_ensure(workspace: Workspace) -> None:
    """Recompute the parts when they are not today's."""
    today = timezone.now().date()
    kept = AccountHealth.objects.for_workspace(workspace)
    if not kept.filter(computed_on=today).exists() and (
        kept.exists() or Order.objects.for_workspace(workspace).exists()
    ):
        health_compute(workspace, today=today)
    elif kept.filter(score__isnull=True).exclude(recency__isnull=True).exists():
        scores_write(workspace)  # parts computed before the scores were kept


def score_expression(weights: HealthWeights) -> Any:
    """The weighted mean of the parts with these weights (null when no part with a weight is
    known), in SQL."""
    numerator: Any = Value(0.0)
    denominator: Any = Value(0.0)
    for part in PARTS:
        w = float(getattr(weights, part))
        numerator = numerator + Coalesce(F(part), Value(0.0)) * Value(w)
        denominator = denominator + Case(
            When(**{f"{part}__isnull": False}, then=Value(w)), default=Value(0.0)
        )
    return Case(
        When(GreaterThan(denominator, Value(0.0)), then=numerator / denominator),
        default=Value(None),
        output_field=FloatField(),
    )


def scores_write(workspace: Workspace, weights: HealthWeights | None = None) -> int:
    """Keep every account's score with these weights (one UPDATE): after the parts are
    computed and whenever a weight changes."""
    weights = weights or weights_get(workspace)
    return AccountHealth.objects.for_workspace(workspace).update(score=score_expression(weights))


def scored(workspace: Workspace, weights: HealthWeights | None = None) -> QuerySet:
    """The kept accounts with their `score` (the weighted mean of their parts with the
    workspace's weights, kept by `scores_write`)."""
    return AccountHealth.objects.for_workspace(workspace)


def explain(account: AccountHealth, weights: HealthWeights) -> list[dict]:
    """Each part: its points, its weight's share and what it adds to the score."""
    present = [p for p in PARTS if getattr(account, p) is not None]
    total = sum(float(getattr(weights, p)) for p in present)
    raw = {
        "recency": account.days_since_order,
        "frequency": account.orders_12m,
        "value": account.value_12m,
        "engagement": account.engagement_90d,
        "tickets": account.open_tickets,
        "satisfaction": account.satisfaction_last,
    }
    out = []
    for part in PARTS:
        points = getattr(account, part)
        share = float(getattr(weights, part)) / total if total and points is not None else 0.0
        out.append(
            {
                "part": part,
                "label": PART_LABELS[part],
                "raw": raw[part],
                "points": points,
                "weight": getattr(weights, part),
                "share": share,
                "adds": (points or 0) * share,
            }
        )
    return out


def health_summary(workspace: Workspace, *, limit: int = 10) -> dict:
    """The accounts at risk (lowest score first) and the counts, for the widget and the API."""
    health_ensure(workspace)
    weights = weights_get(workspace)
    accounts = scored(workspace, weights)
    at_risk = accounts.filter(score__lt=weights.at_risk_below)
    counts = accounts.aggregate(
        total=Count("id"), at_risk=Count("id", filter=Q(score__lt=weights.at_risk_below))
    )
    return {
        "weights": weights,
        "accounts": counts["total"],
        "at_risk": counts["at_risk"],
        "rows": list(at_risk.order_by("score", "-value_12m", "pk")[:limit]),
    }
