"""The funnel page draws the hand-off per month as a chart (vendored ECharts, canvas), under the
strict Content-Security-Policy, and keeps the figures in a table for screen readers."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts.services import contact_create
from volano.handoff.models import Assignment

VIEWPORT_WIDTH = 1440


@pytest.fixture
def passed(officina, giulia, marco):
    """Three leads passed to Marco: two 50 days ago (one accepted), one today (accepted)."""
    now = timezone.now()
    for name, days_ago, status in (
        ("anna", 50, "accepted"),
        ("luca", 50, "rejected"),
        ("sara", 0, "accepted"),
    ):
        contact = contact_create(workspace=officina, actor=giulia, data={"email": f"{name}@ex.it"})
        at = now - dt.timedelta(days=days_ago, hours=3)
        Assignment.objects.for_workspace(officina).create(
            workspace=officina,
            contact=contact,
            rep=marco,
            status=status,
            assigned_at=at,
            answered_at=at + dt.timedelta(hours=1),
        )


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="handoff-months" type="application/json">(.*?)</script>', html)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_the_page_gives_the_chart_its_months_and_keeps_the_table(client, giulia, passed):
    client.force_login(giulia)
    client.cookies["django_language"] = "it"
    html = client.get(reverse("lifecycle:funnel"), {"preset": "90"}).content.decode()
    assert 'id="handoff-chart"' in html and "lifecycle/handoff-chart.js" in html
    data = _chart_data(html)
    assert sum(data["leads"]) == 3 and sum(data["accepted"]) == 2
    # the chart's legend speaks the page's language, with the table's own words
    for label in data["labels"].values():
        assert f'<th scope="col" class="num">{label}</th>' in html
    assert data["labels"]["leads"] != "Leads passed"
    this_month = timezone.localdate()
    assert data["months"][-1].split()[-1] == str(this_month.year)
    assert data["months"][-1][0].isupper()  # "Dicembre 2026", as in the table
    assert data["leads"][-1] == 1 and data["rate"][-1] == 100.0
    assert "<table" in html.split('id="handoff-chart"', 1)[1]  # the same figures, as a table


@pytest.mark.django_db
def test_no_chart_when_no_lead_was_passed(client, giulia):
    client.force_login(giulia)
    html = client.get(reverse("lifecycle:funnel"), {"preset": "30"}).content.decode()
    assert 'id="handoff-chart"' not in html and "echarts.min.js" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_chart_is_drawn_in_chromium_under_the_csp(page, live_server, passed):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}{reverse('lifecycle:funnel')}?preset=90")
    chart = page.locator("#handoff-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    canvas = chart.locator("canvas")
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 150
    painted = page.evaluate(
        """() => {
          const c = document.querySelector('#handoff-chart canvas');
          const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
          return n;
        }"""
    )
    assert painted > 1000  # bars, axes and labels, not an empty canvas
    table = page.locator("details.month-table")
    table.locator("summary").click()
    expect(table.locator("tbody tr").last).to_contain_text("100.0%")
    # page fixture: no JavaScript error, no CSP violation
