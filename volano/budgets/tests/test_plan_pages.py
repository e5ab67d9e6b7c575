"""The plan pages through the Django client, in Italian: a plan started from the template shows
its total the Italian way and the 80/15/5 warning; a cell saved in place answers the new totals;
a refused cell names the month; the shared lines' fragment, the history page with a review and
the CSV download answer."""

from __future__ import annotations

import pytest

from volano.budgets.plan_models import Plan, PlanLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def italian(client, giulia, officina):
    officina.language = "it"
    officina.save()
    client.force_login(giulia)
    client.cookies["django_language"] = "it"
    return client


def test_template_plan_grid_cell_history_and_export_in_italian(italian, officina):
    response = italian.post(
        "/budgets/plans/",
        {"name": "Piano 2026", "year": "2026", "start": "template:b2b_manufacturer", "budget": ""},
    )
    plan = Plan.objects.for_workspace(officina).get(name="Piano 2026")
    assert response.status_code == 302
    page = italian.get(f"/budgets/plans/{plan.pk}/").content.decode()
    assert "€ 84.000,00" in page
    assert "80/15/5" in page
    assert 'data-testid="rebalance"' in page

    line = PlanLine.objects.for_workspace(officina).filter(plan=plan, kind="media").first()
    months = {f"m{n}": str(getattr(line, f"m{n}")) for n in range(1, 13)}
    months["m1"] = str(line.m1 + 1000)
    answer = italian.post(f"/budgets/plans/{plan.pk}/lines/{line.pk}/", months).content.decode()
    assert "€ 85.000,00" in answer  # the totals came back out of band
    assert 'hx-swap-oob="true"' in answer
    # a form with one month changes that month only
    italian.post(f"/budgets/plans/{plan.pk}/lines/{line.pk}/", {"m12": str(line.m12)})
    line.refresh_from_db()
    assert line.total == 16600
    months["m3"] = "-5"
    answer = italian.post(f"/budgets/plans/{plan.pk}/lines/{line.pk}/", months).content.decode()
    assert "negativo" in answer or "negative" in answer
    line.refresh_from_db()
    assert line.total == 16600

    shared = italian.get(f"/budgets/plans/{plan.pk}/shared/").content.decode()
    assert "Fiera di settore" in shared

    response = italian.post(
        f"/budgets/plans/{plan.pk}/history/", {"notes": "Prima revisione", "date": ""}
    )
    assert response.status_code == 302
    history = italian.get(f"/budgets/plans/{plan.pk}/history/").content.decode()
    assert "Prima revisione" in history

    csv = b"".join(italian.get(f"/budgets/plans/{plan.pk}/export.csv").streaming_content)
    first_line = csv.decode("utf-8-sig").splitlines()[1]
    assert ";" in first_line and "," in first_line  # Italian Excel: semicolons, decimal commas


def test_a_second_plan_from_a_template_starts_at_the_last_plans_budget(italian, officina):
    """The templates' amounts are a small firm's (€ 84.000): once a plan exists, the budget field
    starts at its budget, so a template is scaled to what this workspace plans to spend."""
    fresh = italian.get("/budgets/plans/").content.decode()
    assert 'name="budget" inputmode="decimal" value=""' in fresh
    made = italian.post(
        "/budgets/plans/",
        {"name": "Piano 2026", "year": "2026", "start": "template:b2b_manufacturer",
         "budget": "250.000"},
    )  # fmt: skip
    assert made.status_code == 302, made.content.decode().split('role="alert"')[1][:400]
    page = italian.get("/budgets/plans/").content.decode()
    assert 'name="budget" inputmode="decimal" value="250000"' in page
    assert "Piano 2026" in page.split('data-testid="budget-help"')[1][:300]
    italian.post(
        "/budgets/plans/",
        {"name": "Piano 2027", "year": "2027", "start": "template:b2b_manufacturer",
         "budget": "250000"},
    )  # fmt: skip
    assert Plan.objects.for_workspace(officina).get(name="Piano 2027").budget == 250000
