"""The contacts list and the contact page: they compose every domain (the contact's stage and
history from lifecycle, scores from scoring, deals and orders, lists and segments, the timeline
from events), so they live in the UI layer above them. Parse the request, call a selector or a
service, render. So does the company page (its contacts and orders). The company list and forms and the
custom-field pages are contacts' own (volano/contacts/views.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from volano.conditions.selectors import condition_names
from volano.contacts import selectors
from volano.contacts.export import contacts_export_csv, contacts_export_xlsx
from volano.contacts.forms import (
    OWNER_EVERYONE,
    OWNER_MINE,
    BulkActionForm,
    ConsentForm,
    ContactFilterForm,
    ContactForm,
)
from volano.contacts.merge import MERGED_FIELDS, consent_wins, contact_merge, field_taken
from volano.contacts.models import (
    Company,
    Consent,
    Contact,
    Purpose,
)
from volano.contacts.services import (
    consent_set,
    contact_create,
    contact_update,
    contacts_owner_set,
)
from volano.contacts.views import (
    CappedPaginator,
    custom_display,
    email_consents,
    htmx_target,
    paginated_page,
)
from volano.core.activity import activity_list
from volano.core.errors import ApplicationError, NotFound
from volano.core.models import Membership, Role
from volano.core.money import format_money
from volano.core.permissions import Cap, requires
from volano.core.view_errors import error_redirect
from volano.deals.selectors import contact_panel_context
from volano.events import selectors as event_selectors
from volano.events.forms import ActivityForm
from volano.events.selectors import last_activity_by_contact
from volano.events.services import events_ingest
from volano.events.timeline import timeline_items
from volano.lifecycle.models import ChangeSource
from volano.lifecycle.selectors import stage_names
from volano.lifecycle.services import stage_set, stages_move
from volano.orders.models import Order
from volano.reports.churn import value_panel
from volano.reports.related import cross_sell_for_contact
from volano.scoring.models import ScoreModel
from volano.scoring.selectors import contacts_scored, list_score_model, points_of
from volano.scoring.services import scores_refresh_contacts
from volano.segments.models import Segment
from volano.segments.selectors import contacts_in_segment, list_get, list_list, segment_list
from volano.segments.services import list_add_contacts

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 25
COUNT_CAP = 10_000
CHANGES_SHOWN = 20  # the contact page's "Changes": the latest; the rest in settings → activity

# ---- contacts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListChoices:
    """The workspace's own names a contacts list shows and filters by."""

    stages: dict[str, str]
    owners: list[tuple[int, str]]
    segments: list[tuple[int, str]]
    lists: list[tuple[int, str]]
    score_model: ScoreModel | None


