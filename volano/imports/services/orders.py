"""Importing orders: one row per order line; rows with the same order number are one order.

Each new order becomes an Order with its OrderLines and one `order` event on the customer's
timeline, and the buyer of a completed order becomes a Customer. The customer is found by email
(an unknown email creates the contact, source "import") and/or by partita IVA (an unknown one
creates the company). An order whose number is already in the workspace is left alone (counted
as unchanged). If any line of an order has an error, the whole order is left out, so fixing the
file and importing again completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from volano.contacts.models import Contact
from volano.core.facts import OrderCompleted
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.events.models import Channel, Event, EventType
from volano.imports.reading import Table
from volano.imports.rows import MAX_MONEY, Checkpoint, ImportReport, build_plan, chunked, clean_rows
from volano.orders.models import Order, OrderLine
from volano.orders.services import COMPLETED

from .companies import company_ids_for_rows

CHUNK = 20_000


def import_orders(
    *,
    workspace: Workspace,
    actor: User | None,
    table: Table,
    mapping: dict[str, str],
    dry_run: bool,
    report: ImportReport,
    progress: Callable[[int], None],
    checkpoint: Callable[[Checkpoint], None],
    skip_chunks: int = 0,
) -> ImportReport:
    plan, report.unmapped = build_plan(table.headers, mapping)
    header_of = {c.target: c.header for c in plan}
    number_column = header_of.get("number", "number")
    # An order's lines may be anywhere in the file: gather them all before writing.
    orders: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for line, values in clean_rows(table, plan, report, keep_bad=True):
        number = values.get("number")
        if not number:
            if not values.get("_bad"):
                report.error(line, number_column, "", gettext("an order number is required"))
            continue
        orders.setdefault(number, []).append((line, values))
        if report.rows % 10_000 == 0:
            progress(report.rows)
    bad_rows = report.error_rows
    good: dict[str, dict[str, Any]] = {}
    for number, lines in orders.items():
        order = _order_from_lines(number, lines, header_of, report)
        if order is not None:
            good[number] = order
    # Rows of an order that has a bad row elsewhere in the file: say why they were left out.
    for number, lines in orders.items():
        if number in good:
            continue
        bad = sorted({line for line, _v in lines} & bad_rows) or [lines[0][0]]
        for line, _values in lines:
            if line not in bad_rows:
                report.error(
                    line,
                    number_column,
                    number,
                    gettext("order %(number)s was not imported because row %(row)s has an error")
                    % {"number": number, "row": bad[0]},
                )
    progress(report.rows)
    # Every row is read before the first order is written: a chunk's checkpoint counts the
    # rows of the orders written so far, and the last one every row of the file.
    batches = list(chunked(list(good.items()), CHUNK)) or [[]]
    lines_written = 0
    for chunk, batch in enumerate(batches, start=1):
        lines_written += sum(len(orders[number]) for number, _order in batch)
        if chunk <= skip_chunks:  # written by an earlier run of this job
            continue
        with transaction.atomic():
            _write_orders(workspace=workspace, orders=dict(batch), report=report, dry_run=dry_run)
            rows = report.rows if chunk == len(batches) else lines_written
            checkpoint(report.checkpoint(chunks=chunk, rows=rows, error_count=report.error_count))
    return report


def _order_from_lines(
    number: str,
    lines: list[tuple[int, dict[str, Any]]],
    header_of: dict[str, str],
    report: ImportReport,
) -> dict[str, Any] | None:
    first_line, first = lines[0]
    ok = True
    for line, values in lines:
        if "date" not in values and "date" not in first:
            report.error(
                line, header_of.get("date", "date"), "", gettext("the order date is required")
            )
            ok = False
        if not values.get("product_name") and not values.get("sku"):
            report.error(
                line,
                header_of.get("product_name", "product_name"),
                "",
                gettext("a product name or code is required"),
            )
            ok = False
        if "amount" not in values and "unit_price" not in values:
            report.error(
                line,
                header_of.get("amount", "amount"),
                "",
                gettext("the line amount is required"),
            )
            ok = False
    if not first.get("customer_email") and not first.get("customer_vat_number"):
        report.error(
            first_line,
            header_of.get("customer_email", "customer_email"),
            "",
            gettext("the customer's email or partita IVA is required"),
        )
        ok = False
    if not ok or any(line in report.error_rows for line, _v in lines):
        return None
    order_lines = []
    for _line, values in lines:
        quantity = values.get("quantity") or Decimal(1)
        unit_price = values.get("unit_price")
        amount = values.get("amount")
        if amount is None:
            amount = (unit_price or Decimal(0)) * quantity
        if unit_price is None:
            unit_price = (amount / quantity) if quantity else amount
        order_lines.append(
            {
                "sku": values.get("sku", ""),
                "product_name": values.get("product_name") or values.get("sku", ""),
                "product_line": values.get("product_line", ""),
                "quantity": quantity,
                "unit_price": round(unit_price, 2),
                "amount": round(amount, 2),
            }
        )
    too_large = [
        line
        for (line, _values), order_line in zip(lines, order_lines, strict=True)
        if abs(order_line["amount"]) >= MAX_MONEY or abs(order_line["unit_price"]) >= MAX_MONEY
    ]
    # The order's total has 14 digits, 2 of them decimals, like its lines.
    if too_large or abs(sum(o["amount"] for o in order_lines)) >= MAX_MONEY * 10:
        report.error(
            (too_large or [first_line])[0],
            header_of.get("amount", "amount"),
            number,
            gettext("the amount of this order is too large"),
        )
        return None
    date = next(v["date"] for _l, v in lines if "date" in v)
    return {
        "number": number,
        "line": first_line,
        "ordered_at": date,
        "customer_email": first.get("customer_email", ""),
        "first_name": first.get("customer_first_name", ""),
        "last_name": first.get("customer_last_name", ""),
        "vat": first.get("customer_vat_number", ""),
        "company_name": first.get("customer_company", ""),
        "currency": first.get("currency", "EUR"),
        "status": first.get("status", "completed"),
        "channel": first.get("channel", ""),
        "lines": order_lines,
    }


def _write_orders(
    *, workspace: Workspace, orders: dict[str, dict[str, Any]], report: ImportReport, dry_run: bool
) -> None:
    existing = set(
        Order.objects.for_workspace(workspace)
        .filter(number__in=list(orders))
        .values_list("number", flat=True)
    )
    new = {n: o for n, o in orders.items() if n not in existing}
    report.unchanged += len(existing)
    report.created += len(new)
    if dry_run or not new:
        return
    contact_ids = _customers(workspace=workspace, orders=new)
    company_keys = {(o["vat"], o["company_name"]) for o in new.values() if o["vat"]}
    company_ids = (
        company_ids_for_rows(workspace=workspace, keys=company_keys, dry_run=False)
        if company_keys
        else {}
    )
    now = timezone.now()
    order_rows = [
        Order(
            workspace=workspace,
            number=number,
            contact_id=contact_ids.get(o["customer_email"]),
            company_id=company_ids.get((o["vat"], o["company_name"])),
            ordered_at=o["ordered_at"],
            status=o["status"],
            channel=o["channel"],
            currency=o["currency"],
            total=sum((line["amount"] for line in o["lines"]), Decimal(0)),
            created_at=now,
        )
        for number, o in new.items()
    ]
    scoped = Order.objects.for_workspace(workspace)
    scoped.bulk_create(order_rows, batch_size=2_000)
    order_ids = dict(scoped.filter(number__in=list(new)).values_list("number", "id"))
    OrderLine.objects.for_workspace(workspace).bulk_create(
        [
            OrderLine(workspace=workspace, order_id=order_ids[number], **line)
            for number, o in new.items()
            for line in o["lines"]
        ],
        batch_size=2_000,
    )
    Event.objects.for_workspace(workspace).bulk_create(
        [
            Event(
                workspace=workspace,
                contact_id=order.contact_id,
                type=EventType.ORDER,
                occurred_at=order.ordered_at,
                channel=new[order.number]["channel"] or Channel.SALES,
                source="import",
                properties=_event_properties(order, new[order.number]),
                dedup_key=f"order:{order.number}"[:100],
            )
            for order in order_rows
            if order.contact_id
        ],
        batch_size=2_000,
        ignore_conflicts=True,  # the shop or the API may have sent this order's event already
    )
    buyers = {o.contact_id for o in order_rows if o.contact_id and o.status == COMPLETED}
    if buyers:
        announce(
            OrderCompleted(workspace_id=workspace.pk, contact_ids=buyers, reason="orders import")
        )


def _event_properties(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {
            "sku": line["sku"],
            "product_name": line["product_name"],
            "product_line": line["product_line"],
            "quantity": float(line["quantity"]),
            "amount": float(line["amount"]),
        }
        for line in data["lines"]
    ]
    return {
        "number": order.number,
        "total": float(order.total),
        "currency": order.currency,
        "product_lines": sorted({line["product_line"] for line in lines if line["product_line"]}),
        "lines": lines,
    }


def _customers(*, workspace: Workspace, orders: dict[str, dict[str, Any]]) -> dict[str, int]:
    """email → contact id; unknown emails become contacts (source "import")."""
    wanted = {o["customer_email"]: o for o in orders.values() if o["customer_email"]}
    scoped = Contact.objects.for_workspace(workspace)
    found: dict[str, int] = {}
    for batch in chunked(sorted(wanted), 2_000):
        found.update(scoped.filter(email__in=batch).values_list("email", "id"))
    now = timezone.now()
    missing = [
        Contact(
            workspace=workspace,
            email=email,
            first_name=o["first_name"],
            last_name=o["last_name"],
            source="import",
            created_at=now,
            updated_at=now,
        )
        for email, o in wanted.items()
        if email not in found
    ]
    if missing:
        scoped.bulk_create(missing, batch_size=2_000)
        for batch in chunked([c.email for c in missing], 2_000):
            found.update(scoped.filter(email__in=batch).values_list("email", "id"))
    return found
