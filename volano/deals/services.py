"""Writes for deals and the product catalogue.

A deal moves a contact through the lifecycle: opening one makes a lead an Opportunity, winning
it makes the contact a Customer, losing the last open one sends an Opportunity back to nurturing
(Recycled). Every create and move leaves a `deal_changed` event on the contact's timeline, in the
same transaction as the deal row and the stage change.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from volano.contacts.cleaning import CENT, amount_clean, text_clean
from volano.contacts.models import Company, Contact
from volano.core.activity import activity_record, changes_between
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.facts import DealChanged
from volano.core.models import Membership, User, Workspace
from volano.core.reactions import announce
from volano.deals.models import OPEN_DEAL_STAGES, Deal, DealLine, DealStage, Product, ProductLine
from volano.events.models import EventType
from volano.events.services import system_event_append

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MILLI = Decimal("0.001")
PRODUCT_LINE_FIELDS = frozenset({"slug", "name"})
PRODUCT_FIELDS = frozenset({"sku", "name", "product_line", "price", "active"})
DEAL_FIELDS = frozenset(
    {
        "name",
        "contact_id",
        "company_id",
        "owner_id",
        "amount",
        "lines",
        "expected_close",
        "stage",
        "reason",
    }
)
LINE_FIELDS = frozenset({"sku", "quantity", "unit_price"})


# -- small cleaners: each appends {"field", "message"} to `errors` and returns a usable value ----


def _unknown(data: dict, allowed: frozenset[str]) -> list[dict]:
    return [{"field": key, "message": _("unknown field")} for key in sorted(data.keys() - allowed)]


def _id(raw: Any, field: str, errors: list[dict]) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        errors.append({"field": field, "message": _("must be an id (a whole number)")})
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors.append({"field": field, "message": _("must be an id (a whole number)")})
        return None


def _date(raw: Any, field: str, errors: list[dict]) -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors.append({"field": field, "message": _("an ISO date such as 2026-03-31")})
        return None


def _money(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


# -- product lines ----------------------------------------------------------------------------


def product_line_save(*, workspace: Workspace, actor: User | None, data: dict) -> ProductLine:
    """Create the product line `slug`, or rename it when it exists. The slug never changes: it is
    the key orders, reps and score models share."""
    errors = _unknown(data, PRODUCT_LINE_FIELDS)
    slug = text_clean(data.get("slug"), "slug", 60, errors).lower()
    if not SLUG_RE.match(slug):
        errors.append(
            {
                "field": "slug",
                "message": _("1-60 lowercase letters, digits or hyphens (e.g. ricambi)"),
            }
        )
    name = text_clean(data.get("name"), "name", 60, errors)
    if not name:
        errors.append({"field": "name", "message": _("is required")})
    scoped = ProductLine.objects.for_workspace(workspace)
    if name and scoped.filter(name=name).exclude(slug=slug).exists():
        errors.append({"field": "name", "message": _("another product line has this name")})
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        line, _created = scoped.update_or_create(
            workspace=workspace, slug=slug, defaults={"name": name}
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="product_line.save",
            obj=line,
            changes={"slug": slug, "name": name},
        )
    return line


def product_line_delete(*, workspace: Workspace, actor: User | None, line: ProductLine) -> None:
    """Delete a product line no product belongs to."""
    if line.workspace_id != workspace.pk:
        raise NotFound("no such product line")
    skus = list(
        Product.objects.for_workspace(workspace)
        .filter(product_line=line)
        .order_by("sku")
        .values_list("sku", flat=True)[:6]
    )
    if skus:
        shown = ", ".join(skus[:5]) + (", …" if len(skus) > 5 else "")
        raise ApplicationError(
            _("product line '%(slug)s' still has products (%(skus)s): move or delete them first")
            % {"slug": line.slug, "skus": shown},
            field="slug",
        )
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="product_line.delete",
            obj=line,
            changes={"slug": [line.slug, None]},
        )
        line.delete()


# -- products ---------------------------------------------------------------------------------


def product_save(*, workspace: Workspace, actor: User | None, data: dict) -> Product:
    """Create the product `sku`, or change the fields `data` gives when it exists."""
    errors = _unknown(data, PRODUCT_FIELDS)
    sku = text_clean(data.get("sku"), "sku", 64, errors)
    if not sku:
        errors.append({"field": "sku", "message": _("is required")})
    product = Product.objects.for_workspace(workspace).filter(sku=sku).first() if sku else None
    name = text_clean(data.get("name"), "name", 200, errors)
    if not name and (product is None or "name" in data):
        errors.append({"field": "name", "message": _("is required")})
    line = None
    if "product_line" in data or product is None:
        line_slug = text_clean(data.get("product_line"), "product_line", 60, errors)
        if not line_slug:
            errors.append({"field": "product_line", "message": _("is required")})
        else:
            line = ProductLine.objects.for_workspace(workspace).filter(slug=line_slug).first()
            if line is None:
                errors.append(
                    {
                        "field": "product_line",
                        "message": _("no product line '%(slug)s' in this workspace")
                        % {"slug": line_slug},
                    }
                )
    price = amount_clean(data.get("price"), "price", errors, minimum="zero")
    active = data.get("active")
    if active is not None and not isinstance(active, bool):
        errors.append({"field": "active", "message": _("true or false")})
    if errors:
        raise ValidationFailed(errors)
    if product is None:
        product = Product(workspace=workspace, sku=sku)
    if name:
        product.name = name
    if line is not None:
        product.product_line = line
    if price is not None:
        product.price = price
    if active is not None:
        product.active = active
    with transaction.atomic():
        product.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="product.save",
            obj=product,
            changes={
                k: data[k] for k in ("sku", "name", "product_line", "price", "active") if k in data
            },
        )
    return product


# -- deals ------------------------------------------------------------------------------------


def _clean_lines(workspace: Workspace, raw: Any, errors: list[dict]) -> list[dict]:
    if not isinstance(raw, list):
        errors.append({"field": "lines", "message": _("must be a list of {sku, quantity}")})
        return []
    skus = {line.get("sku") for line in raw if isinstance(line, dict)}
    products = {
        p.sku: p
        for p in Product.objects.for_workspace(workspace).filter(
            sku__in=[s for s in skus if isinstance(s, str)]
        )
    }
    lines = []
    for index, line in enumerate(raw):
        where = f"lines.{index}"
        if not isinstance(line, dict):
            errors.append({"field": where, "message": _("must be an object")})
            continue
        for key in sorted(line.keys() - LINE_FIELDS):
            errors.append({"field": f"{where}.{key}", "message": _("unknown field")})
        sku = text_clean(line.get("sku"), f"{where}.sku", 64, errors)
        product = products.get(sku)
        if not sku:
            errors.append({"field": f"{where}.sku", "message": _("is required")})
        elif product is None:
            errors.append(
                {"field": f"{where}.sku", "message": _("no product '%(sku)s'") % {"sku": sku}}
            )
        quantity = amount_clean(
            line.get("quantity", 1), f"{where}.quantity", errors, MILLI, minimum="positive"
        )
        unit_price = amount_clean(
            line.get("unit_price"), f"{where}.unit_price", errors, minimum="zero"
        )
        if product is None or quantity is None:
            continue
        if unit_price is None:
            unit_price = product.price
        lines.append(
            {
                "product": product,
                "quantity": quantity,
                "unit_price": unit_price,
                "amount": (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP),
            }
        )
    return lines


def _clean_deal(
    *, workspace: Workspace, actor: User | None, data: dict, deal: Deal | None
) -> tuple[dict, list[dict] | None, list[dict]]:
    """(field values, deal lines or None when not given, errors) for a new deal or a change."""
    errors = _unknown(data, DEAL_FIELDS)
    values: dict[str, Any] = {}
    creating = deal is None
    if creating or "name" in data:
        name = text_clean(data.get("name"), "name", 200, errors)
        if not name:
            errors.append({"field": "name", "message": _("is required")})
        values["name"] = name
    if creating or "contact_id" in data:
        contact_id = _id(data.get("contact_id"), "contact_id", errors)
        contact = None
        if contact_id is not None:
            contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
            if contact is None:
                errors.append(
                    {"field": "contact_id", "message": _("no such contact in this workspace")}
                )
        values["contact"] = contact
    if creating or "company_id" in data:
        company_id = _id(data.get("company_id"), "company_id", errors)
        company = None
        if company_id is not None:
            company = Company.objects.for_workspace(workspace).filter(pk=company_id).first()
            if company is None:
                errors.append(
                    {"field": "company_id", "message": _("no such company in this workspace")}
                )
        elif values.get("contact") is not None and creating:
            company = values["contact"].company
        values["company"] = company
    contact_given = values.get("contact", deal.contact if deal else None)
    company_given = values.get("company", deal.company if deal else None)
    if (
        contact_given is None
        and company_given is None
        and not any(e["field"] in ("contact_id", "company_id") for e in errors)
    ):
        errors.append({"field": "contact_id", "message": _("give a contact_id or a company_id")})
    if creating or "owner_id" in data:
        owner_id = _id(data.get("owner_id"), "owner_id", errors)
        if owner_id is None and creating and actor is not None:
            owner_id = actor.pk
        owner = None
        if owner_id is not None:
            membership = (
                Membership.objects.filter(workspace=workspace, user_id=owner_id)
                .select_related("user")
                .first()
            )
            if membership is None:
                if "owner_id" in data:
                    errors.append(
                        {"field": "owner_id", "message": _("not a member of this workspace")}
                    )
            else:
                owner = membership.user
        values["owner"] = owner
    if creating or "expected_close" in data:
        values["expected_close"] = _date(data.get("expected_close"), "expected_close", errors)
    amount = (
        amount_clean(data.get("amount"), "amount", errors, minimum="zero")
        if "amount" in data
        else None
    )
    lines = None
    if data.get("lines") is not None:
        lines = _clean_lines(workspace, data["lines"], errors)
        total = sum((line["amount"] for line in lines), Decimal(0))
        if amount is not None and amount != total:
            errors.append(
                {
                    "field": "amount",
                    "message": _("the lines add up to %(total)s: leave amount out or make it match")
                    % {"total": total},
                }
            )
        amount = total
    if amount is not None:
        values["amount"] = amount
    return values, lines, errors


def _deal_event(deal: Deal, *, from_stage: str, reason: str = "") -> None:
    if deal.contact_id is None:
        return
    system_event_append(
        workspace=deal.workspace,
        contact_id=deal.contact_id,
        type=EventType.DEAL_CHANGED,
        properties={
            "deal_id": deal.pk,
            "name": deal.name,
            "from": from_stage,
            "to": deal.stage,
            "amount": _money(deal.amount),
            "reason": reason,
            # The keys docs/events.md documents for deal_changed events sent by outside CRMs.
            "deal": deal.name,
            "stage": deal.stage,
        },
    )


def _deal_changed_announce(
    *, workspace: Workspace, actor: User | None, deal: Deal, reason: str = ""
) -> None:
    """Say that the deal reached its current stage (the lifecycle follows, in this transaction)."""
    if deal.contact_id is None:
        return
    if deal.stage == DealStage.WON:
        change = "won"
    elif deal.stage == DealStage.LOST:
        change = "lost"
    else:
        change = "open"
    still_open = (
        Deal.objects.for_workspace(workspace)
        .filter(contact_id=deal.contact_id, stage__in=OPEN_DEAL_STAGES)
        .exclude(pk=deal.pk)
        .exists()
    )
    announce(
        DealChanged(
            workspace_id=workspace.pk,
            contact_ids={deal.contact_id},
            change=change,
            deal_name=deal.name,
            reason=reason,
            actor_id=actor.pk if actor else None,
            open_elsewhere={deal.contact_id} if still_open else frozenset(),
        )
    )


def _lines_write(workspace: Workspace, deal: Deal, lines: list[dict]) -> None:
    deal.lines.all().delete()
    DealLine.objects.bulk_create(
        [DealLine(workspace=workspace, deal=deal, **line) for line in lines]
    )


def deal_create(*, workspace: Workspace, actor: User | None, data: dict) -> Deal:
    """Open a deal (every problem reported at once, nothing saved unless all is well).

    `lines` ([{"sku", "quantity", "unit_price"?}]) become the deal's lines and its amount; a
    line's unit price defaults to the product's price. A deal for a lead makes it an Opportunity;
    a deal created already won or lost has the effects of `deal_move`.
    """
    values, lines, errors = _clean_deal(workspace=workspace, actor=actor, data=data, deal=None)
    stage = data.get("stage") or DealStage.QUALIFICATION
    reason = text_clean(data.get("reason"), "reason", 300, errors)
    if stage not in DealStage.values:
        errors.append(
            {
                "field": "stage",
                "message": _("use one of: %(choices)s") % {"choices": ", ".join(DealStage.values)},
            }
        )
    elif stage == DealStage.LOST and not reason:
        errors.append({"field": "reason", "message": _("say why the deal was lost")})
    elif stage != DealStage.LOST and reason:
        errors.append({"field": "reason", "message": _("only a lost deal has a reason")})
    if errors:
        raise ValidationFailed(errors)
    now = timezone.now()
    with transaction.atomic():
        deal = Deal.objects.create(
            workspace=workspace,
            stage=stage,
            closed_at=now if stage in (DealStage.WON, DealStage.LOST) else None,
            lost_reason=reason if stage == DealStage.LOST else "",
            created_at=now,
            updated_at=now,
            **values,
        )
        if lines:
            _lines_write(workspace, deal, lines)
        _deal_event(deal, from_stage="", reason=reason)
        _deal_changed_announce(workspace=workspace, actor=actor, deal=deal, reason=reason)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="deal.create",
            obj=deal,
            contact_id=deal.contact_id,
            changes={"stage": [None, stage]},
        )
    return deal


def deal_update(*, workspace: Workspace, actor: User | None, deal: Deal, data: dict) -> Deal:
    """Change the fields `data` gives; the stage changes with `deal_move` only."""
    if deal.workspace_id != workspace.pk:
        raise NotFound("no such deal")
    values, lines, errors = _clean_deal(workspace=workspace, actor=actor, data=data, deal=deal)
    for key in ("stage", "reason"):
        if key in data:
            errors = [e for e in errors if e["field"] != key]
            errors.append(
                {"field": key, "message": _("change the stage with POST /deals/{id}/stage")}
            )
    if errors:
        raise ValidationFailed(errors)
    contact_changed = "contact" in values and values["contact"] != deal.contact
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="deal.update",
            obj=deal,
            contact_id=deal.contact_id,
            changes=changes_between({k: getattr(deal, k) for k in values}, values),
        )
        for key, value in values.items():
            setattr(deal, key, value)
        deal.updated_at = timezone.now()
        deal.save()
        if lines is not None:
            _lines_write(workspace, deal, lines)
        if contact_changed and deal.stage in OPEN_DEAL_STAGES:
            _deal_changed_announce(workspace=workspace, actor=actor, deal=deal)
    return deal


def deal_move(
    *, workspace: Workspace, actor: User | None, deal: Deal, stage: str, reason: str = ""
) -> Deal:
    """Move a deal to another stage. Won makes the contact a Customer; lost needs a reason and
    sends an Opportunity with no other open deal back to Recycled."""
    if deal.workspace_id != workspace.pk:
        raise NotFound("no such deal")
    reason = (reason or "").strip()
    if stage not in DealStage.values:
        raise ApplicationError(
            _("unknown stage %(stage)s; use one of: %(choices)s")
            % {"stage": repr(stage), "choices": ", ".join(DealStage.values)},
            field="stage",
        )
    if stage == DealStage.LOST and not reason:
        raise ApplicationError(_("say why the deal was lost"), field="reason")
    if len(reason) > 300:
        raise ApplicationError(
            ngettext("at most %(limit)d character", "at most %(limit)d characters", 300)
            % {"limit": 300},
            field="reason",
        )
    with transaction.atomic():
        deal = Deal.objects.for_workspace(workspace).select_for_update().get(pk=deal.pk)
        if deal.stage == stage:
            return deal
        from_stage = deal.stage
        now = timezone.now()
        deal.stage = stage
        deal.closed_at = now if stage in (DealStage.WON, DealStage.LOST) else None
        deal.lost_reason = reason if stage == DealStage.LOST else ""
        deal.updated_at = now
        deal.save(update_fields=["stage", "closed_at", "lost_reason", "updated_at"])
        _deal_event(deal, from_stage=from_stage, reason=deal.lost_reason)
        _deal_changed_announce(workspace=workspace, actor=actor, deal=deal, reason=reason)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="deal.move",
            obj=deal,
            contact_id=deal.contact_id,
            changes={"stage": [from_stage, stage]},
        )
    return deal


def deal_delete(*, workspace: Workspace, actor: User | None, deal: Deal) -> None:
    if deal.workspace_id != workspace.pk:
        raise NotFound("no such deal")
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="deal.delete",
            obj=deal,
            contact_id=deal.contact_id,
        )
        deal.delete()
