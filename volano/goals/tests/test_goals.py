"""SMART goals as Giulia (marketer) sets and reads them: through the API and the pages, with
their progress against the straight line, and bad input answered in words naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from volano.campaigns.models import CostEntry
from volano.contacts.models import Contact
from volano.core.models import Activity
from volano.goals import selectors, services
from volano.goals.models import Goal
from volano.lifecycle.models import StageChange

pytestmark = pytest.mark.django_db


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def english(api):
    api.headers["Accept-Language"] = "en"
    return api


@pytest.fixture
def sqls(officina):
    """Twelve contacts: one becomes SQL on each of the first 12 days of January 2026 (one of
    them again later, counted once), and one was SQL already in December (not counted)."""
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"s{i}@esempio.it") for i in range(13)
    )
    moves = [
        (c.pk, dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i, c in enumerate(contacts[:12])
    ]
    moves += [(contacts[0].pk, dt.date(2026, 1, 20)), (contacts[12].pk, dt.date(2025, 12, 20))]
    moves += [(contacts[12].pk, dt.date(2026, 1, 5))]
    StageChange.objects.bulk_create(
        StageChange(workspace=officina, contact_id=c, to_stage="sql", changed_at=_noon(d),
                    source="system")
        for c, d in moves
    )  # fmt: skip
    return contacts


def _goal(officina, giulia, **data) -> Goal:
    base = {
        "name": "120 SQL nel primo trimestre",
        "metric": "sqls",
        "target": 90,
        "start_on": "2026-01-01",
        "deadline": "2026-03-31",
        "owner": giulia.pk,
    }
    return services.goal_create(workspace=officina, actor=giulia, data={**base, **data})


def test_progress_is_read_against_the_straight_line_to_the_target(officina, giulia, sqls):
    goal = _goal(officina, giulia)
    day_30 = selectors.goal_progress(goal, today=dt.date(2026, 1, 30))
    assert day_30.value == 12  # the December SQL and the second move do not count
    assert day_30.expected == pytest.approx(90 * 30 / 90)  # 30 of the 90 days gone
    assert day_30.status == "behind"
    assert day_30.projected == pytest.approx(12 / (30 / 90))
    assert day_30.series[0] == ("2026-01-01", 1) and day_30.series[-1] == ("2026-01-30", 12)
    assert day_30.line == [("2025-12-31", 0.0), ("2026-03-31", 90.0)]
    day_10 = selectors.goal_progress(goal, today=dt.date(2026, 1, 10))
    assert (day_10.value, day_10.expected, day_10.status) == (10, 10, "on_track")
    assert selectors.goal_progress(goal, today=dt.date(2025, 12, 1)).status == "upcoming"
    assert selectors.goal_progress(goal, today=dt.date(2026, 4, 2)).status == "missed"
    small = _goal(officina, giulia, target=12)
    assert selectors.goal_progress(small, today=dt.date(2026, 1, 30)).status == "achieved"


def test_a_cost_per_customer_starts_from_its_value_before_the_start_and_must_go_down(
    officina, giulia
):
    """CAC: €1,000 for 2 customers in the 31 days before (500 each), then €900 for 3."""
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"k{i}@esempio.it") for i in range(5)
    )
    days = [dt.date(2025, 12, 10), dt.date(2025, 12, 20)] + [dt.date(2026, 1, d) for d in (3, 4, 5)]
    StageChange.objects.bulk_create(
        StageChange(workspace=officina, contact_id=c.pk, to_stage="customer",
                    changed_at=_noon(d), source="order")
        for c, d in zip(contacts, days, strict=True)
    )  # fmt: skip
    CostEntry.objects.bulk_create(
        CostEntry(workspace=officina, campaign_key=key, day=d, amount=Decimal(a))
        for key, d, a in (
            ("a", dt.date(2025, 12, 5), 600), ("b", dt.date(2025, 12, 15), 400),
            ("c", dt.date(2026, 1, 2), 900),
        )
    )  # fmt: skip
    goal = _goal(
        officina, giulia, name="CAC sotto 250 €", metric="cac", target="250",
        start_on="2026-01-01", deadline="2026-01-31",
    )  # fmt: skip
    assert goal.start_value == Decimal("500.00")  # measured on December
    progress = selectors.goal_progress(goal, today=dt.date(2026, 1, 16))
    assert progress.value == pytest.approx(300)
    assert progress.expected == pytest.approx(500 - 250 * 16 / 31)
    assert progress.status == "on_track"  # 300 is below the line: lower is better
    assert selectors.goal_progress(goal, today=dt.date(2026, 2, 1)).status == "missed"


def test_the_api_sets_reads_changes_and_deletes_a_goal(english, officina, giulia, sqls):
    created = english.post(
        "/goals",
        {"name": "SQL Q1", "metric": "sqls", "target": "1.200", "start": "2026-01-01",
         "deadline": "2026-03-31", "owner": "giulia@officinarossi.it"},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["target"] == 1200 and body["start"] == "2026-01-01"
    assert body["owner"] == giulia.email and body["metric_label"] == "SQLs"
    goal_id = body["id"]
    progress = english.get(f"/goals/{goal_id}/progress").json()
    assert progress["value"] == 12 or progress["status"] in ("missed", "achieved")
    assert progress["line"][-1] == {"day": "2026-03-31", "value": 1200.0}
    changed = english.put(f"/goals/{goal_id}", {"target": 100})
    assert changed.status_code == 200 and changed.json()["target"] == 100
    listed = english.get("/goals").json()
    assert [g["id"] for g in listed["items"]] == [goal_id]
    assert {m["key"] for m in english.get("/goals/metrics").json()} >= {
        "sqls", "new_customer_revenue", "cac", "email_engagement", "leads", "won_deals",
    }  # fmt: skip
    assert english.delete(f"/goals/{goal_id}").status_code == 204
    assert not Goal.objects.for_workspace(officina).exists()
    verbs = set(Activity.objects.for_workspace(officina).values_list("verb", flat=True))
    assert {"goals.goal_created", "goals.goal_updated", "goals.goal_deleted"} <= verbs


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"deadline": "2025-12-01"}, "deadline", "must come after the start"),
        ({"target": 0}, "target", "must be more than 0"),
        ({"target": "12,5"}, "target", "is a count: the target must be a whole number"),
        ({"metric": "followers"}, "metric", "“followers” is not a metric Volano measures"),
        ({"metric": "email_engagement", "target": 140}, "target", "100 at most"),
        ({"target": "tanti"}, "target", "must be a number (given “tanti”)"),
        ({"owner": "nessuno@altrove.it"}, "owner", "is not a member of this workspace"),
        ({"start": "31/01/2026"}, "start_on", "must be a date as YYYY-MM-DD"),
        ({"start_value": 5}, "start_value", "is a total counted from the start"),
    ],
)
def test_bad_input_is_refused_in_words_naming_the_field(english, giulia, change, field, words):
    data = {"name": "SQL Q1", "metric": "sqls", "target": 90, "start": "2026-01-01",
            "deadline": "2026-03-31", "owner": giulia.pk}  # fmt: skip
    response = english.post("/goals", {**data, **change})
    assert response.status_code == 422, response.content
    errors = response.json()["error"]["errors"] if "errors" in response.json()["error"] else [
        response.json()["error"]
    ]  # fmt: skip
    assert any(e.get("field") == field and words in e["message"] for e in errors), errors


def test_the_pages_list_a_goal_show_its_chart_and_refuse_bad_input_next_to_the_field(
    client, officina, giulia, sqls
):
    client.force_login(giulia)
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    bad = client.post(
        "/goals/",
        {"name": "SQL Q1", "metric": "sqls", "target": "0", "start_on": "2026-01-01",
         "deadline": "2025-12-01", "owner": str(giulia.pk)},
        **en,
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "must come after the start" in text and "must be more than 0" in text
    start = timezone.localdate() - dt.timedelta(days=40)
    made = client.post(
        "/goals/",
        {"name": "SQL del trimestre", "metric": "sqls", "target": "1.200",
         "start_on": start.isoformat(), "deadline": (start + dt.timedelta(days=89)).isoformat(),
         "owner": str(giulia.pk)},
        **en,
    )  # fmt: skip
    assert made.status_code == 302, made.content.decode()[:2000]
    detail = client.get(made["Location"], **en).content.decode()
    assert 'id="goal-chart"' in detail and 'id="goal-data"' in detail
    assert "Expected by today" in detail and 'data-testid="goal-status"' in detail
    listing = client.get("/goals/", **en).content.decode()
    assert "SQL del trimestre" in listing and "1,200" in listing
    assert "What each metric counts" in listing
    italian = client.get("/goals/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "1.200" in italian  # the target with the Italian separator


def test_a_plan_page_can_show_the_goals_of_its_period_beside_it(rf, officina, giulia, sqls):
    from django.template import Context, Template
    from django.utils import translation

    _goal(officina, giulia, name="SQL del primo trimestre")
    _goal(officina, giulia, name="SQL del 2027", start_on="2027-01-01", deadline="2027-03-31")
    request = rf.get("/budgets/")
    request.workspace = officina
    template = Template("{% load goals %}{% goals_beside start end %}")
    with translation.override("en"):
        html = template.render(
            Context(
                {"request": request, "start": dt.date(2026, 1, 1), "end": dt.date(2026, 12, 31)}
            )
        )
    assert "SQL del primo trimestre" in html and "SQL del 2027" not in html
    assert 'data-testid="goal-status"' in html and "Goals of the period" in html
    # the value so far and the straight line's value, each a bar out of the target (90)
    assert 'max="90.0" value="12.0"' in html  # 12 SQLs of 90 (the goal ended in March)
    assert 'max="90.0" value="90.0"' in html  # the line reached the target at the deadline


def test_a_sales_rep_reads_the_goals_they_own_and_the_shared_ones_and_changes_none(
    client, officina, giulia, marco, sqls
):
    from volano.conftest import ApiClient
    from volano.core import services as core_services

    own = _goal(officina, giulia, name="Trattative di Marco", owner=marco.pk)
    shared = _goal(officina, giulia, name="SQL per le vendite", shared="on")
    private = _goal(officina, giulia, name="CAC del marketing", metric="cac", target=300)
    assert shared.shared and not own.shared and not private.shared
    _token, raw = core_services.token_create(workspace=officina, user=marco)
    rep = ApiClient(client, raw)
    rep.headers["Accept-Language"] = "en"
    listed = rep.get("/goals")
    assert listed.status_code == 200
    assert {g["name"] for g in listed.json()["items"]} == {own.name, shared.name}
    assert rep.get(f"/goals/{own.pk}/progress").json()["target"] == 90
    assert rep.get(f"/goals/{shared.pk}").json()["shared"] is True
    assert rep.get(f"/goals/{private.pk}").status_code == 404
    assert rep.get(f"/goals/{private.pk}/progress").status_code == 404
    refused = rep.put(f"/goals/{own.pk}", {"target": 1})
    assert refused.status_code == 403
    assert rep.delete(f"/goals/{shared.pk}").status_code == 403
    assert Goal.objects.for_workspace(officina).get(pk=own.pk).target == 90
    # Giulia (marketer) still reads all three
    _token, raw = core_services.token_create(workspace=officina, user=giulia)
    assert len(ApiClient(client, raw).get("/goals").json()["items"]) == 3

    client.force_login(marco)
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    listing = client.get("/goals/", **en).content.decode()
    assert own.name in listing and shared.name in listing and private.name not in listing
    assert "The goals you own and those shared with sales." in listing
    assert 'id="new-goal"' not in listing  # no form to set one
    page = client.get(f"/goals/{own.pk}/", **en)
    assert page.status_code == 200 and 'data-testid="goal-figures"' in page.content.decode()
    assert "Change the goal" not in page.content.decode()
    assert client.get(f"/goals/{private.pk}/", **en).status_code == 404
    assert client.post(f"/goals/{own.pk}/", {"target": "1"}, **en).status_code == 403
    assert client.post(f"/goals/{own.pk}/delete/", **en).status_code == 403
    assert Goal.objects.for_workspace(officina).filter(pk=own.pk).exists()
