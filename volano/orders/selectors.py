"""Reads for orders. Every function takes the workspace first."""

from __future__ import annotations

from django.db.models import QuerySet

from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.orders.models import Order, OrderLine

# Orders that were not bought (cancelled, refunded): their lines are no purchase, and they make
# no customer. The one list every "what did the customer buy" reads.
NOT_BOUGHT = ("cancelled", "canceled", "refunded")


def bought_order_lines(*, workspace: Workspace) -> QuerySet[OrderLine]:
    """Every line of a contact's orders that were bought (not cancelled or refunded)."""
    # the order's workspace too (the line's is the same): its index, not a scan of every order
    return (
        OrderLine.objects.for_workspace(workspace)
        .filter(order__workspace=workspace, order__contact__isnull=False)
        .exclude(order__status__in=NOT_BOUGHT)
    )


def lines_bought(*, workspace: Workspace) -> QuerySet[OrderLine]:
    """The product lines customers bought, one rule for every reader: the lines with a product
    line (`OrderLine.product_line`, a slug) of a contact's orders that were not cancelled or
    refunded. A product line is *new to a customer* at an order when no line of it is in this
    set at an earlier order of theirs (the campaign reports' cross-sell, the contact page's
    "not bought yet", the association rules between lines)."""
    return bought_order_lines(workspace=workspace).exclude(product_line="")


def order_list(
    *, workspace: Workspace, contact_id: int | None = None, company_id: int | None = None
) -> QuerySet[Order]:
    """Orders, newest first, with their lines."""
    qs = Order.objects.for_workspace(workspace).prefetch_related("lines")
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    return qs.order_by("-ordered_at", "-id")


def order_get(*, workspace: Workspace, order_id: int) -> Order:
    try:
        return Order.objects.for_workspace(workspace).prefetch_related("lines").get(pk=order_id)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such order") from None
