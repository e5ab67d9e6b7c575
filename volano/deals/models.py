from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class ProductLine(WorkspaceScopedModel):
    """A family of products ("Ricambi", "Utensileria"): what reps, scores and orders are split by.

    `slug` ("ricambi") is the key every domain shares: OrderLine.product_line, the order event's
    `product_lines`, Membership.product_lines, assignment rules, score models and threshold rules.
    """

    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=60)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="product_line_unique_slug"),
            models.UniqueConstraint(fields=["workspace", "name"], name="product_line_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(WorkspaceScopedModel):
    sku = models.CharField(_("product code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    product_line = models.ForeignKey(
        ProductLine,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("product line"),
    )
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2, default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sku"], name="product_unique_sku")
        ]

    def __str__(self) -> str:
        return self.name


class DealStage(models.TextChoices):
    """The sales cycle of seed 002, then the outcome."""

    QUALIFICATION = "qualification", _("Qualification")
    OFFER_SENT = "offer_sent", _("Offer sent")
    PROBLEMS_RAISED = "problems_raised", _("Problems raised")
    REQUESTS_MADE = "requests_made", _("Requests made")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_DEAL_STAGES = (
    DealStage.QUALIFICATION,
    DealStage.OFFER_SENT,
    DealStage.PROBLEMS_RAISED,
    DealStage.REQUESTS_MADE,
    DealStage.NEGOTIATION,
)


class Deal(WorkspaceScopedModel):
    name = models.CharField(_("name"), max_length=200)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    company = models.ForeignKey(
        "contacts.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=DealStage.choices, default=DealStage.QUALIFICATION
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["workspace", "stage"], name="deal_ws_stage"),
            models.Index(fields=["owner", "stage"], name="deal_owner_stage"),
        ]

    def __str__(self) -> str:
        return self.name


class DealLine(WorkspaceScopedModel):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
