"""A goal counted for its owner only: two sales reps with the same "won deals" goal see
different actuals (their own deals), a team goal counts everyone's, and the metrics without an
owner (CAC, email engagement) refuse to be counted for one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.contacts.models import Contact
from volano.core import services as core_services
from volano.core.errors import ValidationFailed
from volano.core.permissions import Role
from volano.deals.models import Deal
from volano.goals import metrics, selectors, services
from volano.goals.models import Goal
from volano.lifecycle.models import StageChange
from volano.orders.models import Order

pytestmark = pytest.mark.django_db

JAN_30 = dt.date(2026, 1, 30)


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def anna(officina):
    """Anna, a second sales rep."""
    user = core_services.user_create(
        email="anna@officinarossi.it", password="anna-pass-2026", full_name="Anna Bassi"
    )
    core_services.membership_set(workspace=officina, user=user, role=Role.SALES)
    return user


@pytest.fixture
def book(officina, marco, anna):
    """January 2026: Marco won 3 deals (1,000 each), Anna 1 (5,000), one unowned (700); one of
    Marco's is lost (not counted). Marco owns 2 contacts who became SQL, Anna 1, nobody 1; an
    order of 400 by Marco's customer, one of 900 by Anna's."""
    owners = [marco, marco, anna, None]
    contacts = Contact.objects.bulk_create(
        Contact(workspace=officina, email=f"c{i}@esempio.it", owner=o) for i, o in enumerate(owners)
    )
    deals = [
        (marco, "won", 1000), (marco, "won", 1000), (marco, "won", 1000), (marco, "lost", 9000),
        (anna, "won", 5000), (None, "won", 700),
    ]  # fmt: skip
    Deal.objects.bulk_create(
        Deal(
            workspace=officina, name=f"D{i}", owner=o, stage=s, amount=Decimal(a),
            closed_at=_noon(dt.date(2026, 1, 3 + i)),
        )
        for i, (o, s, a) in enumerate(deals)
    )  # fmt: skip
    StageChange.objects.bulk_create(
        StageChange(workspace=officina, contact=c, to_stage="sql", source="system",
                    changed_at=_noon(dt.date(2026, 1, 10 + i)))
        for i, c in enumerate(contacts)
    )  # fmt: skip
    Order.objects.bulk_create(
        Order(workspace=officina, number=f"O-{i}", contact=c, total=Decimal(t),
              status="completed", ordered_at=_noon(dt.date(2026, 1, 20)))
        for i, (c, t) in enumerate(((contacts[0], 400), (contacts[2], 900)))
    )  # fmt: skip
    return contacts


def _goal(officina, actor, **data) -> Goal:
    base = {
        "name": "Trattative vinte a gennaio",
        "metric": "won_deals",
        "target": 10000,
        "start_on": "2026-01-01",
        "deadline": "2026-01-31",
    }
    return services.goal_create(workspace=officina, actor=actor, data={**base, **data})


def test_two_reps_goals_of_won_deals_count_their_own_deals(officina, giulia, marco, anna, book):
    marcos = _goal(officina, giulia, owner=marco.pk, scope="owner")
    annas = _goal(officina, giulia, owner=anna.email, scope="owner")
    team = _goal(officina, giulia, name="Squadra", owner=giulia.pk)  # scope: team by default
    assert team.scope == "team" and marcos.scope == "owner"
    assert selectors.goal_progress(marcos, today=JAN_30).value == 3000
    assert selectors.goal_progress(annas, today=JAN_30).value == 5000
    assert selectors.goal_progress(team, today=JAN_30).value == 3000 + 5000 + 700


@pytest.mark.parametrize(
    ("metric", "marco_value", "anna_value", "team_value"),
    [
        ("sqls", 2, 1, 4),  # the contacts they own
        ("leads", 2, 1, 4),
        ("revenue", 3000 + 400, 5000 + 900, 8700 + 1300),  # their deals + their contacts' orders
    ],
)
def test_metrics_with_an_owner_count_the_owners_contacts_and_deals(
    officina, marco, anna, book, metric, marco_value, anna_value, team_value
):
    m = metrics.METRICS[metric]
    first, last = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    if metric == "leads":  # contacts created today: count over today's period
        first = last = selectors.workspace_today(officina)
    assert metrics.metric_value(officina, m, first, last, marco.pk) == marco_value
    assert metrics.metric_value(officina, m, first, last, anna.pk) == anna_value
    assert metrics.metric_value(officina, m, first, last) == team_value


def test_a_metric_without_an_owner_refuses_an_owner_scope_and_a_bad_scope_is_named(
    officina, giulia, marco
):
    with pytest.raises(ValidationFailed) as refused:
        _goal(officina, giulia, owner=marco.pk, metric="cac", target=300, scope="owner")
    assert refused.value.errors[0]["field"] == "scope"
    assert "whole team" in refused.value.errors[0]["message"]
    with pytest.raises(ValidationFailed) as refused:
        _goal(officina, giulia, owner=marco.pk, scope="mine")
    assert refused.value.errors[0]["field"] == "scope"
    assert "“mine” is not a scope" in refused.value.errors[0]["message"]
    goal = _goal(officina, giulia, owner=marco.pk, scope="owner")
    with pytest.raises(ValidationFailed) as refused:  # changing to CAC while counted for Marco
        services.goal_update(
            workspace=officina, actor=giulia, goal=goal, data={"metric": "cac", "target": 300}
        )
    assert refused.value.errors[0]["field"] == "scope"


def test_a_sales_rep_reads_their_own_goal_counted_on_their_deals(
    client, officina, giulia, marco, anna, book
):
    from volano.conftest import ApiClient

    marcos = _goal(officina, giulia, owner=marco.pk, scope="owner")
    annas = _goal(officina, giulia, owner=anna.pk, scope="owner")
    _token, raw = core_services.token_create(workspace=officina, user=marco)
    rep = ApiClient(client, raw)
    listed = rep.get("/goals").json()["items"]
    assert [(g["id"], g["scope"]) for g in listed] == [(marcos.pk, "owner")]
    assert rep.get(f"/goals/{annas.pk}").status_code == 404
    progress = rep.get(f"/goals/{marcos.pk}/progress").json()
    assert progress["series"][29]["value"] == 3000  # 30 January: his three won deals
    metric = {m["key"]: m for m in rep.get("/goals/metrics").json()}
    assert metric["won_deals"]["per_owner"] is True and metric["cac"]["per_owner"] is False

    # through the API: scope in, scope out, and a change of scope changes the figure
    _token, raw = core_services.token_create(workspace=officina, user=giulia)
    api = ApiClient(client, raw)
    api.headers["Accept-Language"] = "en"
    made = api.post(
        "/goals",
        {"name": "Anna", "metric": "won_deals", "target": 9000, "start": "2026-01-01",
         "deadline": "2026-01-31", "owner": anna.pk, "scope": "owner"},
    )  # fmt: skip
    assert made.status_code == 201 and made.json()["scope"] == "owner"
    assert api.put(f"/goals/{annas.pk}", {"scope": "team"}).json()["scope"] == "team"
    bad = api.post(
        "/goals",
        {"name": "CAC", "metric": "cac", "target": 300, "start": "2026-01-01",
         "deadline": "2026-01-31", "owner": anna.pk, "scope": "owner"},
    )  # fmt: skip
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert [e["field"] for e in error.get("errors", [error])] == ["scope"]

    # the pages: Marco's goal says whose figures it counts
    client.force_login(marco)
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    page = client.get(f"/goals/{marcos.pk}/", **en).content.decode()
    assert "Counts only Marco Neri's contacts and deals." in page
    assert "3,000" in page.split('data-testid="goal-value">')[1][:20]
    listing = client.get("/goals/", **en).content.decode()
    assert 'data-testid="goal-only-owner"' in listing


def test_the_form_sets_the_scope(client, officina, giulia, marco, book):
    client.force_login(giulia)
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    form = client.get("/goals/", **en).content.decode()
    assert "Only the owner&#x27;s: the contacts and deals they own" in form
    response = client.post(
        "/goals/",
        {"name": "Marco, gennaio", "metric": "won_deals", "target": "10.000",
         "start_on": "2026-01-01", "deadline": "2026-01-31", "owner": str(marco.pk),
         "scope": "owner"},
        **en,
    )  # fmt: skip
    assert response.status_code == 302
    goal = Goal.objects.for_workspace(officina).get(name="Marco, gennaio")
    assert goal.scope == "owner"
    assert selectors.goal_progress(goal, today=JAN_30).value == 3000
    refused = client.post(
        f"/goals/{goal.pk}/",
        {"name": goal.name, "metric": "email_engagement", "target": "30",
         "start_on": "2026-01-01", "deadline": "2026-01-31", "owner": str(marco.pk),
         "scope": "owner"},
        **en,
    )  # fmt: skip
    assert refused.status_code == 422
    assert "is the whole team&#x27;s (it has no owner)" in refused.content.decode()
