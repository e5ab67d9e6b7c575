"""Giulia builds a segment by clicking in a real browser (Chromium), without typing JSON."""

import datetime as dt
import json
import os

import pytest
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.events.services import event_append
from volano.segments import selectors, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there


@pytest.fixture
def people(officina, giulia):
    now = timezone.now()
    for first, province, visits in (("Luca", "MI", 3), ("Sara", "MI", 1), ("Anna", "NA", 4)):
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "first_name": first,
                "last_name": "Test",
                "email": f"{first.lower()}@example.it",
                "province": province,
            },
        )
        for i in range(visits):
            event_append(
                workspace=officina,
                type="page_view",
                contact_id=contact.pk,
                occurred_at=now - dt.timedelta(days=i + 1),
                properties={"url": "https://officinarossi.it/prezzi"},
            )


def test_build_count_save_and_see_members(page, live_server, people):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/segments/new/")
    builder = page.locator("#builder")
    first = builder.locator(".cond-row").nth(0)
    first.locator("[data-role=value]").select_option(["MI"])
    expect(page.get_by_test_id("preview-count")).to_have_text("2")

    builder.get_by_role("button", name="+ Add a condition").first.click()
    second = builder.locator(".cond-row").nth(1)
    second.get_by_label("Condition type").select_option("event")
    second.get_by_label("What").select_option("page_view")
    second.get_by_role("button", name="+ Filter on a detail").click()
    second.locator("[data-role=prop_value]").fill("/prezzi")
    second.locator("[data-role=count]").fill("3")
    second.get_by_label("When", exact=True).select_option("within")
    second.locator("[data-role=within_days]").fill("30")

    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    expect(page.locator("#preview")).to_contain_text(
        "visited a page containing /prezzi at least 3 times in the last 30 days"
    )

    second.locator("[data-role=count]").fill("")
    expect(second.locator("[data-role=error]")).to_contain_text("expected a number")
    second.locator("[data-role=count]").fill("3")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "builder.png"), full_page=True)

    page.get_by_label("Name").fill("Prezzi Milano")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("h1")).to_contain_text("Prezzi Milano")
    members = page.locator("#results table")
    expect(members).to_contain_text("Luca Test")
    expect(members).not_to_contain_text("Sara Test")
    expect(members).not_to_contain_text("Anna Test")


@pytest.fixture
def buyers(officina, giulia):
    """Luca spent 5,500 in two orders and last visited the site 45 days ago; Sara spent 6,000
    but visited 5 days ago; Anna spent 2,000."""
    now = timezone.now()
    for first, orders, visited_days_ago in (
        ("Luca", ((40, 3000), (20, 2500)), 45),
        ("Sara", ((30, 6000),), 5),
        ("Anna", ((30, 2000),), 50),
    ):
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={"first_name": first, "last_name": "Test", "email": f"{first.lower()}@example.it"},
        )
        for days_ago, total in orders:
            event_append(
                workspace=officina,
                type="order",
                contact_id=contact.pk,
                occurred_at=now - dt.timedelta(days=days_ago),
                properties={"total": total, "product_lines": ["ricambi"]},
            )
        event_append(
            workspace=officina,
            type="page_view",
            contact_id=contact.pk,
            occurred_at=now - dt.timedelta(days=visited_days_ago),
            properties={"url": "https://officinarossi.it/"},
        )


def test_build_a_total_between_two_dates_and_a_last_visit(page, live_server, officina, buyers):
    from playwright.sync_api import expect

    today = timezone.localdate()
    low, high = (
        (today - dt.timedelta(days=60)).isoformat(),
        (today - dt.timedelta(days=10)).isoformat(),
    )
    page.goto(f"{live_server.url}/segments/new/")
    builder = page.locator("#builder")
    orders = builder.locator(".cond-row").nth(0)
    orders.get_by_label("Condition type").select_option("event")
    orders.get_by_label("What").select_option("order")
    orders.get_by_label("When", exact=True).select_option("between")
    orders.get_by_label("From (date)").fill(low)
    orders.get_by_label("To (date, included)").fill(high)
    more = orders.locator("details.event-more")
    expect(more).not_to_have_attribute("open", "")
    more.get_by_text("More options").click()
    orders.get_by_role("checkbox", name="and the total of").check()
    expect(orders.get_by_label("Which amount")).to_have_value("total")
    orders.get_by_label("The total", exact=True).select_option("gte")
    orders.get_by_label("Amount", exact=True).fill("5000")
    expect(page.get_by_test_id("preview-count")).to_have_text("2")

    builder.get_by_role("button", name="+ Add a condition").first.click()
    visits = builder.locator(".cond-row").nth(1)
    visits.get_by_label("Condition type").select_option("event")
    visits.get_by_label("What").select_option("page_view")
    visits.get_by_text("More options").click()
    visits.get_by_role("checkbox", name="the last time was").check()
    visits.get_by_label("When the last time was").select_option("older_than_days")
    visits.locator("[data-role=last_days]").fill("30")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override("en"):  # dates in the sentence are said as the language says them
        said_low, said_high = (
            date_format(dt.date.fromisoformat(d), "DATE_FORMAT") for d in (low, high)
        )
    description = (
        f"Placed an order for a total amount of at least 5,000 between {said_low} and "
        f"{said_high} and visited a page, the last time more than 30 days ago"
    )
    expect(page.locator("#preview")).to_contain_text(description)

    # The server's error lands on the row, on the control at fault.
    amount = orders.get_by_label("Amount", exact=True)
    amount.fill("")
    expect(orders.locator("[data-role=error]")).to_contain_text("expected a number")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(visits.locator("[data-role=error]")).to_be_empty()
    amount.fill("5000")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    expect(amount).not_to_have_attribute("aria-invalid", "true")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "builder-more.png"), full_page=True)

    page.get_by_label("Name").fill("Grandi clienti assenti")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("h1")).to_contain_text("Grandi clienti assenti")
    expect(page.locator(".rule-text")).to_contain_text(description)
    expect(page.locator("#results table")).to_contain_text("Luca Test")
    expect(page.locator("#results table")).not_to_contain_text("Sara Test")
    segment = selectors.segment_get(workspace=officina, slug_or_id="grandi-clienti-assenti")
    assert segment.definition == {
        "all": [
            {
                "event": "order",
                "sum": {"property": "total", "gte": 5000},
                "between": [low, high],
            },
            {"event": "page_view", "last": {"older_than_days": 30}},
        ]
    }


