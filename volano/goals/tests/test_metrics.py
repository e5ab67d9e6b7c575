"""Each goal metric, read in one statement, against an independent count in Python over the
same known rows: random contacts, stage changes, orders, deals, costs and deliveries at any hour
(so the days are the workspace's, Europe/Rome, not UTC), over several periods."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from volano.campaigns.models import CostEntry
from volano.contacts.models import Contact
from volano.deals.models import Deal
from volano.emails.models import Delivery, Mailing
from volano.goals import metrics
from volano.lifecycle.models import StageChange
from volano.orders.models import Order

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
FIRST = dt.date(2025, 12, 1)
DAYS = 120


def _moment(rng: random.Random) -> dt.datetime:
    day = FIRST + dt.timedelta(days=rng.randrange(DAYS))
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randrange(-120, 24 * 60)
    )


def _local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ROME).date()


@pytest.fixture
def known(officina):
    """The rows, written to the database and kept as plain Python for the oracle."""
    rng = random.Random(17)
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"c{i}@esempio.it", created_at=_moment(rng))
        for i in range(60)
    )
    changes = []
    for contact in contacts:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            changes.append(
                (contact.pk, rng.choice(["mql", "sql", "sql", "customer"]), _moment(rng))
            )
    StageChange.objects.bulk_create(
        StageChange(workspace=officina, contact_id=c, to_stage=s, changed_at=t, source="system")
        for c, s, t in changes
    )
    orders = [
        (rng.choice(contacts).pk if rng.random() < 0.9 else None, _moment(rng),
         Decimal(rng.randrange(100, 500_000)) / 100, rng.choice(["completed"] * 4 + ["cancelled"]))
        for _ in range(80)
    ]  # fmt: skip
    Order.objects.bulk_create(
        Order(workspace=officina, number=f"T-{i}", contact_id=c, ordered_at=t, total=v, status=s)
        for i, (c, t, v, s) in enumerate(orders)
    )
    deals = [
        (rng.choice(contacts).pk, _moment(rng), Decimal(rng.randrange(1000, 90_000)),
         rng.choice(["won", "won", "lost", "proposal"]))
        for _ in range(30)
    ]  # fmt: skip
    Deal.objects.bulk_create(
        Deal(workspace=officina, name=f"D{i}", contact_id=c, closed_at=t, amount=v, stage=s)
        for i, (c, t, v, s) in enumerate(deals)
    )
    costs = [
        (FIRST + dt.timedelta(days=rng.randrange(DAYS)), Decimal(rng.randrange(0, 90_000)) / 100)
        for _ in range(70)
    ]
    CostEntry.objects.bulk_create(
        CostEntry(workspace=officina, campaign_key=f"k{i}", channel="google_ads", day=d, amount=a)
        for i, (d, a) in enumerate(costs)
    )
    marketing = Mailing.objects.create(workspace=officina, kind="broadcast", renderer="template")
    transactional = Mailing.objects.create(
        workspace=officina, kind="transactional", renderer="template"
    )
    deliveries = []
    for contact in contacts:
        for mailing in (marketing, transactional):
            status = rng.choice(["sent", "sent", "sent", "bounced", "skipped"])
            sent = _moment(rng) if status != "skipped" else None
            opened = sent + dt.timedelta(hours=2) if sent and rng.random() < 0.3 else None
            clicked = sent + dt.timedelta(hours=3) if sent and rng.random() < 0.15 else None
            deliveries.append((mailing.kind, contact.pk, status, sent, opened, clicked))
    Delivery.objects.bulk_create(
        Delivery(
            workspace=officina,
            mailing=marketing if kind == "broadcast" else transactional,
            contact_id=c,
            status=s,
            sent_at=t,
            opened_at=o,
            clicked_at=k,
        )
        for kind, c, s, t, o, k in deliveries
    )
    return {
        "contacts": [(c.pk, c.created_at) for c in contacts],
        "changes": changes,
        "orders": orders,
        "deals": deals,
        "costs": costs,
        "deliveries": deliveries,
    }


def _firsts(changes, stage):
    """{contact: the moment of its first change to `stage`}."""
    out: dict[int, dt.datetime] = {}
    for contact, to, at in changes:
        if to == stage and (contact not in out or at < out[contact]):
            out[contact] = at
    return out


def oracle(known, key: str, first: dt.date, last: dt.date) -> float | None:
    def inside(moment) -> bool:
        return first <= _local(moment) <= last

    sqls = [c for c, at in _firsts(known["changes"], "sql").items() if inside(at)]
    customers = {c for c, at in _firsts(known["changes"], "customer").items() if inside(at)}
    orders = [(c, v) for c, t, v, s in known["orders"] if s == "completed" and inside(t)]
    deals = [(c, v) for c, t, v, s in known["deals"] if s == "won" and inside(t)]
    if key == "sqls":
        return len(sqls)
    if key == "new_customers":
        return len(customers)
    if key == "revenue":
        return float(sum(v for _c, v in orders + deals))
    if key == "new_customer_revenue":
        return float(sum(v for c, v in orders + deals if c in customers))
    if key == "won_deals":
        return float(sum(v for _c, v in deals))
    if key == "leads":
        return sum(1 for _c, at in known["contacts"] if inside(at))
    if key == "cac":
        spend = float(sum(a for d, a in known["costs"] if first <= d <= last))
        return spend / len(customers) if customers else None
    if key == "email_engagement":
        sent = [
            (o, k)
            for kind, _c, s, t, o, k in known["deliveries"]
            if kind == "broadcast" and s == "sent" and inside(t)
        ]
        return 100.0 * sum(1 for o, k in sent if o or k) / len(sent) if sent else None
    raise AssertionError(key)


PERIODS = [
    (FIRST, FIRST + dt.timedelta(days=DAYS)),
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),  # a quarter, its first day in UTC's December
    (dt.date(2026, 2, 10), dt.date(2026, 2, 24)),
    (dt.date(2027, 1, 1), dt.date(2027, 3, 31)),  # nothing there
]


@pytest.mark.parametrize("key", list(metrics.METRICS))
def test_each_metric_agrees_with_an_independent_count_in_one_statement(officina, known, key):
    metric = metrics.METRICS[key]
    for first, last in PERIODS:
        with CaptureQueriesContext(connection) as queries:
            got = metrics.metric_value(officina, metric, first, last)
        assert len(queries.captured_queries) == 1, (key, [q["sql"] for q in queries])
        want = oracle(known, key, first, last)
        if want is None:
            assert got is None, (key, first, last, got)
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-6), (key, first, last)
    nonzero = [oracle(known, key, first, last) for first, last in PERIODS[:3]]
    assert any(nonzero), f"the known data gives {key} nothing to count"


def test_the_days_add_up_to_the_period(officina, known):
    metric = metrics.METRICS["revenue"]
    first, last = PERIODS[1]
    days = metrics.daily(officina, metric, first, last)
    assert all(first <= day <= last for day in days)
    middle = dt.date(2026, 2, 14)
    before = sum(n for day, (n, _d) in days.items() if day <= middle)
    assert before == pytest.approx(oracle(known, "revenue", first, middle))
