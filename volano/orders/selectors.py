"""Reads for orders. Every function takes the workspace first."""

from __future__ import annotations

from django.db.models import QuerySet

from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.orders.models import Order


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
