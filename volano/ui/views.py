"""The overview page: counts and latest rows of contacts, events and imports, one page over
several domains, so it sits above them (core only serves the session and the team)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from volano.contacts import selectors as contact_selectors
from volano.contacts.models import Company, Contact, CustomField
from volano.core.permissions import Cap, requires
from volano.events.models import Event, EventType
from volano.imports.models import ImportJob


@requires(Cap.VIEW_DATA)
def home(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    since = timezone.now() - dt.timedelta(days=30)
    counts = {
        "contacts": Contact.objects.for_workspace(workspace).count(),
        "companies": Company.objects.for_workspace(workspace).count(),
        "events_30d": Event.objects.for_workspace(workspace).filter(occurred_at__gte=since).count(),
        "emailable": Contact.objects.for_workspace(workspace).emailable().count(),
    }
    latest_contacts = list(contact_selectors.contact_list(workspace=workspace)[:8])
    latest_imports = list(ImportJob.objects.for_workspace(workspace).order_by("-created_at")[:5])
    checklist = (
        _get_started(workspace, has_imports=bool(latest_imports))
        if counts["contacts"] < FEW_CONTACTS
        else []
    )
    if all(step["done"] for step in checklist):
        checklist = []
    return render(
        request,
        "core/home.html",
        {
            "counts": counts,
            "latest_contacts": latest_contacts,
            "latest_imports": latest_imports,
            "empty": counts["contacts"] == 0 and counts["companies"] == 0,
            "checklist": checklist,
            "checklist_done": sum(1 for step in checklist if step["done"]),
        },
    )


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