def _list_choices(workspace) -> ListChoices:
    members = (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return ListChoices(
        stages=stage_names(workspace=workspace),
        owners=[(m.user_id, str(m.user)) for m in members],
        segments=list(segment_list(workspace=workspace).values_list("pk", "name")),
        lists=list(list_list(workspace=workspace).values_list("pk", "name")),
        score_model=list_score_model(workspace=workspace),
    )


def default_owner(request: HttpRequest) -> str:
    """The owner filter when the URL names none: a sales rep starts on their own contacts, the
    others on everyone's. Either may pick the other; the choice then stays in the query string."""
    role = request.membership.role  # type: ignore[attr-defined]
    return OWNER_MINE if role == Role.SALES else OWNER_EVERYONE


def _filter_form(request: HttpRequest, data: QueryDict, choices: ListChoices) -> ContactFilterForm:
    """The list's filters from `data`, with the member's default owner if it names none (so the
    select shows what the list applies)."""
    if not data.get("owner"):
        data = data.copy()
        data["owner"] = default_owner(request)
    return ContactFilterForm(
        data,
        stages=list(choices.stages.items()),
        owners=choices.owners,
        segments=choices.segments,
        me=request.user.pk,
    )


def _contacts_matching(
    workspace, form: ContactFilterForm, choices: ListChoices, import_job_id: int | None = None
):
    """The contacts the list's filters pick (and, from an import's report, that import's),
    in the order its headers ask for."""
    qs = selectors.contact_list(
        workspace=workspace,
        **form.filters(),
        within=None
        if import_job_id is None
        else event_selectors.contacts_imported_by(workspace=workspace, job_id=import_job_id),
    ).select_related("owner")
    if form.segment_id is not None:
        segment = Segment.objects.for_workspace(workspace).filter(pk=form.segment_id).first()
        if segment is not None:
            qs = contacts_in_segment(workspace=workspace, contacts=qs, segment=segment)
    low, high = form.score_range
    sort = form.ordering
    model = choices.score_model
    if model is not None and (low is not None or high is not None or sort.endswith("score")):
        qs = contacts_scored(
            workspace=workspace, contacts=qs, model=model, at_least=low, at_most=high
        )
        if sort.endswith("score"):
            descending = sort.startswith("-")
            score = F("score").desc() if descending else F("score").asc()
            return qs.order_by(score, "-id" if descending else "id")
    return selectors.contacts_sorted(qs, sort=sort, stage_order=list(choices.stages))


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    consent: str
    stage: str
    score: float | None
    last_activity: Any


def _rows(workspace, contacts: list[Contact], choices: ListChoices) -> list[ContactRow]:
    """What the page shows beside each contact, read for the page only (a few queries in all)."""
    ids = [c.pk for c in contacts]
    consents = email_consents(workspace, ids)
    last = last_activity_by_contact(workspace=workspace, contact_ids=ids)
    points: dict[int, float] = {}
    if choices.score_model is not None:
        if contacts and hasattr(contacts[0], "score"):
            points = {c.pk: c.score for c in contacts}  # type: ignore[attr-defined]
        else:
            points = points_of(workspace=workspace, model=choices.score_model, contact_ids=ids)
    return [
        ContactRow(
            contact=c,
            consent=consents.get(c.pk, ""),
            stage=choices.stages.get(c.lifecycle_stage, c.lifecycle_stage),
            score=points.get(c.pk, 0.0) if choices.score_model is not None else None,
            last_activity=last.get(c.pk),
        )
        for c in contacts
    ]


SORT_COLUMNS = (
    ("name", gettext_lazy("Name")),
    ("stage", gettext_lazy("Stage")),
    ("score", gettext_lazy("Score")),
    ("owner", gettext_lazy("Owner")),
    ("added", gettext_lazy("Added")),
)


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: str
    query: str  # the list's query string that sorts by this column
    direction: str  # "ascending", "descending" or "" (aria-sort)


def _sort_headers(request: HttpRequest, current: str) -> dict[str, SortHeader]:
    headers = {}
    for key, label in SORT_COLUMNS:
        direction = ""
        if current.removeprefix("-") == key:
            direction = "descending" if current.startswith("-") else "ascending"
        # A first click sorts names and owners A→Z, and stage, score and date highest first.
        first = key if key in ("name", "owner") else f"-{key}"
        wanted = {"ascending": f"-{key}", "descending": key}.get(direction, first)
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = wanted
        headers[key] = SortHeader(key, str(label), query.urlencode(), direction)
    return headers


def _list_context(request: HttpRequest, choices: ListChoices) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    import_job_id = _import_job_id(request)
    form = _filter_form(request, request.GET, choices)
    paginator = CappedPaginator(
        _contacts_matching(workspace, form, choices, import_job_id), PAGE_SIZE
    )
    page = paginated_page(paginator, request.GET.get("page"))
    contacts = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    filters = form.filters()
    filtered = (
        any(filters.values())
        or form.segment_id is not None
        or any(v is not None for v in form.score_range)
        or import_job_id is not None
    )
    filter_query = request.GET.copy()
    for key in ("page", "sort"):
        filter_query.pop(key, None)
    # a bulk action on "every contact matching" acts on the owner the list applied
    filter_query["owner"] = form.data["owner"]
    everyone = request.GET.copy()
    everyone.pop("page", None)
    everyone["owner"] = OWNER_EVERYONE
    return {
        "owner_choice": form.data["owner"],
        "everyone_query": everyone.urlencode(),
        "form": form,
        "page": page,
        "paginator": paginator,
        "rows": _rows(workspace, contacts, choices),
        "query": query.urlencode(),
        "filter_query": filter_query.urlencode(),
        "filtered": filtered,
        "headers": _sort_headers(request, form.ordering),
        "score_model": choices.score_model,
        "bulk_form": BulkActionForm(
            stages=list(choices.stages.items()), owners=choices.owners, lists=choices.lists
        ),
        "import_job_id": import_job_id,
    }


@requires(Cap.VIEW_DATA)
def contact_list(request: HttpRequest) -> HttpResponse:
    choices = _list_choices(request.workspace)  # type: ignore[attr-defined]
    context = _list_context(request, choices)
    template = (
        "contacts/_contact_results.html"
        if htmx_target(request) == "results"
        else "contacts/contact_list.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _export_response(
    workspace, contacts, choices: ListChoices, kind: str
) -> HttpResponse | StreamingHttpResponse:
    if choices.score_model is not None and "score" not in contacts.query.annotations:
        contacts = contacts_scored(
            workspace=workspace, contacts=contacts, model=choices.score_model
        )
    stamp = timezone.localdate().isoformat()
    name = _("contacts")
    if kind == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            contacts_export_csv(workspace=workspace, contacts=contacts, stages=choices.stages),
            content_type="text/csv; charset=utf-8",
        )
    else:
        buffer = io.BytesIO()
        contacts_export_xlsx(
            workspace=workspace, contacts=contacts, stages=choices.stages, out=buffer
        )
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{kind}"'
    return response


