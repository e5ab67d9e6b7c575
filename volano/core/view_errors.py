"""One mapping from a service's `ApplicationError` to what a page answers.

A view calls its service and lets an `ApplicationError` go: `ApplicationErrorMiddleware` turns it
into the answer, in the user's language (the service said the message in the request's active
language):

- a view marked `@error_redirect("app:page", "slug")` goes back to that page (with those URL
  arguments of its own) and shows the message there, as a plain redirect or, for an HTMX
  request, with `HX-Redirect`;
- otherwise `NotFound` is the 404 page, `PermissionDenied` the 403 page, and any other error a
  page (or, for HTMX, a fragment) with the message and the error's 4xx status.

A form page that puts a service's errors next to its fields (`ServiceForm.add_service_error`)
still catches them itself: the error belongs to the form it re-renders. The API has its own
mapping (volano/api/__init__.py), so the middleware leaves /api/ alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from volano.core.errors import ApplicationError, NotFound, PermissionDenied

ATTRIBUTE = "volano_error_redirect"


def error_redirect(viewname: str, *url_kwargs: str) -> Callable[[Callable], Callable]:
    """Mark a view: an `ApplicationError` it lets go brings the user back to `viewname` (given
    the view's own URL arguments named in `url_kwargs`) with the error as a message."""

    def mark(view: Callable) -> Callable:
        setattr(view, ATTRIBUTE, (viewname, url_kwargs))
        return view

    return mark


def _is_htmx(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def application_error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    match = getattr(request, "resolver_match", None)
    back: Any = getattr(match.func, ATTRIBUTE, None) if match else None
    if back is not None:
        viewname, names = back
        url = reverse(viewname, kwargs={name: match.kwargs[name] for name in names})  # type: ignore[union-attr]
        messages.error(request, error.message)
        if _is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    if isinstance(error, NotFound):
        raise Http404(error.message)
    if isinstance(error, PermissionDenied):
        raise DjangoPermissionDenied(error.message)
    status = error.status_code if 400 <= error.status_code < 500 else 400
    template = "core/_error.html" if _is_htmx(request) else "core/error.html"
    return render(request, template, {"error": error}, status=status)


class ApplicationErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, ApplicationError) or request.path.startswith("/api/"):
            return None
        return application_error_response(request, exception)
