from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class Order(WorkspaceScopedModel):
    """A purchase from the web shop, the ERP (gestionale) or an import; `number` is its own id."""

    number = models.CharField(_("order number"), max_length=64)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    company = models.ForeignKey(
        "contacts.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    ordered_at = models.DateTimeField(_("date"))
    status = models.CharField(_("status"), max_length=20, default="completed")
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="order_unique_number")
        ]
        indexes = [models.Index(fields=["workspace", "ordered_at"], name="order_ws_time")]

    def __str__(self) -> str:
        return self.number


class OrderLine(WorkspaceScopedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("product code"), max_length=64, blank=True)
    product_name = models.CharField(_("product"), max_length=200)
    product_line = models.CharField(_("product line"), max_length=60, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