EDITABLE = {
    "all": [
        {
            "event": "order",
            "where": {"product_line": "ricambi"},
            "count": {"gte": 1},
            "sum": {"property": "total", "gte": 1000, "lte": 9000},
            "between": ["2025-01-01", "2025-12-31"],
        },
        {"event": "page_view", "first": {"before": "2025-06-01"}, "last": {"within_days": 30}},
        {"not": {"event": "email_clicked", "last": {"after": "2025-02-01"}, "within_days": 90}},
        {"event": "order", "count": {"gt": 2}},
    ]
}


def test_a_saved_rule_with_totals_and_dates_loads_editable_and_saves_unchanged(
    page, live_server, officina, giulia
):
    from playwright.sync_api import expect

    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="ricambi-2025",
        name="Ricambi 2025",
        definition=EDITABLE,
    )
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="grandi-clienti",
        name="Grandi clienti",
        definition={
            "event": "order",
            "sum": {"property": "total", "gte": 5000},
            "within_days": 365,
        },
    )
    page.goto(f"{live_server.url}/segments/ricambi-2025/edit/")
    rows = page.locator("#builder .cond-row")
    expect(rows).to_have_count(4)
    orders, visits, clicks, advanced = (rows.nth(i) for i in range(4))
    expect(orders).to_have_attribute("data-kind", "event")
    expect(orders.locator("details.event-more")).to_have_attribute("open", "")
    expect(orders.get_by_label("When", exact=True)).to_have_value("between")
    expect(orders.get_by_label("From (date)")).to_have_value("2025-01-01")
    expect(orders.get_by_label("To (date, included)")).to_have_value("2025-12-31")
    expect(orders.get_by_role("checkbox", name="and the total of")).to_be_checked()
    expect(orders.get_by_label("The total", exact=True)).to_have_value("between")
    expect(orders.get_by_label("Lowest amount")).to_have_value("1000")
    expect(orders.get_by_label("Highest amount")).to_have_value("9000")
    expect(visits.get_by_role("checkbox", name="the first time was")).to_be_checked()
    expect(visits.get_by_label("When the first time was")).to_have_value("before")
    expect(visits.locator("[data-role=first_date]")).to_have_value("2025-06-01")
    expect(visits.get_by_label("When the last time was")).to_have_value("within_days")
    expect(visits.locator("[data-role=last_days]")).to_have_value("30")
    expect(visits.get_by_label("When", exact=True)).to_have_value("any")
    expect(clicks.get_by_label("did", exact=True)).to_have_value("did_not")
    expect(clicks.locator("[data-role=within_days]")).to_have_value("90")
    expect(clicks.locator("[data-role=last_date]")).to_have_value("2025-02-01")
    # What the builder cannot say yet ("more than 2 times") stays as it is, read-only.
    expect(advanced).to_have_attribute("data-kind", "raw")
    expect(page.get_by_test_id("preview-count")).to_have_text("0")
    if SHOTS:
        page.locator("#builder").screenshot(path=os.path.join(SHOTS, "builder-loaded.png"))

    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("h1")).to_contain_text("Ricambi 2025")
    assert (
        selectors.segment_get(workspace=officina, slug_or_id="ricambi-2025").definition == EDITABLE
    )

    page.goto(f"{live_server.url}/segments/grandi-clienti/edit/")
    row = page.locator("#builder .cond-row")
    expect(row).to_have_attribute("data-kind", "event")
    expect(row.get_by_label("Amount", exact=True)).to_have_value("5000")
    expect(row.get_by_label("Number of days").first).to_have_value("365")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("h1")).to_contain_text("Grandi clienti")
    assert selectors.segment_get(workspace=officina, slug_or_id="grandi-clienti").definition == {
        "event": "order",
        "sum": {"property": "total", "gte": 5000},
        "within_days": 365,
    }


def test_the_demo_rules_load_editable_and_read_back_unchanged(page, live_server, officina):
    from playwright.sync_api import expect

    from volano.demo.segments import demo_segments_create

    demo_segments_create(workspace=officina)
    for segment in selectors.segment_list(workspace=officina):
        page.goto(f"{live_server.url}/segments/{segment.slug}/edit/")
        expect(page.locator("#builder .cond-row").first).to_be_visible()
        expect(page.locator("#builder .cond-row[data-kind=raw]")).to_have_count(0)
        read_back = page.locator("input[name=definition]").input_value()
        assert json.loads(read_back) == segment.definition, segment.slug
