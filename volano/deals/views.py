"""Deals pages: the pipeline board, a new deal, the product catalogue. Parse, call, render."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core.errors import ApplicationError, NotFound
from volano.core.models import Role, User
from volano.core.permissions import Cap, requires
from volano.core.view_errors import error_redirect
from volano.deals import selectors, services
from volano.deals.forms import (
    PRODUCT_ROWS,
    DealForm,
    ProductForm,
    ProductLineForm,
    add_service_errors,
)
from volano.deals.models import Deal, DealStage

VIEWS = ("mine", "all")


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _board_view_name(request: HttpRequest, data: Any) -> str:
    """ "mine" or "all"; a sales rep starts on their own deals."""
    view = data.get("view")
    if view in VIEWS:
        return view
    return "mine" if request.membership.role == Role.SALES else "all"  # type: ignore[attr-defined]


def _board_context(request: HttpRequest, view: str, **extra: Any) -> dict[str, Any]:
    owner = _actor(request) if view == "mine" else None
    return {
        "columns": selectors.deal_board(workspace=request.workspace, owner=owner),  # type: ignore[attr-defined]
        "view": view,
        "stages": DealStage.choices,
        **extra,
    }


def _get_deal(request: HttpRequest, pk: int) -> Deal:
    try:
        return selectors.deal_get(workspace=request.workspace, deal_id=pk)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404("no such deal") from None


# ---- the pipeline ----------------------------------------------------------------------------


@requires(Cap.VIEW_DATA)
def board_view(request: HttpRequest) -> HttpResponse:
    context = _board_context(request, _board_view_name(request, request.GET))
    template = "deals/_board.html" if _is_htmx(request) else "deals/board.html"
    return render(request, template, context)


@requires(write=Cap.EDIT_DEALS)
@require_POST
def deal_stage_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal (a drag on the board, or the select on its card) and show the board again."""
    deal = _get_deal(request, pk)
    view = _board_view_name(request, request.POST)
    stage = request.POST.get("stage", "")
    try:
        services.deal_move(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=_actor(request),
            deal=deal,
            stage=stage,
            reason=request.POST.get("reason", ""),
        )
    except ApplicationError as error:
        message = (
            _("Say why “%(name)s” was lost.") % {"name": deal.name}
            if error.field == "reason"
            else error.message
        )
        context = _board_context(request, view, error=message, error_deal=deal.pk)
        if _is_htmx(request):
            return render(request, "deals/_board.html", context)
        return render(request, "deals/board.html", context, status=422)
    if _is_htmx(request):
        return render(request, "deals/_board.html", _board_context(request, view))
    messages.success(
        request,
        _("“%(name)s” moved to %(stage)s.") % {"name": deal.name, "stage": DealStage(stage).label},
    )
    return redirect(f"{reverse('deals:board')}?view={view}")


@requires(Cap.EDIT_DEALS, write=Cap.EDIT_DEALS)
def deal_create_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    owners = selectors.deal_owners(workspace=workspace)
    products = list(selectors.product_list(workspace=workspace, active=True))
    rows = [{"sku": "", "quantity": ""} for _row in range(PRODUCT_ROWS)]
    loose: list[str] = []
    status = 200
    if request.method == "POST":
        form = DealForm(request.POST, owners=owners)
        skus = request.POST.getlist("line_sku")
        quantities = request.POST.getlist("line_quantity")
        rows = [
            {"sku": sku, "quantity": quantity}
            for sku, quantity in zip(skus, quantities, strict=False)
        ] or rows
        form.is_valid()
        data = _deal_data(workspace, form, rows)
        if data is not None:
            try:
                deal = services.deal_create(workspace=workspace, actor=_actor(request), data=data)
            except ApplicationError as error:
                loose = add_service_errors(form, error)
            else:
                messages.success(request, _("Deal “%(name)s” opened.") % {"name": deal.name})
                return redirect("deals:board")
        status = 422
    else:
        form = DealForm(
            owners=owners,
            initial={"owner": str(request.user.pk), "contact": request.GET.get("contact", "")},
        )
    return render(
        request,
        "deals/deal_form.html",
        {"form": form, "products": products, "rows": rows, "loose_errors": loose},
        status=status,
    )


