"""HTML pages for contacts and companies: parse the request, call a selector or a service, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from volano.contacts import selectors
from volano.contacts.forms import ContactFilterForm, ContactForm
from volano.contacts.models import (
    Company,
    Consent,
    ConsentStatus,
    Contact,
    CustomField,
    FieldType,
    Purpose,
)
from volano.contacts.services import contact_create, contact_update
from volano.core.errors import ApplicationError, NotFound
from volano.core.views import workspace_required, write_required
from volano.events.models import Channel, Event, EventType
from volano.orders.models import Order

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 25
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows, so a search over a million contacts stays quick;
    `capped` says the real number is larger."""

    capped = False

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: COUNT_CAP + 1].count()  # type: ignore[attr-defined]
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)


def _page(paginator: Paginator, number: str | None):
    try:
        return paginator.page(number or 1)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def _htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx and not htmx.boosted else None


# ---- how a value or an event reads for a person --------------------------------------------


def format_money(amount: Any, currency: str = "EUR") -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    text = number_format(value, 2, force_grouping=True)
    return f"€ {text}" if currency in ("", "EUR") else f"{text} {currency}"


def _quoted(text: Any) -> str:
    return f"“{text}”"


def describe_event(event: Event) -> str:
    """One line a marketer reads, from the event's properties (keys as agreed product-wide)."""
    p = event.properties or {}
    t = event.type
    if t == EventType.PAGE_VIEW:
        page = p.get("title") or p.get("url") or ""
        if p.get("dwell_seconds"):
            return _("%(page)s · %(seconds)s s on the page") % {
                "page": page,
                "seconds": p["dwell_seconds"],
            }
        return str(page)
    if t == EventType.FORM_SUBMITTED:
        if p.get("url"):
            return _("%(form)s on %(url)s") % {"form": _quoted(p.get("form", "")), "url": p["url"]}
        return _quoted(p.get("form", ""))
    if t == EventType.CONTENT_DOWNLOADED:
        return _quoted(p.get("title") or p.get("content") or "")
    if t == EventType.EMAIL_CLICKED:
        return _("%(url)s in %(subject)s") % {
            "url": p.get("url", ""),
            "subject": _quoted(p.get("subject", "")),
        }
    if t == EventType.EMAIL_BOUNCED:
        kind = _("Permanent") if p.get("kind") == "hard" else _("Temporary")
        return f"{kind}: {p.get('reason', '')}".strip(": ")
    if t in (
        EventType.EMAIL_SENT,
        EventType.EMAIL_DELIVERED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_UNSUBSCRIBED,
        EventType.EMAIL_COMPLAINED,
    ):
        return _quoted(p["subject"]) if p.get("subject") else str(p.get("message", ""))
    if t in (EventType.WEBINAR_REGISTERED, EventType.WEBINAR_ATTENDED, EventType.EVENT_ATTENDED):
        return _quoted(p.get("title") or p.get("webinar") or p.get("event") or "")
    if t == EventType.ORDER:
        parts = [_("No. %(number)s") % {"number": p.get("number", "")}]
        if p.get("total") is not None:
            parts.append(format_money(p["total"], p.get("currency", "EUR")))
        lines = p.get("lines") or []
        if lines:
            parts.append(
                ", ".join(str(line.get("product_name", "")) for line in lines[:3])
                + ("…" if len(lines) > 3 else "")
            )
        return " · ".join(parts)
    if t == EventType.SURVEY_ANSWERED:
        text = _("Score %(score)s") % {"score": p.get("score", "—")}
        return f"{text} · {_quoted(p['answer'])}" if p.get("answer") else text
    if t == EventType.DEAL_CHANGED:
        text = f"{p.get('deal', '')} → {p.get('stage', '')}".strip()
        return f"{text} · {format_money(p['amount'])}" if p.get("amount") is not None else text
    if t == EventType.TICKET:
        return f"{p.get('subject', '')} ({p.get('status', '')})"
    if t == EventType.CONSENT_CHANGED:
        statuses = dict(ConsentStatus.choices)
        purpose = dict(Purpose.choices).get(str(p.get("purpose")), p.get("purpose", ""))
        before = statuses.get(str(p.get("from")), _("no answer"))
        after = statuses.get(str(p.get("to")), p.get("to", ""))
        return f"{purpose}: {before} → {after}"
    if t == EventType.CONTACT_MERGED:
        duplicate = p.get("duplicate") or {}
        return _("Merged with %(who)s; %(events)s interactions moved here") % {
            "who": duplicate.get("email") or duplicate.get("id") or "—",
            "events": p.get("events_moved", 0),
        }
    return str(p.get("name", ""))


