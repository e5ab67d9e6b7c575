"""/api/v1 routes of the deals domain: product lines, products, deals and a contact's customer
profile. Parse, call a service or selector, shape the reply; errors name the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from volano.contacts.selectors import contact_get
from volano.core.api_input import ApiInput as Strict
from volano.core.api_input import Pages, column_length
from volano.deals import selectors, services
from volano.deals.models import Deal, Product, ProductLine

router = Router(tags=["deals"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class ProductLineOut(Schema):
    id: int
    slug: str
    name: str
    product_count: int = 0
    created_at: dt.datetime


class ProductLineIn(Strict):
    stored_in = ProductLine

    slug: str
    name: str


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    product_line: str
    price: Decimal
    active: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_product_line(obj) -> str:
        return obj.product_line.slug


class ProductIn(Strict):
    stored_in = Product
    input_lengths = {"product_line": column_length(ProductLine, "slug")}

    sku: str
    name: str
    product_line: str
    price: Decimal = Decimal(0)
    active: bool = True


class ProductPatchIn(Strict):
    stored_in = Product
    input_lengths = ProductIn.input_lengths

    name: str | None = None
    product_line: str | None = None
    price: Decimal | None = None
    active: bool | None = None


class DealLineIn(Strict):
    stored_in = Product

    sku: str
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None


class DealLineOut(Schema):
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.product.sku

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.product.name


class DealOut(Schema):
    id: int
    name: str
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    stage: str
    amount: Decimal
    currency: str
    expected_close: dt.date | None
    closed_at: dt.datetime | None
    lost_reason: str
    lines: list[DealLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class DealIn(Strict):
    stored_in = Deal
    input_lengths = {"reason": column_length(Deal, "lost_reason")}

    name: str
    contact_id: int | None = None
    company_id: int | None = None
    owner_id: int | None = None
    amount: Decimal | None = None
    lines: list[DealLineIn] | None = None
    expected_close: dt.date | None = None
    stage: str = "qualification"
    reason: str = ""


class DealPatchIn(Strict):
    stored_in = Deal

    name: str | None = None
    contact_id: int | None = None
    company_id: int | None = None
    owner_id: int | None = None
    amount: Decimal | None = None
    lines: list[DealLineIn] | None = None
    expected_close: dt.date | None = None


class StageIn(Strict):
    stored_in = Deal
    input_lengths = DealIn.input_lengths

    stage: str
    reason: str = ""


class LineBoughtOut(Schema):
    slug: str
    name: str
    total: Decimal
    orders: int
    last_date: dt.date
    spend_12m: Decimal
    median_12m: Decimal | None


class LineRefOut(Schema):
    slug: str
    name: str


class UpSellOut(Schema):
    slug: str
    name: str
    spend_12m: Decimal
    median_12m: Decimal


class PotentialOut(Schema):
    amount: Decimal | None
    size_band: str
    customers: int
    explanation: str


class CustomerOut(Schema):
    contact_id: int
    is_customer: bool
    spend_12m: Decimal
    lines: list[LineBoughtOut]
    cross_sell: list[LineRefOut]
    up_sell: list[UpSellOut]
    potential: PotentialOut


# -- catalogue --------------------------------------------------------------------------------


@router.get("/product-lines", response=list[ProductLineOut], summary="List product lines")
def product_lines_list(request: HttpRequest):
    return selectors.product_line_list(workspace=_ws(request))


@router.post(
    "/product-lines",
    response={200: ProductLineOut, 201: ProductLineOut},
    summary="Create a product line, or rename it (by slug)",
)
def product_lines_save(request: HttpRequest, payload: ProductLineIn):
    """201 when the slug is new, 200 when an existing line was renamed."""
    existed = selectors.product_line_list(workspace=_ws(request)).filter(slug=payload.slug).exists()
    line = services.product_line_save(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump()
    )
    return (200 if existed else 201), selectors.product_line_list(workspace=_ws(request)).get(
        pk=line.pk
    )


@router.get("/products", response=list[ProductOut], summary="List products")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def products_list(request: HttpRequest, product_line: str = "", active: bool | None = None):
    return selectors.product_list(
        workspace=_ws(request), product_line=product_line or None, active=active
    )


@router.post(
    "/products",
    response={200: ProductOut, 201: ProductOut},
    summary="Create a product, or replace it (by sku)",
)
def products_save(request: HttpRequest, payload: ProductIn):
    existed = selectors.product_list(workspace=_ws(request)).filter(sku=payload.sku).exists()
    product = services.product_save(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump()
    )
    return (200 if existed else 201), product


@router.get("/products/{sku}", response=ProductOut, summary="Get a product")
def products_get(request: HttpRequest, sku: str):
    return selectors.product_get(workspace=_ws(request), sku=sku)


@router.patch("/products/{sku}", response=ProductOut, summary="Change some fields of a product")
def products_patch(request: HttpRequest, sku: str, payload: ProductPatchIn):
    product = selectors.product_get(workspace=_ws(request), sku=sku)
    return services.product_save(
        workspace=_ws(request),
        actor=_actor(request),
        data={"sku": product.sku, **payload.model_dump(exclude_unset=True)},
    )


# -- deals ------------------------------------------------------------------------------------


@router.get("/deals", response=list[DealOut], summary="List deals")
@paginate(Pages, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def deals_list(
    request: HttpRequest,
    owner: int | None = None,
    stage: str = "",
    contact_id: int | None = None,
):
    return selectors.deal_list(
        workspace=_ws(request), owner=owner, stage=stage or None, contact=contact_id
    ).prefetch_related("lines__product")


@router.post("/deals", response={201: DealOut}, summary="Open a deal")
def deals_create(request: HttpRequest, payload: DealIn):
    """A deal for a lead makes it an Opportunity; `lines` set the amount."""
    deal = services.deal_create(
        workspace=_ws(request),
        actor=_actor(request),
        data=payload.model_dump(exclude_unset=True),
    )
    return 201, selectors.deal_get(workspace=_ws(request), deal_id=deal.pk)


@router.get("/deals/{deal_id}", response=DealOut, summary="Get a deal")
def deals_get(request: HttpRequest, deal_id: int):
    return selectors.deal_get(workspace=_ws(request), deal_id=deal_id)


@router.patch("/deals/{deal_id}", response=DealOut, summary="Change some fields of a deal")
def deals_patch(request: HttpRequest, deal_id: int, payload: DealPatchIn):
    deal = selectors.deal_get(workspace=_ws(request), deal_id=deal_id)
    services.deal_update(
        workspace=_ws(request),
        actor=_actor(request),
        deal=deal,
        data=payload.model_dump(exclude_unset=True),
    )
    return selectors.deal_get(workspace=_ws(request), deal_id=deal_id)


@router.delete("/deals/{deal_id}", response={204: None}, summary="Delete a deal")
def deals_delete(request: HttpRequest, deal_id: int):
    deal = selectors.deal_get(workspace=_ws(request), deal_id=deal_id)
    services.deal_delete(workspace=_ws(request), actor=_actor(request), deal=deal)
    return 204, None


@router.post("/deals/{deal_id}/stage", response=DealOut, summary="Move a deal to a stage")
def deals_move(request: HttpRequest, deal_id: int, payload: StageIn):
    """Won makes the contact a Customer; lost needs a `reason`."""
    deal = selectors.deal_get(workspace=_ws(request), deal_id=deal_id)
    services.deal_move(
        workspace=_ws(request),
        actor=_actor(request),
        deal=deal,
        stage=payload.stage,
        reason=payload.reason,
    )
    return selectors.deal_get(workspace=_ws(request), deal_id=deal_id)


@router.get(
    "/contacts/{contact_id}/customer",
    response=CustomerOut,
    summary="What a contact bought, what to offer next, what they could spend",
)
def contacts_customer(request: HttpRequest, contact_id: int):
    contact = contact_get(workspace=_ws(request), contact_id=contact_id)
    return selectors.customer_profile(workspace=_ws(request), contact=contact)
