"""HTML pages for companies and the workspace's custom fields, and the helpers every contacts page
shares (the capped paginator, how a custom value reads). The contacts list, the contact page
and the company page compose several domains, so they live in the UI layer:
volano/ui/contacts/views.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from volano.contacts import selectors
from volano.contacts.forms import (
    CompanyForm,
    CustomFieldForm,
)
from volano.contacts.models import (
    Company,
    Consent,
    Contact,
    CustomField,
    Entity,
    FieldType,
    Purpose,
)
from volano.contacts.services import (
    company_create,
    company_update,
    custom_field_create,
)
from volano.core.errors import ApplicationError, NotFound
from volano.core.money import format_money
from volano.core.permissions import Cap, allows, requires

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 25
COUNT_CAP = 10_000
CHANGES_SHOWN = 20  # the contact page's "Changes": the latest; the rest in settings → activity


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows, so a search over a million contacts stays quick;
    `capped` says the real number is larger."""

    capped = False

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: COUNT_CAP + 1].count()  # type: ignore[attr-defined]
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)


def paginated_page(paginator: Paginator, number: str | None):
    try:
        return paginator.page(number or 1)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx and not htmx.boosted else None


def custom_display(field: CustomField, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    match field.type:
        case FieldType.MONEY:
            return format_money(value)
        case FieldType.NUMBER:
            return number_format(value, force_grouping=True)
        case FieldType.DATE:
            try:
                return date_format(dt.date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
            except ValueError:
                return str(value)
        case FieldType.BOOLEAN:
            return _("Yes") if value else _("No")
        case FieldType.MULTI_CHOICE:
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(value)


def email_consents(workspace, contact_ids: list[int]) -> dict[int, str]:
    rows = Consent.objects.for_workspace(workspace).filter(
        contact_id__in=contact_ids, purpose=Purpose.EMAIL_MARKETING
    )
    return dict(rows.values_list("contact_id", "status"))


@requires(Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def custom_fields_view(request: HttpRequest) -> HttpResponse:
    """The workspace's custom fields; administrators and marketers add new ones here."""
    workspace = request.workspace  # type: ignore[attr-defined]
    can_edit = allows(request.membership.role, Cap.EDIT_MARKETING)  # type: ignore[attr-defined]
    form = CustomFieldForm(request.POST if request.method == "POST" else None) if can_edit else None
    if form is not None and form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            field = custom_field_create(
                workspace=workspace,
                key=data["key"],
                label=data["label"].strip(),
                type=data["type"],
                entity=data["entity"],
                choices=form.choice_list(),
                required=data["required"],
            )
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Custom field “%(label)s” added.") % {"label": field.label})
            return redirect("contacts:custom_fields")
    type_labels = dict(FieldType.choices)
    groups = [
        (
            entity,
            label,
            [
                (f, type_labels.get(f.type, f.type))  # type: ignore[call-overload]
                for f in selectors.custom_fields(workspace=workspace, entity=entity)
            ],
        )
        for entity, label in Entity.choices
    ]
    status = 422 if form is not None and form.is_bound else 200
    return render(
        request,
        "contacts/custom_fields.html",
        {"form": form, "groups": groups, "can_edit": can_edit},
        status=status,
    )


# ---- companies -----------------------------------------------------------------------------


@requires(Cap.VIEW_DATA)
def company_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the company field's datalist, matching what was typed so far."""
    term = request.GET.get("company", "").strip()
    companies = (
        selectors.company_list(workspace=request.workspace, search=term)[:20]  # type: ignore[attr-defined]
        if len(term) >= 2
        else []
    )
    return render(request, "contacts/_company_options.html", {"companies": companies})


@requires(Cap.VIEW_DATA)
def company_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    search = request.GET.get("q", "").strip()
    paginator = CappedPaginator(
        selectors.company_list(workspace=workspace, search=search), PAGE_SIZE
    )
    page = paginated_page(paginator, request.GET.get("page"))
    companies = list(page.object_list)
    counts = dict(
        Contact.objects.for_workspace(workspace)
        .filter(company_id__in=[c.pk for c in companies])
        .values("company_id")
        .annotate(n=Count("id"))
        .values_list("company_id", "n")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "search": search,
        "page": page,
        "paginator": paginator,
        "rows": [(c, counts.get(c.pk, 0)) for c in companies],
        "query": query.urlencode(),
    }
    template = (
        "contacts/_company_results.html"
        if htmx_target(request) == "results"
        else "contacts/company_list.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _company_form(request: HttpRequest, **kwargs) -> CompanyForm:
    return CompanyForm(
        request.POST if request.method == "POST" else None,
        custom_fields=list(
            selectors.custom_fields(
                workspace=request.workspace,  # type: ignore[attr-defined]
                entity=Entity.COMPANY,
            )
        ),
        **kwargs,
    )


def _save_company(request: HttpRequest, form: CompanyForm, company: Company | None):
    if not form.is_valid():
        return None
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        if company is None:
            return company_create(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                data=form.service_data(),
            )
        return company_update(
            workspace=workspace,
            actor=request.user,  # type: ignore[arg-type]
            company=company,
            data=form.service_data(),
        )
    except ApplicationError as error:
        form.add_service_error(error)
        return None


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def company_create_view(request: HttpRequest) -> HttpResponse:
    form = _company_form(request, initial={"country": "IT"})
    if request.method == "POST" and (saved := _save_company(request, form, None)):
        messages.success(request, _("Company created."))
        return redirect("contacts:company_detail", company_id=saved.pk)
    status = 422 if form.is_bound else 200
    return render(request, "contacts/company_form.html", {"form": form}, status=status)


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def company_update_view(request: HttpRequest, company_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        company = selectors.company_get(workspace=workspace, company_id=company_id)
    except NotFound:
        raise Http404("no such company") from None
    fields = list(selectors.custom_fields(workspace=workspace, entity=Entity.COMPANY))
    form = _company_form(request, initial=CompanyForm.initial_for(company, fields))
    if request.method == "POST" and (saved := _save_company(request, form, company)):
        messages.success(request, _("Changes saved."))
        return redirect("contacts:company_detail", company_id=saved.pk)
    status = 422 if form.is_bound else 200
    return render(
        request, "contacts/company_form.html", {"form": form, "company": company}, status=status
    )