EVENT_ICONS = {
    EventType.PAGE_VIEW: ("◉", "web"),
    EventType.FORM_SUBMITTED: ("✎", "form"),
    EventType.CONTENT_DOWNLOADED: ("⤓", "web"),
    EventType.EMAIL_SENT: ("✉", "email"),
    EventType.EMAIL_DELIVERED: ("✉", "email"),
    EventType.EMAIL_OPENED: ("✉", "email"),
    EventType.EMAIL_CLICKED: ("➚", "email"),
    EventType.EMAIL_BOUNCED: ("⚠", "bad"),
    EventType.EMAIL_UNSUBSCRIBED: ("⊘", "bad"),
    EventType.EMAIL_COMPLAINED: ("⚠", "bad"),
    EventType.WEBINAR_REGISTERED: ("▶", "meet"),
    EventType.WEBINAR_ATTENDED: ("▶", "meet"),
    EventType.EVENT_ATTENDED: ("★", "meet"),
    EventType.ORDER: ("€", "order"),
    EventType.SURVEY_ANSWERED: ("☺", "form"),
    EventType.DEAL_CHANGED: ("◆", "order"),
    EventType.TICKET: ("⚑", "support"),
    EventType.CONSENT_CHANGED: ("✓", "system"),
    EventType.CONTACT_MERGED: ("⇄", "system"),
}


@dataclass(frozen=True)
class TimelineItem:
    event: Event
    label: str
    icon: str
    css: str
    description: str
    channel: str


def timeline_items(events: list[Event]) -> list[TimelineItem]:
    labels = dict(EventType.choices)
    channels = dict(Channel.choices)
    items = []
    for event in events:
        icon, css = EVENT_ICONS.get(event.type, ("•", "other"))  # type: ignore[call-overload]
        items.append(
            TimelineItem(
                event=event,
                label=str(labels.get(event.type, event.type)),
                icon=icon,
                css=css,
                description=describe_event(event),
                channel=str(channels.get(event.channel, event.channel)),
            )
        )
    return items


def _custom_display(field: CustomField, value: Any) -> str:
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


def _email_consents(workspace, contact_ids: list[int]) -> dict[int, str]:
    rows = Consent.objects.for_workspace(workspace).filter(
        contact_id__in=contact_ids, purpose=Purpose.EMAIL_MARKETING
    )
    return dict(rows.values_list("contact_id", "status"))


# ---- contacts ------------------------------------------------------------------------------


@workspace_required
def contact_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = ContactFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    paginator = CappedPaginator(selectors.contact_list(workspace=workspace, **filters), PAGE_SIZE)
    page = _page(paginator, request.GET.get("page"))
    contacts = list(page.object_list)
    consents = _email_consents(workspace, [c.pk for c in contacts])
    rows = [(c, consents.get(c.pk, "")) for c in contacts]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "paginator": paginator,
        "rows": rows,
        "query": query.urlencode(),
        "filtered": any(filters.values()),
    }
    template = (
        "contacts/_contact_results.html"
        if _htmx_target(request) == "results"
        else "contacts/contact_list.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _get_contact(request: HttpRequest, contact_id: int) -> Contact:
    try:
        return selectors.contact_get(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact_id=contact_id,
        )
    except NotFound:
        raise Http404("no such contact") from None


def _timeline_page(request: HttpRequest, contact: Contact, page: int) -> dict[str, Any]:
    offset = (page - 1) * TIMELINE_PAGE_SIZE
    events = list(
        selectors.contact_timeline(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
        )[offset : offset + TIMELINE_PAGE_SIZE + 1]
    )
    return {
        "items": timeline_items(events[:TIMELINE_PAGE_SIZE]),
        "next_page": page + 1 if len(events) > TIMELINE_PAGE_SIZE else None,
        "timeline_page": page,
    }


@workspace_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    contact = _get_contact(request, contact_id)
    consents = selectors.contact_consents(workspace=workspace, contact=contact)
    fields = list(selectors.custom_fields(workspace=workspace, entity="contact"))
    known = {f.key for f in fields}
    custom = [(f.label, _custom_display(f, contact.custom.get(f.key))) for f in fields]
    custom += [(key, str(value)) for key, value in contact.custom.items() if key not in known]
    context = {
        "contact": contact,
        "consents": [(value, label, consents.get(value)) for value, label in Purpose.choices],
        "email_status": consents[Purpose.EMAIL_MARKETING].status
        if Purpose.EMAIL_MARKETING in consents
        else "",
        "custom": custom,
        **_timeline_page(request, contact, 1),
    }
    return render(request, "contacts/contact_detail.html", context)


@workspace_required
def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _get_contact(request, contact_id)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    context = {"contact": contact, **_timeline_page(request, contact, page)}
    template = (
        "contacts/_timeline_items.html"
        if getattr(request, "htmx", False)
        else "contacts/contact_timeline.html"
    )
    return render(request, template, context)


def _resolve_company(request: HttpRequest, form: ContactForm) -> tuple[bool, int | None]:
    name = form.cleaned_data["company"].strip()
    if not name:
        return True, None
    company = (
        selectors.company_list(workspace=request.workspace, search=name)  # type: ignore[attr-defined]
        .filter(name__iexact=name)
        .first()
    )
    if company is None:
        form.add_error(
            "company",
            _(
                "There is no company called “%(name)s” yet: pick one from the list or leave it empty."
            )
            % {"name": name},
        )
        return False, None
    return True, company.pk


def _contact_form(request: HttpRequest, **kwargs) -> ContactForm:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        workspace=workspace,
        custom_fields=list(selectors.custom_fields(workspace=workspace, entity="contact")),
        **kwargs,
    )
    form.fields["company"].widget.attrs.update(
        {
            "hx-get": reverse("contacts:company_options"),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#company-options",
        }
    )
    return form