@requires(Cap.VIEW_DATA, write=Cap.EDIT_CONTACTS)
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the ticked contacts or on every contact the filters match: each a single
    set-based service call over the same QuerySet the list shows."""
    if request.method != "POST":
        return redirect("contacts:list")
    workspace = request.workspace  # type: ignore[attr-defined]
    choices = _list_choices(workspace)
    form = BulkActionForm(
        request.POST,
        stages=list(choices.stages.items()),
        owners=choices.owners,
        lists=choices.lists,
    )
    back = f"{reverse('contacts:list')}?{request.POST.get('filters', '')}".rstrip("?")
    if not form.is_valid():
        errors = [
            f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
            for name, field_errors in form.errors.items()
            for error in field_errors
        ]
        messages.error(request, " ".join(errors))
        return _bulk_done(request, back)
    data = form.cleaned_data
    if data["scope"] == "all":
        filters = _filter_form(request, QueryDict(request.POST.get("filters", "")), choices)
        contacts = _contacts_matching(workspace, filters, choices).order_by()
    else:
        contacts = selectors.contact_list(workspace=workspace).filter(pk__in=data["ids"]).order_by()
    action = data["action"]
    if action in ("export_csv", "export_xlsx"):
        # a CSV streams (StreamingHttpResponse): the decorators only pass it through
        return _export_response(workspace, contacts, choices, action.removeprefix("export_"))  # type: ignore[return-value]
    try:
        if action == "list":
            target = list_get(workspace=workspace, slug_or_id=int(data["target_list"]))
            added = list_add_contacts(
                workspace=workspace,
                contact_list=target,
                contacts=contacts,
                actor=request.user,  # type: ignore[arg-type]
            )
            text = ngettext(
                "%(count)s contact added to “%(list)s”.",
                "%(count)s contacts added to “%(list)s”.",
                added,
            ) % {"count": number_format(added, force_grouping=True), "list": target.name}
        elif action == "owner":
            owner = None if data["new_owner"] == "none" else int(data["new_owner"])
            changed = contacts_owner_set(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                contacts=contacts,
                owner_id=owner,
            )
            text = ngettext(
                "%(count)s contact has a new owner.",
                "%(count)s contacts have a new owner.",
                changed,
            ) % {"count": number_format(changed, force_grouping=True)}
        else:
            moved = stages_move(
                workspace=workspace,
                contacts=contacts,
                to_stage=data["new_stage"],
                source=ChangeSource.USER,
                actor=request.user,  # type: ignore[arg-type]
                reason=data["reason"].strip(),
            )
            text = ngettext(
                "%(count)s contact moved to “%(stage)s”.",
                "%(count)s contacts moved to “%(stage)s”.",
                len(moved),
            ) % {
                "count": number_format(len(moved), force_grouping=True),
                "stage": choices.stages.get(data["new_stage"], data["new_stage"]),
            }
    except (ApplicationError, NotFound) as error:
        messages.error(request, getattr(error, "message", str(error)))
        return _bulk_done(request, back)
    messages.success(request, text)
    return _bulk_done(request, back)


def _bulk_done(request: HttpRequest, back: str) -> HttpResponse:
    return redirect(back)


def _import_job_id(request: HttpRequest) -> int | None:
    """`?import=<job id>`: the contacts that import created or updated (the import's report
    links here)."""
    value = request.GET.get("import", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


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
        event_selectors.contact_timeline(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
        )[offset : offset + TIMELINE_PAGE_SIZE + 1]
    )
    return {
        "items": timeline_items(
            events[:TIMELINE_PAGE_SIZE],
            condition_names(workspace=request.workspace),  # type: ignore[attr-defined]
        ),
        "next_page": page + 1 if len(events) > TIMELINE_PAGE_SIZE else None,
        "timeline_page": page,
    }


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    label: str
    consent: Consent | None
    form: ConsentForm


def _detail_context(
    request: HttpRequest, contact: Contact, bound: ConsentForm | None = None
) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    consents = selectors.contact_consents(workspace=workspace, contact=contact)
    fields = list(selectors.custom_fields(workspace=workspace, entity="contact"))
    known = {f.key for f in fields}
    custom = [(f.label, custom_display(f, contact.custom.get(f.key))) for f in fields]
    custom += [(key, str(value)) for key, value in contact.custom.items() if key not in known]
    rows = [
        ConsentRow(
            purpose=value,
            label=str(label),
            consent=consents.get(value),
            form=bound
            if bound is not None and bound.prefix == value
            else ConsentForm(prefix=value),
        )
        for value, label in Purpose.choices
    ]
    return {
        "contact": contact,
        "consents": rows,
        "email_status": consents[Purpose.EMAIL_MARKETING].status
        if Purpose.EMAIL_MARKETING in consents
        else "",
        "custom": custom,
        "activity_form": ActivityForm(prefix="activity"),
        "changes": activity_list(workspace=workspace, contact_id=contact.pk)[:CHANGES_SHOWN],
        **_timeline_page(request, contact, 1),
        **_with_related_cross_sell(
            workspace, contact, contact_panel_context(workspace=workspace, contact=contact)
        ),
        "value": value_panel(workspace, contact_ids=[contact.pk], as_of=timezone.localdate()),
    }


def _with_related_cross_sell(workspace, contact: Contact, panel: dict[str, Any]) -> dict[str, Any]:
    """The deals panel's cross-sell (the product lines on sale not bought yet), the lines that
    the customers of this contact's lines buy more than others first (association rules,
    volano.reports.related), each with its reason."""
    lines = panel["customer"]["cross_sell"]
    if not lines:
        return panel
    ranked = {
        s["slug"]: s for s in cross_sell_for_contact(workspace, contact_id=contact.pk, limit=50)
    }
    advised = [
        {**line, "because": ranked[line["slug"]]["because"],
         "confidence_pct": round(ranked[line["slug"]]["confidence"] * 100),
         "lift": ranked[line["slug"]]["lift"]}
        for line in lines
        if line["slug"] in ranked
    ]  # fmt: skip
    advised.sort(key=lambda line: -line["lift"])
    rest = [line for line in lines if line["slug"] not in ranked]
    panel["customer"]["cross_sell"] = advised + rest
    return panel


@requires(Cap.VIEW_DATA)
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _get_contact(request, contact_id)
    return render(request, "contacts/contact_detail.html", _detail_context(request, contact))


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def contact_consent_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Record by hand what a contact decided (on the phone, on paper); the note is the proof."""
    contact = _get_contact(request, contact_id)
    purpose = request.POST.get("purpose", "")
    if request.method != "POST" or purpose not in Purpose.values:
        return redirect("contacts:detail", contact_id=contact.pk)
    form = ConsentForm(request.POST, prefix=purpose)
    if form.is_valid():
        consent_set(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=request.user,  # type: ignore[arg-type]
            contact=contact,
            purpose=purpose,
            status=form.cleaned_data["status"],
            source=f"manual:{request.user.email}",  # type: ignore[union-attr]
            proof=form.cleaned_data["note"].strip(),
        )
        messages.success(
            request,
            _("Consent for %(purpose)s recorded.") % {"purpose": Purpose(purpose).label},
        )
        return redirect(f"{reverse('contacts:detail', args=[contact.pk])}#consent-title")
    return render(
        request,
        "contacts/contact_detail.html",
        _detail_context(request, contact, bound=form),
        status=422,
    )


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def contact_stage_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A user moves the contact to another stage; the reason goes to the history."""
    contact = _get_contact(request, contact_id)
    if request.method != "POST":
        return redirect("contacts:detail", contact_id=contact.pk)
    try:
        moved = stage_set(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=request.user,  # type: ignore[arg-type]
            contact=contact,
            stage=request.POST.get("stage", ""),
            source=ChangeSource.USER,
            reason=request.POST.get("reason", "").strip()[:300],
        )
    except ApplicationError as error:
        context = _detail_context(request, contact)
        context["stage_error"] = error.message
        return render(request, "contacts/contact_detail.html", context, status=422)
    if moved:
        messages.success(request, _("Stage changed."))
    return redirect(f"{reverse('contacts:detail', args=[contact.pk])}#lifecycle-title")


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def contact_activity_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Log what the contact did offline; scores and stage rules follow as for any event."""
    contact = _get_contact(request, contact_id)
    if request.method != "POST":
        return redirect("contacts:detail", contact_id=contact.pk)
    form = ActivityForm(request.POST, prefix="activity")
    htmx = bool(getattr(request, "htmx", False))
    if not form.is_valid():
        context = _detail_context(request, contact)
        context["activity_form"] = form
        if htmx:  # 200: HTMX swaps the form with its errors only on a success status
            return render(request, "contacts/_activity_form.html", context)
        return render(request, "contacts/contact_detail.html", context, status=422)
    workspace = request.workspace  # type: ignore[attr-defined]
    item = form.event_item(contact.pk)
    result = events_ingest(
        workspace=workspace,
        items=[item],
        source=f"manual:{request.user.email}",  # type: ignore[union-attr]
        create_contacts=False,
    )
    if result.rejected:
        raise ApplicationError(result.rejected[0]["message"], field=result.rejected[0]["field"])
    if not htmx:
        messages.success(request, _("Activity logged: scores and stage follow in a moment."))
        return redirect(f"{reverse('contacts:detail', args=[contact.pk])}#timeline-title")
    # The rep is looking at this contact: score it now (one contact, the statements compiled
    # for the minute), so the stage card shows what the call or meeting changed. The task the
    # event enqueued finds nothing left to do.
    scores_refresh_contacts(
        workspace=workspace, contact_ids=[contact.pk], changed=[f"event:{item['type']}"]
    )
    contact = _get_contact(request, contact.pk)
    context = _detail_context(request, contact)
    context["logged"] = True
    return render(request, "contacts/_activity_logged.html", context)


