"""Writes for orders: an order, its lines and its `order` event on the timeline, in one transaction."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from volano.contacts import services as contact_services
from volano.contacts.cleaning import (
    CENT,
    FieldError,
    amount_clean,
    normalise_email,
    parse_datetime,
    text_clean,
)
from volano.contacts.models import Company, Contact
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, ValidationFailed
from volano.core.facts import OrderCompleted
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.events.models import Channel, EventType
from volano.events.services import event_append
from volano.orders.models import Order, OrderLine

ORDER_FIELDS = frozenset(
    {
        "number",
        "ordered_at",
        "contact_id",
        "email",
        "company_id",
        "status",
        "channel",
        "currency",
        "total",
        "lines",
    }
)
LINE_FIELDS = frozenset({"sku", "product_name", "product_line", "quantity", "unit_price", "amount"})
MILLI = Decimal("0.001")
COMPLETED = "completed"  # the status of an order that was bought (the default)


def _clean_lines(raw: Any, errors: list[dict]) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append({"field": "lines", "message": _("must be a list of lines")})
        return []
    lines = []
    for index, line in enumerate(raw):
        where = f"lines.{index}"
        if not isinstance(line, dict):
            errors.append({"field": where, "message": _("must be an object")})
            continue
        for key in line.keys() - LINE_FIELDS:
            errors.append({"field": f"{where}.{key}", "message": _("unknown field")})
        name = text_clean(line.get("product_name"), f"{where}.product_name", 200, errors)
        sku = text_clean(line.get("sku"), f"{where}.sku", 64, errors)
        if not name and not sku:
            errors.append({"field": f"{where}.product_name", "message": _("is required")})
        quantity = amount_clean(line.get("quantity"), f"{where}.quantity", errors, MILLI)
        quantity = Decimal(1) if quantity is None else quantity
        unit_price = amount_clean(line.get("unit_price"), f"{where}.unit_price", errors, CENT)
        amount = amount_clean(line.get("amount"), f"{where}.amount", errors, CENT)
        if amount is None and unit_price is None:
            errors.append({"field": f"{where}.amount", "message": _("give amount or unit_price")})
            continue
        if amount is None:
            amount = (quantity * (unit_price or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
        if unit_price is None:
            unit_price = (amount / quantity).quantize(CENT) if quantity else Decimal(0)
        lines.append(
            {
                "sku": sku,
                "product_name": name or sku,
                "product_line": text_clean(
                    line.get("product_line"), f"{where}.product_line", 60, errors
                ),
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": amount,
            }
        )
    return lines


def _contact_for(
    *, workspace: Workspace, data: dict, errors: list[dict]
) -> tuple[int | None, str | None]:
    """(contact id, email of a contact still to create)."""
    contact_id = data.get("contact_id")
    email = normalise_email(data.get("email")) if isinstance(data.get("email"), str) else ""
    if data.get("email") is not None and not isinstance(data.get("email"), str):
        errors.append({"field": "email", "message": _("must be a string")})
    if contact_id is not None and email:
        errors.append({"field": "email", "message": _("give contact_id or email, not both")})
        return None, None
    if contact_id is not None:
        exists = Contact.objects.for_workspace(workspace).filter(pk=contact_id).exists()
        if not exists:
            errors.append(
                {"field": "contact_id", "message": _("no such contact in this workspace")}
            )
        return contact_id, None
    if email:
        found = (
            Contact.objects.for_workspace(workspace)
            .exclude(email="")  # the condition of the unique email index, so it is used
            .filter(email=email)
            .values_list("pk", flat=True)
            .first()
        )
        return (found, None) if found else (None, email)
    return None, None


def order_create(
    *, workspace: Workspace, actor: User | None, data: dict, source: str = "api"
) -> Order:
    """Create an order with its lines and put an `order` event on the buyer's timeline; a
    completed order makes its buyer a Customer.

    The buyer is `contact_id`, or `email` (a contact the workspace does not know yet is created,
    with `source`). `total` is the sum of the lines when absent; a line's `amount` is quantity ×
    unit_price when absent.
    """
    errors: list[dict] = [
        {"field": key, "message": _("unknown field")} for key in sorted(data.keys() - ORDER_FIELDS)
    ]
    number = text_clean(data.get("number"), "number", 64, errors)
    if not number:
        errors.append({"field": "number", "message": _("is required")})
    try:
        ordered_at = parse_datetime(data.get("ordered_at"))
    except FieldError as error:
        ordered_at = None
        errors.append({"field": "ordered_at", "message": str(error)})
    else:
        if ordered_at is None:
            errors.append({"field": "ordered_at", "message": _("is required")})
    currency = (text_clean(data.get("currency"), "currency", 3, errors) or "EUR").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append({"field": "currency", "message": _("an ISO 4217 code such as EUR")})
    channel = text_clean(data.get("channel"), "channel", 20, errors) or Channel.SHOP
    if channel not in Channel.values:
        errors.append(
            {
                "field": "channel",
                "message": _("use one of %(choices)s") % {"choices": ", ".join(Channel.values)},
            }
        )
    status = text_clean(data.get("status"), "status", 20, errors) or COMPLETED
    company_id = data.get("company_id")
    if (
        company_id is not None
        and not Company.objects.for_workspace(workspace).filter(pk=company_id).exists()
    ):
        errors.append({"field": "company_id", "message": _("no such company in this workspace")})
    lines = _clean_lines(data.get("lines"), errors)
    total = amount_clean(data.get("total"), "total", errors, CENT)
    if total is None:
        if not lines and not any(e["field"].startswith("lines") for e in errors):
            errors.append({"field": "total", "message": _("give the total or the lines")})
        total = sum((line["amount"] for line in lines), Decimal(0))
    contact_id, new_email = _contact_for(workspace=workspace, data=data, errors=errors)
    if number and Order.objects.for_workspace(workspace).filter(number=number).exists():
        errors.append({"field": "number", "message": _("an order with this number already exists")})
    if errors:
        raise ValidationFailed(errors)

    try:
        with transaction.atomic():
            if new_email:
                contact_id = contact_services.contact_create(
                    workspace=workspace, actor=None, data={"email": new_email, "source": source}
                ).pk
            order = Order.objects.create(
                workspace=workspace,
                number=number,
                contact_id=contact_id,
                company_id=company_id,
                ordered_at=ordered_at,
                status=status,
                channel=channel,
                currency=currency,
                total=total,
            )
            OrderLine.objects.bulk_create(
                [OrderLine(workspace=workspace, order=order, **line) for line in lines]
            )
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="order.create",
                obj=order,
                contact_id=contact_id,
                changes={"number": number, "status": status, "total": total, "lines": len(lines)},
            )
            if contact_id is not None:
                event_append(
                    workspace=workspace,
                    contact_id=contact_id,
                    type=EventType.ORDER,
                    occurred_at=ordered_at,
                    channel=channel,
                    source=source,
                    properties=_event_properties(order, lines),
                    dedup_key=f"order:{number}",
                )
                if status == COMPLETED:
                    announce(
                        OrderCompleted(
                            workspace_id=workspace.pk,
                            contact_ids={contact_id},
                            reason=f"order {number}",
                        )
                    )
    except IntegrityError:
        raise ApplicationError(
            _("an order with this number already exists"), field="number"
        ) from None
    return order


def _event_properties(order: Order, lines: list[dict]) -> dict:
    return {
        "order_id": order.pk,
        "number": order.number,
        "total": float(order.total),
        "currency": order.currency,
        "product_lines": sorted({line["product_line"] for line in lines if line["product_line"]}),
        "lines": [
            {
                "sku": line["sku"],
                "product_name": line["product_name"],
                "product_line": line["product_line"],
                "quantity": float(line["quantity"]),
                "amount": float(line["amount"]),
            }
            for line in lines
        ],
    }