def _save_contact(request: HttpRequest, form: ContactForm, contact: Contact | None):
    if not form.is_valid():
        return None
    ok, company_id = _resolve_company(request, form)
    if not ok:
        return None
    data = form.service_data(company_id=company_id)
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        if contact is None:
            return contact_create(workspace=workspace, actor=request.user, data=data)  # type: ignore[arg-type]
        return contact_update(
            workspace=workspace,
            actor=request.user,  # type: ignore[arg-type]
            contact=contact,
            data=data,
        )
    except ApplicationError as error:
        form.add_service_error(error)
        return None


@write_required
def contact_create_view(request: HttpRequest) -> HttpResponse:
    form = _contact_form(request, initial={"country": "IT"})
    if request.method == "POST" and (saved := _save_contact(request, form, None)):
        messages.success(request, _("Contact created."))
        return redirect("contacts:detail", contact_id=saved.pk)
    status = 422 if form.is_bound else 200
    return render(request, "contacts/contact_form.html", {"form": form}, status=status)


@write_required
def contact_update_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _get_contact(request, contact_id)
    fields = list(selectors.custom_fields(workspace=request.workspace, entity="contact"))  # type: ignore[attr-defined]
    form = _contact_form(request, initial=ContactForm.initial_for(contact, fields))
    if request.method == "POST" and (saved := _save_contact(request, form, contact)):
        messages.success(request, _("Changes saved."))
        return redirect("contacts:detail", contact_id=saved.pk)
    status = 422 if form.is_bound else 200
    return render(
        request, "contacts/contact_form.html", {"form": form, "contact": contact}, status=status
    )


# ---- companies -----------------------------------------------------------------------------


@workspace_required
def company_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the company field's datalist, matching what was typed so far."""
    term = request.GET.get("company", "").strip()
    companies = (
        selectors.company_list(workspace=request.workspace, search=term)[:20]  # type: ignore[attr-defined]
        if len(term) >= 2
        else []
    )
    return render(request, "contacts/_company_options.html", {"companies": companies})


@workspace_required
def company_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    search = request.GET.get("q", "").strip()
    paginator = CappedPaginator(
        selectors.company_list(workspace=workspace, search=search), PAGE_SIZE
    )
    page = _page(paginator, request.GET.get("page"))
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
        if _htmx_target(request) == "results"
        else "contacts/company_list.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@workspace_required
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        company: Company = selectors.company_get(workspace=workspace, company_id=company_id)
    except NotFound:
        raise Http404("no such company") from None
    contacts_qs = selectors.contact_list(workspace=workspace, company_id=company.pk)
    contacts = list(contacts_qs[:100])
    consents = _email_consents(workspace, [c.pk for c in contacts])
    orders = list(
        Order.objects.for_workspace(workspace)
        .filter(company=company)
        .select_related("contact")
        .annotate(line_count=Count("lines"))
        .order_by("-ordered_at", "-id")[:50]
    )
    fields = list(selectors.custom_fields(workspace=workspace, entity="company"))
    context = {
        "company": company,
        "contacts": [(c, consents.get(c.pk, "")) for c in contacts],
        "contact_total": contacts_qs.count() if len(contacts) == 100 else len(contacts),
        "orders": [(o, format_money(o.total, o.currency)) for o in orders],
        "custom": [(f.label, _custom_display(f, company.custom.get(f.key))) for f in fields],
    }
    return render(request, "contacts/company_detail.html", context)