@requires(Cap.VIEW_DATA)
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


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def contact_create_view(request: HttpRequest) -> HttpResponse:
    form = _contact_form(request, initial={"country": "IT"})
    if request.method == "POST" and (saved := _save_contact(request, form, None)):
        messages.success(request, _("Contact created."))
        return redirect("contacts:detail", contact_id=saved.pk)
    status = 422 if form.is_bound else 200
    return render(request, "contacts/contact_form.html", {"form": form}, status=status)


@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
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


# ---- merging duplicates --------------------------------------------------------------------

MERGE_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "phone": gettext_lazy("Phone"),
    "job_title": gettext_lazy("Job title"),
    "company_id": gettext_lazy("Company"),
    "street": gettext_lazy("Street"),
    "postal_code": gettext_lazy("CAP"),
    "city": gettext_lazy("City"),
    "province": gettext_lazy("Province"),
    "region": gettext_lazy("Region"),
    "language": gettext_lazy("Language"),
    "owner_id": gettext_lazy("Owner"),
    "source": gettext_lazy("Source"),
}


@dataclass(frozen=True)
class MergeRow:
    label: str
    survivor: str
    duplicate: str
    result: str
    taken: bool


def _merge_value(contact: Contact, name: str) -> str:
    if name == "company_id":
        return contact.company.name if contact.company else ""
    if name == "owner_id":
        return str(contact.owner) if contact.owner else ""
    return str(getattr(contact, name) or "")


