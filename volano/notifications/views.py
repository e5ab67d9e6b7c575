"""Notification pages: the list (mark one or all read) and the bell in the top bar."""

from __future__ import annotations

from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from volano.core.errors import NotFound
from volano.core.models import User
from volano.core.permissions import Cap, requires
from volano.core.weburls import site_path_or_empty
from volano.notifications import selectors, services


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@requires(Cap.OWN_NOTIFICATIONS)
def notifications(request: HttpRequest) -> HttpResponse:
    rows = selectors.notifications_for(
        workspace=request.workspace,  # type: ignore[attr-defined]
        user=_user(request),
    )[:200]
    return render(request, "notifications/notifications.html", {"notifications": rows})


@requires(write=Cap.OWN_NOTIFICATIONS)
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.notification_mark_read(
            workspace=request.workspace,  # type: ignore[attr-defined]
            user=_user(request),
            notification_id=notification_id,
        )
    except NotFound:
        raise Http404("no such notification") from None
    # A path on this site only: "/\evil.example" passed the old startswith("/") test and
    # browsers read it as "//evil.example".
    if target := site_path_or_empty(request.POST.get("next", "")):
        return redirect(target)
    return redirect("notifications:list")


@requires(write=Cap.OWN_NOTIFICATIONS)
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.notification_mark_read(
        workspace=request.workspace,  # type: ignore[attr-defined]
        user=_user(request),
    )
    return redirect("notifications:list")


@requires(Cap.OWN_NOTIFICATIONS)
def bell(request: HttpRequest) -> HttpResponse:
    """The unread count for the top bar (`notifications/_bell.html`); it refreshes itself."""
    count = selectors.unread_count(
        workspace=request.workspace,  # type: ignore[attr-defined]
        user=_user(request),
    )
    return render(request, "notifications/_bell.html", {"unread_notifications": count})
