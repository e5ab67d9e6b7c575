"""A completed order makes its buyer a Customer, through the API, the service and an import."""

from __future__ import annotations

import pytest

from volano.contacts.models import Contact
from volano.imports.reading import Table
from volano.imports.rows import ImportReport
from volano.imports.services.orders import import_orders
from volano.lifecycle.models import StageChange
from volano.lifecycle.services import stage_set
from volano.orders.services import order_create

pytestmark = pytest.mark.django_db


def _order(number: str, **data) -> dict:
    return {
        "number": number,
        "ordered_at": "2026-03-02T11:30:00+01:00",
        "lines": [{"product_name": "Cuscinetto 6204", "product_line": "ricambi", "amount": 50}],
        **data,
    }


def test_first_order_makes_a_customer_once(api, officina, mario):
    assert api.post("/orders", _order("WEB-1", contact_id=mario.pk)).status_code == 201
    assert api.post("/orders", _order("WEB-2", contact_id=mario.pk)).status_code == 201
    mario.refresh_from_db()
    assert mario.lifecycle_stage == "customer"
    changes = StageChange.objects.for_workspace(officina).filter(contact=mario)
    assert [(c.from_stage, c.to_stage, c.source, c.reason) for c in changes] == [
        ("lead", "customer", "order", "order WEB-1")
    ]


def test_an_existing_customer_stays_without_a_new_change(officina, giulia, mario):
    stage_set(workspace=officina, actor=giulia, contact=mario, stage="customer")
    order_create(workspace=officina, actor=giulia, data=_order("WEB-3", contact_id=mario.pk))
    mario.refresh_from_db()
    assert mario.lifecycle_stage == "customer"
    assert StageChange.objects.for_workspace(officina).filter(contact=mario).count() == 1


def test_an_order_by_a_new_email_makes_a_new_customer(officina, giulia):
    order_create(workspace=officina, actor=giulia, data=_order("WEB-4", email="new@example.it"))
    assert Contact.objects.for_workspace(officina).get(email="new@example.it").lifecycle_stage == (
        "customer"
    )


def test_an_order_not_completed_changes_nothing(officina, giulia, mario):
    order_create(
        workspace=officina,
        actor=giulia,
        data=_order("WEB-5", contact_id=mario.pk, status="cancelled"),
    )
    mario.refresh_from_db()
    assert mario.lifecycle_stage == "lead"
    assert not StageChange.objects.for_workspace(officina).exists()


def test_imported_orders_make_customers_in_one_go(officina, giulia, mario, anna):
    stage_set(workspace=officina, actor=giulia, contact=anna, stage="customer")
    headers = ["number", "date", "customer_email", "product_name", "amount", "status"]
    rows = [
        ["ERP-1", "2026-01-10", "mario.rossi@example.it", "Cinghia", "8", "completed"],
        ["ERP-2", "2026-01-11", "mario.rossi@example.it", "Cinghia", "8", "completed"],
        ["ERP-3", "2026-01-12", "anna.bruni@example.it", "Cinghia", "8", "completed"],
        ["ERP-4", "2026-01-12", "luca@example.it", "Cinghia", "8", "cancelled"],
    ]
    report = import_orders(
        workspace=officina,
        actor=giulia,
        table=Table(headers=headers, rows=iter(enumerate(rows, start=2)), format="csv"),
        mapping={h: h for h in headers},
        dry_run=False,
        report=ImportReport(kind="orders"),
        progress=lambda _n: None,
        checkpoint=lambda _point: None,
    )
    assert report.created == 4, report
    stages = dict(Contact.objects.for_workspace(officina).values_list("email", "lifecycle_stage"))
    assert stages == {
        "mario.rossi@example.it": "customer",
        "anna.bruni@example.it": "customer",
        "luca@example.it": "lead",
    }
    changes = StageChange.objects.for_workspace(officina).filter(source="order")
    assert [(c.contact.email, c.reason) for c in changes] == [
        ("mario.rossi@example.it", "orders import")
    ]