def _consent_text(consent: Consent | None) -> str:
    if consent is None:
        return ""
    return (
        f"{consent.get_status_display()} · {date_format(consent.recorded_at, 'SHORT_DATE_FORMAT')}"
    )


def merge_preview(workspace, survivor: Contact, duplicate: Contact) -> dict[str, Any]:
    """What the survivor keeps and takes, under the rule contact_merge applies."""
    rows = [
        MergeRow(
            label=str(_("Email")),
            survivor=survivor.email,
            duplicate=duplicate.email,
            result=survivor.email or "",
            taken=False,
        )
    ]
    for name in MERGED_FIELDS:
        mine, theirs = _merge_value(survivor, name), _merge_value(duplicate, name)
        taken = field_taken(survivor, duplicate, name)
        rows.append(
            MergeRow(
                label=str(MERGE_LABELS.get(name, name)),
                survivor=mine,
                duplicate=theirs,
                result=theirs if taken else mine,
                taken=taken,
            )
        )
    tags = list(dict.fromkeys([*survivor.tags, *duplicate.tags]))
    rows.append(
        MergeRow(
            label=str(_("Tags")),
            survivor=", ".join(survivor.tags),
            duplicate=", ".join(duplicate.tags),
            result=", ".join(tags),
            taken=len(tags) > len(survivor.tags),
        )
    )
    fields = {f.key: f for f in selectors.custom_fields(workspace=workspace, entity="contact")}
    for key in dict.fromkeys([*survivor.custom, *duplicate.custom]):
        field = fields.get(key)

        def shown(values: dict, field=field, key=key) -> str:
            if key not in values:
                return ""
            return custom_display(field, values[key]) if field else str(values[key])

        taken = key not in survivor.custom
        rows.append(
            MergeRow(
                label=field.label if field else key,
                survivor=shown(survivor.custom),
                duplicate=shown(duplicate.custom),
                result=shown(duplicate.custom if taken else survivor.custom),
                taken=taken,
            )
        )
    kept = selectors.contact_consents(workspace=workspace, contact=survivor)
    offered = selectors.contact_consents(workspace=workspace, contact=duplicate)
    consents = []
    for purpose, label in Purpose.choices:
        a, b = kept.get(purpose), offered.get(purpose)
        taken = consent_wins(a, b)
        consents.append(
            MergeRow(
                label=str(label),
                survivor=_consent_text(a),
                duplicate=_consent_text(b),
                result=_consent_text(b if taken else a),
                taken=taken,
            )
        )
    return {
        "rows": rows,
        "consent_rows": consents,
        "events_moving": event_selectors.contact_timeline(
            workspace=workspace, contact=duplicate
        ).count(),
        "orders_moving": Order.objects.for_workspace(workspace).filter(contact=duplicate).count(),
        "created_at": min(survivor.created_at, duplicate.created_at),
    }