def _deal_data(workspace: Any, form: DealForm, rows: list[dict]) -> dict | None:
    """The service's input from the form, or None when the form already shows an error."""
    raw = form.data
    data: dict[str, Any] = {"name": raw.get("name", ""), "stage": raw.get("stage") or None}
    contact_text = raw.get("contact", "").strip()
    if contact_text:
        contact = selectors.contact_find(workspace=workspace, text=contact_text)
        if contact is None:
            form.add_error("contact", _("No contact with this email address or id."))
            return None
        data["contact_id"] = contact.pk
    if raw.get("amount", "").strip():
        data["amount"] = raw["amount"]
    if "expected_close" not in form.errors:
        data["expected_close"] = form.cleaned_data.get("expected_close")
    else:
        return None
    if raw.get("owner"):
        data["owner_id"] = raw["owner"]
    lines = [{"sku": row["sku"], "quantity": row["quantity"] or 1} for row in rows if row["sku"]]
    if lines:
        data["lines"] = lines
    if data["stage"] is None:
        del data["stage"]
    return data


# ---- the catalogue ---------------------------------------------------------------------------


@requires(Cap.VIEW_DATA, write=Cap.EDIT_DEALS)
def catalogue_view(request: HttpRequest) -> HttpResponse:
    """Product lines and products; writers add both from here."""
    workspace = request.workspace  # type: ignore[attr-defined]
    lines = list(selectors.product_line_list(workspace=workspace))
    line_form = ProductLineForm(prefix="line")
    product_form = ProductForm(prefix="product", lines=lines)
    status = 200
    if request.method == "POST":
        if request.POST.get("form") == "line":
            line_form = ProductLineForm(request.POST, prefix="line")
            if _save(request, line_form, services.product_line_save):
                messages.success(request, _("Product line saved."))
                return redirect("deals:catalogue")
        else:
            product_form = ProductForm(request.POST, prefix="product", lines=lines)
            if _save(request, product_form, services.product_save):
                messages.success(request, _("Product saved."))
                return redirect("deals:catalogue")
        status = 422
    return render(
        request,
        "deals/catalogue.html",
        {
            "lines": lines,
            "products": selectors.product_list(workspace=workspace),
            "line_form": line_form,
            "product_form": product_form,
        },
        status=status,
    )


def _save(request: HttpRequest, form: Any, service: Any) -> bool:
    """Call `service` with the form's values; on a problem, the form shows it."""
    if not form.is_valid():
        return False
    try:
        service(workspace=request.workspace, actor=_actor(request), data=form.cleaned_data)  # type: ignore[attr-defined]
    except ApplicationError as error:
        for message in add_service_errors(form, error):
            form.add_error(None, message)
        return False
    return True


@requires(Cap.EDIT_DEALS, write=Cap.EDIT_DEALS)
def product_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        product = selectors.product_get(workspace=workspace, product_id=pk)
    except NotFound:
        raise Http404("no such product") from None
    lines = list(selectors.product_line_list(workspace=workspace))
    if request.method == "POST":
        data = request.POST.copy()
        data["sku"] = product.sku  # the code is the product's key
        form = ProductForm(data, lines=lines)
        if _save(request, form, services.product_save):
            messages.success(request, _("Product saved."))
            return redirect("deals:catalogue")
        status = 422
    else:
        form = ProductForm(
            lines=lines,
            initial={
                "sku": product.sku,
                "name": product.name,
                "product_line": product.product_line.slug,
                "price": product.price,
                "active": product.active,
            },
        )
        status = 200
    form.fields["sku"].disabled = True
    return render(
        request, "deals/product_form.html", {"form": form, "product": product}, status=status
    )


@requires(Cap.EDIT_DEALS, write=Cap.EDIT_DEALS)
def product_line_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        line = selectors.product_line_get(workspace=workspace, slug=slug)
    except NotFound:
        raise Http404("no such product line") from None
    if request.method == "POST":
        data = request.POST.copy()
        data["slug"] = line.slug
        form = ProductLineForm(data)
        if _save(request, form, services.product_line_save):
            messages.success(request, _("Product line saved."))
            return redirect("deals:catalogue")
        status = 422
    else:
        form = ProductLineForm(initial={"slug": line.slug, "name": line.name})
        status = 200
    form.fields["slug"].disabled = True
    return render(
        request, "deals/product_line_form.html", {"form": form, "line": line}, status=status
    )


@error_redirect("deals:catalogue")
@requires(write=Cap.EDIT_DEALS)
@require_POST
def product_line_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        line = selectors.product_line_get(workspace=workspace, slug=slug)
        services.product_line_delete(workspace=workspace, actor=_actor(request), line=line)
    except NotFound:
        raise Http404("no such product line") from None
    messages.success(request, _("Product line “%(name)s” deleted.") % {"name": line.name})
    return redirect("deals:catalogue")
