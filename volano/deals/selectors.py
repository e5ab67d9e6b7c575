"""Reads for deals, the catalogue and what a customer bought.

The customer profile reads orders (`OrderLine.product_line` is the product line's slug): what
the contact bought per line, which active lines they have not bought (cross-sell), where they
spend less than the typical customer of a line (up-sell) and what a customer like them spends in
a year (purchase potential). Medians are taken in Python over one grouped query, the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, DecimalField, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from volano.contacts.cleaning import normalise_email
from volano.contacts.models import Contact, SizeBand
from volano.core.errors import NotFound
from volano.core.ids import row_id
from volano.core.models import Membership, User, Workspace
from volano.deals.models import OPEN_DEAL_STAGES, Deal, DealStage, Product, ProductLine
from volano.lifecycle.types import LifecycleStage
from volano.orders.models import Order, OrderLine
from volano.orders.selectors import lines_bought
from volano.orders.services import COMPLETED

YEAR = dt.timedelta(days=365)
CLOSED_ON_BOARD = dt.timedelta(days=30)
ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=14, decimal_places=2))


class BoardColumn(NamedTuple):
    stage: str
    label: str
    deals: list[Deal]
    total: Decimal
    overdue_ids: frozenset[int]  # open deals whose expected close is already past


# -- catalogue --------------------------------------------------------------------------------


def product_line_list(*, workspace: Workspace) -> QuerySet[ProductLine]:
    return (
        ProductLine.objects.for_workspace(workspace)
        .annotate(product_count=Count("products"))
        .order_by("name")
    )


def product_line_get(*, workspace: Workspace, slug: str) -> ProductLine:
    line = ProductLine.objects.for_workspace(workspace).filter(slug=slug).first()
    if line is None:
        raise NotFound(f"no product line '{slug}'")
    return line


def product_list(
    *, workspace: Workspace, product_line: str | None = None, active: bool | None = None
) -> QuerySet[Product]:
    qs = Product.objects.for_workspace(workspace).select_related("product_line")
    if product_line:
        qs = qs.filter(product_line__slug=product_line)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("product_line__name", "name", "sku")


def product_get(*, workspace: Workspace, sku: str = "", product_id: int | None = None) -> Product:
    qs = Product.objects.for_workspace(workspace).select_related("product_line")
    product = (qs.filter(pk=product_id) if product_id is not None else qs.filter(sku=sku)).first()
    if product is None:
        raise NotFound("no such product")
    return product


# -- deals ------------------------------------------------------------------------------------


def deal_list(
    *,
    workspace: Workspace,
    owner: User | int | None = None,
    stage: str | None = None,
    contact: Contact | int | None = None,
) -> QuerySet[Deal]:
    """Deals, most recently changed first."""
    qs = Deal.objects.for_workspace(workspace).select_related(
        "contact__company", "company", "owner"
    )
    if owner is not None:
        qs = qs.filter(owner=owner)
    if stage:
        qs = qs.filter(stage=stage)
    if contact is not None:
        qs = qs.filter(contact=contact)
    return qs.order_by("-updated_at", "-pk")


def deal_get(*, workspace: Workspace, deal_id: int) -> Deal:
    try:
        return (
            Deal.objects.for_workspace(workspace)
            .select_related("contact", "company", "owner")
            .prefetch_related("lines__product")
            .get(pk=deal_id)
        )
    except (Deal.DoesNotExist, ValueError, TypeError):
        raise NotFound("no such deal") from None


def deal_board(
    *, workspace: Workspace, owner: User | int | None = None, now: dt.datetime | None = None
) -> list[BoardColumn]:
    """A column per stage: the open deals, and the deals won or lost in the last 30 days.

    Each deal comes with its contact, company (or its contact's) and owner: one query for the
    whole board."""
    now = now or timezone.now()
    since = now - CLOSED_ON_BOARD
    today = timezone.localdate(now)
    deals = deal_list(workspace=workspace, owner=owner).filter(
        Q(stage__in=OPEN_DEAL_STAGES) | Q(closed_at__gte=since)
    )
    by_stage: dict[str, list[Deal]] = {stage: [] for stage in DealStage.values}
    for deal in deals.order_by("expected_close", "pk"):
        by_stage[deal.stage].append(deal)
    return [
        BoardColumn(
            stage=stage,
            label=str(label),
            deals=by_stage[stage],
            total=sum((d.amount for d in by_stage[stage]), Decimal(0)),
            overdue_ids=frozenset(
                d.pk
                for d in by_stage[stage]
                if stage in OPEN_DEAL_STAGES and d.expected_close and d.expected_close < today
            ),
        )
        for stage, label in DealStage.choices
    ]


def deal_owners(*, workspace: Workspace) -> list[User]:
    """The members who may own a deal, by name."""
    return [
        m.user
        for m in Membership.objects.filter(workspace=workspace)
        .exclude(role="viewer")
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]


def contact_find(*, workspace: Workspace, text: str) -> Contact | None:
    """A contact by its id or its email address."""
    text = (text or "").strip()
    scoped = Contact.objects.for_workspace(workspace)
    if text.isdecimal():
        pk = row_id(text)
        return scoped.filter(pk=pk).first() if pk is not None else None
    email = normalise_email(text)
    return scoped.exclude(email="").filter(email=email).first() if email else None


# -- what a customer bought -------------------------------------------------------------------


def _purchases(workspace: Workspace) -> QuerySet[OrderLine]:
    """The product lines customers bought: the orders' rule (`lines_bought`), the same the
    campaign reports' cross-sell and the association rules between lines read."""
    return lines_bought(workspace=workspace)


def _median(values: list[Decimal]) -> Decimal | None:
    return Decimal(statistics.median(values)).quantize(Decimal("0.01")) if values else None


def customer_profile(
    *, workspace: Workspace, contact: Contact, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What the contact bought, what to offer next and what a customer like them spends.

    - lines: per product line bought, the total, the number of orders and the last order date;
    - cross_sell: for a contact who bought something, the active product lines (with an
      active product) not bought yet; empty for a contact who bought nothing;
    - up_sell: lines bought where the contact's 12-month spend is below the median 12-month
      spend of the line's customers (contacts who bought it in the last 12 months);
    - potential: the median 12-month spend of customers whose company has the same size band
      (all customers when the contact has no company size), with a one-line explanation.
    """
    if contact.workspace_id != workspace.pk:
        raise NotFound("no such contact")
    since = (now or timezone.now()) - YEAR
    in_year = Q(order__ordered_at__gte=since)
    names = dict(ProductLine.objects.for_workspace(workspace).values_list("slug", "name"))
    bought = list(
        _purchases(workspace)
        .filter(order__contact=contact)
        .exclude(product_line="")
        .values("product_line")
        .annotate(
            total=Sum("amount"),
            orders=Count("order", distinct=True),
            last=Max("order__ordered_at"),
            spend_12m=Coalesce(Sum("amount", filter=in_year), ZERO),
        )
        .order_by("-total", "product_line")
    )
    lines = [
        {
            "slug": row["product_line"],
            "name": names.get(row["product_line"], row["product_line"]),
            "total": row["total"],
            "orders": row["orders"],
            "last_date": timezone.localtime(row["last"]).date(),
            "spend_12m": row["spend_12m"],
        }
        for row in bought
    ]
    bought_slugs = {line["slug"] for line in lines}
    active_slugs = set(
        Product.objects.for_workspace(workspace)
        .filter(active=True)
        .values_list("product_line__slug", flat=True)
    )
    # Cross-sell is advice for a buyer (what else to offer someone who bought a line); a contact
    # who bought nothing gets none: every line would be "not bought yet".
    cross_sell = [
        {"slug": slug, "name": names[slug]}
        for slug in sorted(active_slugs - bought_slugs, key=lambda s: names[s])
        if bought_slugs
    ]
    spends: dict[str, list[Decimal]] = {}
    for slug, spend in (
        _purchases(workspace)
        .filter(in_year, product_line__in=bought_slugs)
        .values("product_line", "order__contact")
        .annotate(spend=Sum("amount"))
        .values_list("product_line", "spend")
    ):
        spends.setdefault(slug, []).append(spend)
    up_sell = []
    for line in lines:
        median = _median(spends.get(line["slug"], []))
        line["median_12m"] = median
        if median is not None and line["spend_12m"] < median:
            up_sell.append(
                {
                    "slug": line["slug"],
                    "name": line["name"],
                    "spend_12m": line["spend_12m"],
                    "median_12m": median,
                }
            )
    spend_12m = (
        Order.objects.for_workspace(workspace)
        .filter(contact=contact, status=COMPLETED, ordered_at__gte=since)
        .aggregate(total=Coalesce(Sum("total"), ZERO))["total"]
    )
    return {
        "contact_id": contact.pk,
        "is_customer": contact.lifecycle_stage == LifecycleStage.CUSTOMER,
        "spend_12m": spend_12m,
        "lines": lines,
        "cross_sell": cross_sell,
        "up_sell": up_sell,
        "potential": _potential(workspace, contact, since),
    }


def _potential(workspace: Workspace, contact: Contact, since: dt.datetime) -> dict[str, Any]:
    band = contact.company.size_band if contact.company_id and contact.company else ""
    orders = Order.objects.for_workspace(workspace).filter(
        status=COMPLETED, ordered_at__gte=since, contact__isnull=False
    )
    if band:
        orders = orders.filter(contact__company__size_band=band)
    spends = list(
        orders.values("contact").annotate(spend=Sum("total")).values_list("spend", flat=True)
    )
    median = _median(spends)
    n = len(spends)
    if median is None:
        explanation = (
            _("No customer whose company has %(band)s bought in the last 12 months yet.")
            % {"band": SizeBand(band).label}
            if band
            else _("No customer bought in the last 12 months yet.")
        )
    elif band:
        explanation = ngettext(
            "What %(n)s customer whose company has %(band)s spent in the last 12 months.",
            "The median 12-month spend of %(n)s customers whose company has %(band)s.",
            n,
        ) % {"n": n, "band": SizeBand(band).label}
    else:
        explanation = ngettext(
            "What %(n)s customer spent in the last 12 months (the contact has no company size).",
            "The median 12-month spend of all %(n)s customers (the contact has no company size).",
            n,
        ) % {"n": n}
    return {"amount": median, "size_band": band, "customers": n, "explanation": explanation}


def contact_panel_context(*, workspace: Workspace, contact: Contact) -> dict[str, Any]:
    """The context of deals/_contact_panel.html: `deals` and `customer`."""
    return {
        "deals": list(deal_list(workspace=workspace, contact=contact)),
        "customer": customer_profile(workspace=workspace, contact=contact),
    }
