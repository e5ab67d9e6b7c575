"""The customer-value page as a marketer sees it: figures, the two charts drawn in Chromium, the
customers at risk, the empty state, and keeping a fit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from volano.contacts.models import Contact
from volano.orders.models import Order
from volano.reports.models import ValueModel

AS_OF = dt.date(2026, 6, 30)


def _customers(workspace, n: int = 80, seed: int = 3) -> None:
    """`n` customers over half a year; a third stopped buying after a busy start (at risk)."""
    rng = np.random.default_rng(seed)
    contacts = Contact.objects.for_workspace(workspace).bulk_create(
        [
            Contact(workspace=workspace, email=f"cliente{i}@example.it", first_name=f"Cliente {i}")
            for i in range(n)
        ]
    )
    start = timezone.make_aware(dt.datetime(2026, 1, 5, 10))
    orders = []
    for i, contact in enumerate(contacts):
        stopped = i % 3 == 0
        days = [0]
        while days[-1] < (40 if stopped else 170):
            days.append(days[-1] + int(rng.integers(5, 20 if stopped else 45)))
        days = [d for d in days if d <= 175]
        for k, day in enumerate(days):
            orders.append(
                Order(
                    workspace=workspace,
                    contact=contact,
                    number=f"V-{i}-{k}",
                    ordered_at=start + dt.timedelta(days=day),
                    total=Decimal(str(round(float(rng.gamma(4, 12)), 2))),
                )
            )
    Order.objects.for_workspace(workspace).bulk_create(orders)


def test_an_empty_workspace_says_what_is_missing(client, giulia):
    client.force_login(giulia)
    response = client.get("/reports/customer-value/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Not enough orders yet" in text and "at least 20 customers" in text
    assert "NaN" not in text


def test_the_page_shows_value_risk_and_keeps_a_fit(client, giulia, officina):
    _customers(officina)
    client.force_login(giulia)
    response = client.get("/reports/customer-value/", {"as_of": AS_OF.isoformat()})
    text = response.content.decode()
    assert response.status_code == 200, text[:500]
    assert 'data-figure="customers">80<' in text
    assert 'data-testid="value-risky"' in text and "Cliente 0" in text  # stopped after a busy start
    assert "NaN" not in text and "nan" not in text.split('id="value-data"')[0]
    response = client.post("/reports/customer-value/", {"as_of": AS_OF.isoformat()})
    assert response.status_code == 302
    kept = ValueModel.objects.for_workspace(officina).get(as_of=AS_OF)
    assert kept.customers == 80 and kept.fitted_by == giulia


def test_a_viewer_reads_but_cannot_keep_a_fit(client, officina):
    from volano.core import services as core_services
    from volano.core.models import Role

    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/reports/customer-value/").status_code == 200
    assert client.post("/reports/customer-value/", {}).status_code == 403
    assert not ValueModel.objects.for_workspace(officina).exists()


@pytest.mark.browser
def test_the_charts_are_drawn(page, live_server, officina, tmp_path):
    _customers(officina)
    page.goto(f"{live_server.url}/reports/customer-value/?as_of={AS_OF.isoformat()}")
    page.wait_for_selector("#value-clv[data-drawn='true']")
    page.wait_for_selector("#value-alive[data-drawn='true']")
    assert page.locator("[data-testid=value-risky] tbody tr").count() > 0
    page.screenshot(path=str(tmp_path / "customer-value.png"), full_page=True)
