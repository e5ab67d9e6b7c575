"""The overview page: the dashboard (volano.reports.dashboards) under the counts and latest rows
of contacts, events and imports, one page over several domains, so it sits above them (core only
serves the session and the team)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from volano.contacts import selectors as contact_selectors
from volano.contacts.models import Company, Contact, CustomField
from volano.core.models import Role
from volano.core.permissions import Cap, requires
from volano.events.models import Event, EventType
from volano.imports.models import ImportJob
from volano.reports.dashboards.views import home_dashboard


@requires(Cap.VIEW_DATA)
def home(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    since = timezone.now() - dt.timedelta(days=30)
    # A sales rep's numbers are about their own contacts (the contacts list starts on them too);
    # each count stays one query, the rep's contacts a subquery inside it.
    mine = request.membership.role == Role.SALES  # type: ignore[attr-defined]
    contacts = Contact.objects.for_workspace(workspace)
    companies = Company.objects.for_workspace(workspace)
    events = Event.objects.for_workspace(workspace)
    if mine:
        contacts = contacts.filter(owner_id=request.user.pk)
        companies = companies.filter(pk__in=contacts.values("company_id"))
        events = events.filter(contact_id__in=contacts.values("pk"))
    counts = {
        "contacts": contacts.count(),
        "companies": companies.count(),
        "events_30d": events.filter(occurred_at__gte=since).count(),
        "emailable": contacts.emailable().count(),
    }
    latest = contact_selectors.contact_list(workspace=workspace)
    latest_contacts = list((latest.filter(owner_id=request.user.pk) if mine else latest)[:8])
    latest_imports = list(ImportJob.objects.for_workspace(workspace).order_by("-created_at")[:5])
    checklist = (
        _get_started(workspace, has_imports=bool(latest_imports))
        if counts["contacts"] < FEW_CONTACTS and not mine  # setting up is not a rep's job
        else []
    )
    if all(step["done"] for step in checklist):
        checklist = []
    context = {
        "counts": counts,
        "mine": mine,
        "latest_contacts": latest_contacts,
        "latest_imports": latest_imports,
        "empty": not mine and counts["contacts"] == 0 and counts["companies"] == 0,
        "checklist": checklist,
        "checklist_done": sum(1 for step in checklist if step["done"]),
    }
    if context["empty"]:
        return render(request, "core/home.html", context)
    # the overview is the dashboard: the marketer's, or a rep's own (my leads, pipeline, SLA)
    return home_dashboard(request, extra={**context, "overview": True})


FEW_CONTACTS = 100


def _get_started(workspace, *, has_imports: bool) -> list[dict]:
    """The first steps of a new workspace, each marked done once it shows in the data."""
    return [
        {"key": "import", "done": has_imports},
        {
            "key": "tracking",
            "done": Event.objects.for_workspace(workspace)
            .filter(type=EventType.PAGE_VIEW)
            .exists(),
        },
        {"key": "fields", "done": CustomField.objects.for_workspace(workspace).exists()},
    ]
