"""/api/v1/orders: create an order (lines + timeline event in one transaction), list, get."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from volano.core.api_input import ApiInput, Pages
from volano.orders import selectors, services
from volano.orders.models import Order, OrderLine

router = Router(tags=["orders"])


class OrderLineIn(ApiInput):
    stored_in = OrderLine

    sku: str = ""
    product_name: str = ""
    product_line: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    amount: Decimal | None = None


class OrderIn(ApiInput):
    stored_in = Order
    input_lengths = {"email": 254}

    number: str = Field(..., min_length=1, max_length=64)
    ordered_at: dt.datetime
    contact_id: int | None = None
    email: str | None = None
    company_id: int | None = None
    status: str = "completed"
    channel: str = ""
    currency: str = "EUR"
    total: Decimal | None = None
    lines: list[OrderLineIn] = []


class OrderLineOut(Schema):
    sku: str
    product_name: str
    product_line: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


class OrderOut(Schema):
    id: int
    number: str
    contact_id: int | None
    company_id: int | None
    ordered_at: dt.datetime
    status: str
    channel: str
    currency: str
    total: Decimal
    lines: list[OrderLineOut]
    created_at: dt.datetime

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.order_by("pk"))


@router.post("/orders", response={201: OrderOut}, summary="Create an order")
def orders_create(request: HttpRequest, payload: OrderIn):
    """Stores the order, its lines and one `order` event on the buyer's timeline.
    `total` is the sum of the lines when absent; an unknown `email` creates the contact."""
    order = services.order_create(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=request.api_token.user,  # type: ignore[attr-defined]
        data=payload.model_dump(exclude_unset=True),
    )
    return 201, selectors.order_get(workspace=request.workspace, order_id=order.pk)  # type: ignore[attr-defined]


@router.get("/orders", response=list[OrderOut], summary="List orders, newest first")
@paginate(Pages, page_size=50, max_page_size=500)
def orders_list(request: HttpRequest, contact_id: int | None = None, company_id: int | None = None):
    return selectors.order_list(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact_id=contact_id,
        company_id=company_id,
    )


@router.get("/orders/{order_id}", response=OrderOut, summary="Get an order with its lines")
def orders_get(request: HttpRequest, order_id: int):
    return selectors.order_get(workspace=request.workspace, order_id=order_id)  # type: ignore[attr-defined]
