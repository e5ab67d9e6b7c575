"""Cohort retention, related purchases and churn risk, each checked against an independent
computation on known orders; and what the pages say when there is nothing to show."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts.models import Contact
from volano.events.models import Event
from volano.orders.models import Order, OrderLine
from volano.reports import churn, cohorts, related
from volano.reports.models import ValueModel

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def _order(workspace, contact, day: dt.date, *lines: tuple[str, str]) -> Order:
    order = Order.objects.create(
        workspace=workspace, number=f"N{next(_numbers)}", contact=contact, total=Decimal(100),
        ordered_at=timezone.make_aware(dt.datetime.combine(day, dt.time(11))),
    )  # fmt: skip
    for sku, line in lines or (("SKU", "ricambi"),):
        OrderLine.objects.create(
            workspace=workspace, order=order, sku=sku, product_name=f"Prodotto {sku}",
            product_line=line, amount=Decimal(50),
        )  # fmt: skip
    return order


def _person(workspace, name: str) -> Contact:
    return Contact.objects.create(workspace=workspace, email=f"{name}@cliente.it", first_name=name)


def test_cohorts_are_the_shares_of_each_first_month_buying_again(officina):
    purchases = {
        "anna": ["2026-01-10", "2026-02-03", "2026-03-20"],
        "bruno": ["2026-01-25", "2026-03-02", "2026-03-28"],
        "carla": ["2026-01-31"],
        "dario": ["2026-02-14", "2026-03-01"],
        "elena": ["2025-06-01", "2026-01-15"],  # first order before the window: not a cohort
    }
    people = {name: _person(officina, name) for name in purchases}
    for name, days in purchases.items():
        for day in days:
            _order(officina, people[name], dt.date.fromisoformat(day))
    # Anna came from a newsletter (her first touch); the others have no touch
    Event.objects.create(
        workspace=officina, contact=people["anna"], type="page_view", channel="web",
        occurred_at=timezone.make_aware(dt.datetime(2026, 1, 2, 9)),
        utm_source="newsletter", utm_medium="email", properties={"url": "https://x.it/"},
    )  # fmt: skip
    as_of = dt.date(2026, 3, 31)
    data = cohorts.cohort_retention(officina, as_of=as_of, cohorts=3)

    # the same by hand: first month per customer, then who bought in each later month
    months = {n: sorted({d[:7] for d in days}) for n, days in purchases.items()}
    expected: dict[str, list[float]] = {}
    for first in ("2026-01", "2026-02", "2026-03"):
        members = [n for n, m in months.items() if m[0] == first]
        if not members:
            continue
        later = [f"2026-{int(first[5:]) + k:02d}" for k in range(4 - int(first[5:]))]
        expected[first] = [
            round(sum(1 for n in members if month in months[n]) / len(members), 4)
            for month in later
        ]
    assert data.months == list(expected)
    assert data.shares == list(expected.values())
    assert data.sizes == [3, 1]
    assert expected["2026-01"] == [1.0, round(1 / 3, 4), round(2 / 3, 4)]
    assert dict(data.channels) == {"unassigned": 4, "email": 1}

    email = cohorts.cohort_retention(officina, as_of=as_of, cohorts=3, channel="email")
    assert (email.months, email.shares) == (["2026-01"], [[1.0, 1.0, 1.0]])


def test_related_purchases_support_confidence_and_lift_by_hand(officina, api):
    baskets = {
        "c1": {"X", "Y"}, "c2": {"X", "Y"}, "c3": {"X"}, "c4": {"Y", "Z"},
        "c5": {"Z"}, "c6": {"X", "Y", "Z"},
    }  # fmt: skip
    day = dt.date(2026, 5, 4)
    for name, items in baskets.items():
        person = _person(officina, name)
        for i, sku in enumerate(sorted(items)):  # each item in its own order, days apart
            _order(officina, person, day + dt.timedelta(days=30 * i), (sku, f"linea-{sku}"))
    cancelled = _order(officina, _person(officina, "c7"), day, ("X", "linea-X"), ("Z", "linea-Z"))
    Order.objects.for_workspace(officina).filter(pk=cancelled.pk).update(status="cancelled")

    n = len(baskets)
    count = lambda *items: sum(1 for b in baskets.values() if set(items) <= b)  # noqa: E731
    expected = {
        ("X", b): (count("X", b), count("X", b) / n, count("X", b) / count("X"),
                   (count("X", b) / count("X")) / (count(b) / n))
        for b in ("Y", "Z")
    }  # fmt: skip
    data = related.related_purchases(officina, item="X", min_customers=1)
    got = {
        (r.antecedent, r.consequent): (r.together, r.support, r.confidence, r.lift)
        for r in data.rules
    }
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values)
    assert got[("X", "Y")][3] == pytest.approx((3 / 4) / (4 / 6))  # 1.125
    assert (data.customers, data.item_customers) == (6, 4)
    # the strongest first; a pair of one customer only is left out by default
    assert [r.consequent for r in data.rules] == ["Y", "Z"]
    assert [r.consequent for r in related.related_purchases(officina, item="X").rules] == ["Y"]
    # product lines, through the API
    body = api.get("/reports/related", product="linea-Y", level="line").json()
    assert body["customers"] == 6 and body["product_customers"] == 4
    assert {r["also_bought"]: r["lift"] for r in body["rules"]} == {
        "linea-X": pytest.approx((3 / 4) / (4 / 6), abs=1e-6),
        "linea-Z": pytest.approx((2 / 4) / (3 / 6), abs=1e-6),
    }


def test_churn_risk_lists_the_lapsed_customer_and_marks_them_once(officina, api):
    today = timezone.localdate()
    # the published CDNOW fit, kept as the nightly refit would keep one
    ValueModel.objects.create(
        workspace=officina, as_of=today, r=0.243, alpha=4.414, a=0.793, b=2.426,
        p=6.25, q=3.74, gamma=15.44, customers=2, repeat_customers=2,
    )  # fmt: skip
    lapsed, regular = _person(officina, "lapsed"), _person(officina, "regular")
    for weeks in (60, 59, 58, 57, 56):
        _order(officina, lapsed, today - dt.timedelta(weeks=weeks))
    for weeks in (20, 12, 6, 1):
        _order(officina, regular, today - dt.timedelta(weeks=weeks))
    rows = churn.churn_risk_list(officina, as_of=today)
    assert [r.contact_id for r in rows] == [lapsed.pk]
    # BG/NBD's P(alive) by hand: x = 4, t_x = 4 weeks, T = 60 weeks
    r, alpha, a, b, x, t_x, T = 0.243, 4.414, 0.793, 2.426, 4, 4.0, 60.0
    by_hand = 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    assert rows[0].p_alive == pytest.approx(by_hand)

    assert churn.churn_risk_mark(workspace=officina, as_of=today) == 1
    assert churn.churn_risk_mark(workspace=officina, as_of=today) == 0  # once per crossing
    [event] = Event.objects.for_workspace(officina).filter(type="custom", contact=lapsed)
    assert event.properties["name"] == "churn_risk"
    assert event.properties["p_alive"] == pytest.approx(by_hand, abs=1e-4)
    body = api.get("/reports/churn-risk").json()
    assert body["fitted_as_of"] == today.isoformat()
    assert [c["contact_id"] for c in body["customers"]] == [lapsed.pk]


def test_empty_workspace_every_page_and_route_says_so_in_words(client, officina, giulia, api):
    assert api.get("/reports/cohorts").json()["cohorts"] == []
    related_body = api.get("/reports/related", product="X").json()
    assert (related_body["customers"], related_body["rules"]) == (0, [])
    churn_body = api.get("/reports/churn-risk").json()
    assert (churn_body["fitted_as_of"], churn_body["customers"]) == (None, [])
    client.force_login(giulia)
    contact = _person(officina, "vuoto")
    pages = {
        reverse("reports:cohorts"): "Cohorts appear once customers have orders",
        reverse("reports:related") + "?product=X": "No customer has bought anything yet",
        reverse("reports:churn_risk"): "The customer-value model is not fitted yet",
        reverse("contacts:detail", args=[contact.pk]): "The customer-value model is not fitted yet",
    }
    for url, words in pages.items():
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        text = page.content.decode()
        assert page.status_code == 200, url
        assert words in text, url
        assert not re.search(r"\bnan\b|\bNone%", text, re.IGNORECASE), url
