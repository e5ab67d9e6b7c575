"""The shell: signing in, switching workspace, the overview and the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from email.utils import parsedate_to_datetime
from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from volano.contacts import selectors as contact_selectors
from volano.contacts.models import Company, Consent, ConsentStatus, Contact, Purpose
from volano.core.errors import PermissionDenied
from volano.core.forms import EmailAuthenticationForm
from volano.core.mail import outbox_messages
from volano.core.middleware import SESSION_KEY
from volano.core.models import Role
from volano.core.selectors import membership_access
from volano.events.models import Event
from volano.imports.models import ImportJob

View = Callable[..., HttpResponse]


def workspace_required(view: View) -> View:
    """Signed in and with a current workspace; a user without any gets a page that says so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "workspace", None) is None:
            return render(request, "core/no_workspace.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "403.html", {"message": message}, status=403)


def write_required(view: View) -> View:
    """Like workspace_required, and the user's role may change data (viewers get 403)."""

    @workspace_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.can_write:  # type: ignore[attr-defined]
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def roles_required(*roles: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @workspace_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "core/password_change_done.html"


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
        membership = membership_access(user=request.user, workspace_id=workspace_id)  # type: ignore[arg-type]
    except (ValueError, PermissionDenied):
        return forbidden(request)
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("home")


@workspace_required
def home(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    since = timezone.now() - dt.timedelta(days=30)
    counts = {
        "contacts": Contact.objects.for_workspace(workspace).count(),
        "companies": Company.objects.for_workspace(workspace).count(),
        "events_30d": Event.objects.for_workspace(workspace).filter(occurred_at__gte=since).count(),
        "emailable": Consent.objects.for_workspace(workspace)
        .filter(purpose=Purpose.EMAIL_MARKETING, status=ConsentStatus.GRANTED)
        .count(),
    }
    latest_contacts = list(contact_selectors.contact_list(workspace=workspace)[:8])
    latest_imports = list(ImportJob.objects.for_workspace(workspace).order_by("-created_at")[:5])
    return render(
        request,
        "core/home.html",
        {
            "counts": counts,
            "latest_contacts": latest_contacts,
            "latest_imports": latest_imports,
            "empty": counts["contacts"] == 0 and counts["companies"] == 0,
        },
    )


@roles_required(Role.ADMIN, Role.MARKETER)
def outbox(request: HttpRequest) -> HttpResponse:
    sent = []
    for message in outbox_messages(limit=200):
        try:
            sent_at = parsedate_to_datetime(message.date) if message.date else None
        except (TypeError, ValueError):
            sent_at = None
        sent.append({**asdict(message), "sent_at": sent_at})
    return render(request, "core/outbox.html", {"messages_sent": sent})