def _merge_candidates(workspace, survivor: Contact, term: str) -> list[Contact]:
    """Contacts matching what was typed or, with nothing typed, those that look like the same
    person (same name, or same phone)."""
    if term:
        qs = selectors.contact_list(workspace=workspace, search=term)
    else:
        same = Q(pk__in=[])
        if survivor.first_name and survivor.last_name:
            same |= Q(first_name__iexact=survivor.first_name, last_name__iexact=survivor.last_name)
        if survivor.phone:
            same |= Q(phone=survivor.phone)
        qs = selectors.contact_list(workspace=workspace).filter(same)
    return list(qs.exclude(pk=survivor.pk)[:20])


@error_redirect("contacts:merge", "contact_id")
@requires(Cap.EDIT_CONTACTS, write=Cap.EDIT_CONTACTS)
def contact_merge_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Pick a duplicate, see what this contact will keep and take, confirm with a POST."""
    workspace = request.workspace  # type: ignore[attr-defined]
    survivor = _get_contact(request, contact_id)
    if request.method == "POST":
        duplicate = _get_contact(request, request.POST.get("duplicate_id"))  # type: ignore[arg-type]
        name = str(duplicate)
        contact_merge(
            workspace=workspace,
            actor=request.user,  # type: ignore[arg-type]
            survivor=survivor,
            duplicate=duplicate,
        )
        messages.success(
            request,
            _("%(duplicate)s was merged into this contact and then deleted.") % {"duplicate": name},
        )
        return redirect("contacts:detail", contact_id=survivor.pk)

    term = request.GET.get("q", "").strip()
    context: dict[str, Any] = {
        "contact": survivor,
        "q": term,
        "candidates": _merge_candidates(workspace, survivor, term),
    }
    if htmx_target(request) == "merge-results":
        return render(request, "contacts/_merge_candidates.html", context)
    if duplicate_id := request.GET.get("duplicate"):
        duplicate = _get_contact(request, duplicate_id)  # type: ignore[arg-type]
        if duplicate.pk != survivor.pk:
            context["duplicate"] = duplicate
            context.update(merge_preview(workspace, survivor, duplicate))
    response = render(request, "contacts/contact_merge.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# ---- custom fields -------------------------------------------------------------------------


# ---- companies ------------------------------------------------------------------------------


@requires(Cap.VIEW_DATA)
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        company: Company = selectors.company_get(workspace=workspace, company_id=company_id)
    except NotFound:
        raise Http404("no such company") from None
    contacts_qs = selectors.contact_list(workspace=workspace, company_id=company.pk)
    contacts = list(contacts_qs[:100])
    consents = email_consents(workspace, [c.pk for c in contacts])
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
        "custom": [(f.label, custom_display(f, company.custom.get(f.key))) for f in fields],
    }
    # the company's value: its contacts' (every contact, not only the 100 listed)
    value = value_panel(
        workspace,
        contact_ids=list(contacts_qs.values_list("pk", flat=True)),
        as_of=timezone.localdate(),
    )
    names = {c.pk: c for c in contacts}
    context["value"] = value
    context["value_rows"] = [(names.get(r.contact_id), r) for r in (value or {}).get("rows", [])]
    return render(request, "contacts/company_detail.html", context)
