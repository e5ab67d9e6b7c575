"""Website tracking over HTTP: the snippet, the collect endpoint, the pixel, forms, and the
marketer's setup page. Views parse and reply; the work is in volano.events.tracking."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from volano.core.errors import ApplicationError, NotFound
from volano.core.models import User, Workspace
from volano.core.permissions import Cap, public, requires
from volano.events import tracking, webforms
from volano.events.forms import WebFormForm
from volano.events.models import EventType, Form

logger = logging.getLogger(__name__)
SNIPPET_PATH = Path(__file__).parent / "static" / "events" / "volano.js"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


@cache
def _snippet() -> tuple[bytes, str]:
    body = SNIPPET_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _cors(response: HttpResponse) -> None:
    for name, value in CORS.items():
        response[name] = value


def _error(error: ApplicationError) -> JsonResponse:
    response = JsonResponse(error.as_dict(), status=error.status_code)
    _cors(response)
    return response


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    _cors(response)
    return response


@public
@require_GET
def snippet(request: HttpRequest) -> HttpResponse:
    body, etag = _snippet()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _hit_store(hit: tracking.Hit, *, ip: str, source: str = "tracking") -> None:
    """Known key first (so an unknown one never counts), then the per-address limit, then one
    INSERT."""
    workspace_id = tracking.workspace_id_for_key(hit.key)
    tracking.tracking_rate_limit_check(key=hit.key, ip=ip)
    tracking.hit_record(workspace_id=workspace_id, hit=hit, source=source)


def _rate_limited_error(error: ApplicationError) -> JsonResponse:
    response = _error(error)
    if isinstance(error, tracking.RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


@public
@csrf_exempt
def collect(request: HttpRequest) -> HttpResponse:
    """POST a hit as JSON (the snippet sends text/plain through sendBeacon). 204 when stored."""
    if request.method == "OPTIONS":
        return _preflight()
    if request.method != "POST":
        return _error(ApplicationError("use POST"))
    try:
        _hit_store(tracking.hit_parse_body(request.body), ip=_client_ip(request))
    except ApplicationError as error:
        return _rate_limited_error(error)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@public
@csrf_exempt
@require_GET
def pixel(request: HttpRequest) -> HttpResponse:
    """The fallback for pages without JavaScript: a 1x1 GIF that records a page view."""
    data: dict[str, Any] = request.GET.dict()
    data.setdefault("url", request.headers.get("Referer", "")[: tracking.MAX_URL])
    data.pop("d", None)
    if data.get("t") == tracking.LEAVE:
        data["t"] = "page_view"
    try:
        _hit_store(tracking.hit_parse(data), ip=_client_ip(request), source="pixel")
    except ApplicationError as error:
        return _rate_limited_error(error)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def collect_fast_path(django_app: Callable) -> Callable:
    """Wrap the WSGI app so POST /t/collect skips Django's middleware and URL resolver.

    The collect endpoint needs none of them (no session, user, CSRF, locale, messages): through
    the full stack a hit costs ~370 µs of CPU, here ~110 µs, which is what lets two workers on
    two cores take thousands of hits a second. Everything else goes to Django unchanged.
    """
    collect_path = "/t/collect"
    cors = [("Access-Control-Allow-Origin", "*")]

    def application(environ: dict, start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != collect_path or environ.get("REQUEST_METHOD") != "POST":
            return django_app(environ, start_response)
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), tracking.MAX_BODY_BYTES + 1)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        status, reply = "204 No Content", b""
        # The signals Django's handler sends: they close stale database connections.
        request_started.send(sender=None, environ=environ)
        extra_headers: list[tuple[str, str]] = []
        try:
            _hit_store(tracking.hit_parse_body(body), ip=environ.get("REMOTE_ADDR") or "unknown")
        except ApplicationError as error:
            status = f"{error.status_code} {HTTPStatus(error.status_code).phrase}"
            reply = json.dumps(error.as_dict()).encode()
            if isinstance(error, tracking.RateLimited):
                extra_headers.append(("Retry-After", str(error.retry_after)))
        except DatabaseError:
            logger.exception("tracking hit not stored")
            connection.close()
            status, reply = "503 Service Unavailable", b'{"message": "try again later"}'
        finally:
            request_finished.send(sender=None)
        headers = [*cors, ("Content-Type", "application/json")] if reply else [*cors]
        start_response(status, headers + extra_headers)
        return [reply]

    return application


def _form_data(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = tracking.json_loads_finite(request.body)
        except UnicodeDecodeError:
            raise ApplicationError(_("the body is not JSON")) from None
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError):
                raise ApplicationError(_("the body is not JSON")) from None
            raise ApplicationError(_("the body is not JSON: %(why)s") % {"why": error}) from None
        if not isinstance(data, dict):
            raise ApplicationError(_("the body must be a JSON object"))
        custom = data.pop("custom", None)
        if isinstance(custom, dict):
            data.update({f"custom.{k}": v for k, v in custom.items()})
        return data
    try:
        posted = request.POST.lists()
    except MultiPartParserError:
        raise ApplicationError(_("the form data could not be read")) from None
    return {name: (values if len(values) > 1 else values[0]) for name, values in posted}


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _safe_next(request: HttpRequest, target: str) -> str | None:
    """Redirect only to Volano itself or to the site the form was posted from."""
    hosts = {request.get_host()}
    for header in ("Origin", "Referer"):
        if host := urlsplit(request.headers.get(header, "")).netloc:
            hosts.add(host)
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=hosts):
        return target
    return None


def _client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded-for header is the client's word, and would let a bot pick
    # its own rate-limit bucket. Behind a proxy, the proxy sets REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or "unknown"


@public
@csrf_exempt
def form_submit(request: HttpRequest, tracking_key: str, form_slug: str) -> HttpResponseBase:
    """An embeddable form posts here from any site (form-encoded or JSON).

    The cheap refusals come first and never count toward the rate limit: an unknown key, a form
    the workspace did not declare (or switched off), a post without an email, a filled honeypot.
    """
    if request.method == "OPTIONS":
        return _preflight()
    wants_json = _wants_json(request)
    if request.method != "POST":
        return _error(ApplicationError(_("use POST")))
    ip = _client_ip(request)
    try:
        workspace_id = tracking.workspace_id_for_key(tracking_key)
        form = webforms.form_for_post(workspace_id=workspace_id, slug=form_slug)
        submission = webforms.form_parse(form=form, data=_form_data(request))
        if not submission.honeypot_filled:
            tracking.form_rate_limit_check(workspace_id=workspace_id, slug=form.slug, ip=ip)
            webforms.form_submit(
                workspace=form.workspace,
                form=form,
                submission=submission,
                ip=ip,
                anonymous_id=webforms.visitor_cookie(request.COOKIES),
            )
    except tracking.RateLimited as error:
        response = _form_error(request, error, wants_json)
        response["Retry-After"] = str(error.retry_after)
        return response
    except ApplicationError as error:
        return _form_error(request, error, wants_json)
    if wants_json:
        response = JsonResponse({"ok": True})
        _cors(response)
        return response
    if target := _safe_next(request, str(request.POST.get("next", ""))):
        return HttpResponseRedirect(target)
    return render(
        request,
        "events/form_thanks.html",
        {"back": _safe_next(request, request.headers.get("Referer", ""))},
    )


def _form_error(request: HttpRequest, error: ApplicationError, wants_json: bool) -> HttpResponse:
    if wants_json:
        return _error(error)
    errors = error.extra.get("errors") or [error.as_dict()]
    return render(
        request,
        "events/form_error.html",
        {"errors": errors, "back": _safe_next(request, request.headers.get("Referer", ""))},
        status=error.status_code,
    )


@requires(Cap.VIEW_MARKETING)
def tracking_setup(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    if workspace is None:
        raise Http404("no workspace")
    script_url = request.build_absolute_uri(reverse("tracking_snippet"))
    hits = tracking.tracking_recent_hits(workspace=workspace)
    labels = dict(EventType.choices)
    for hit in hits:
        hit.type_label = labels.get(hit.type, hit.type)  # type: ignore[attr-defined]
        props = hit.properties
        hit.page_label = (  # type: ignore[attr-defined]
            props.get("title") or props.get("url") or props.get("form") or props.get("name") or ""
        )
    return render(
        request,
        "events/tracking_setup.html",
        {
            "snippet": (
                f'<script async src="{script_url}" data-key="{workspace.tracking_key}"></script>'
            ),
            "pixel": (
                f'<noscript><img src="{request.build_absolute_uri(reverse("tracking_pixel"))}'
                f'?k={workspace.tracking_key}" width="1" height="1" alt=""></noscript>'
            ),
            "forms": _forms_with_urls(request, workspace),
            "hits": hits,
        },
    )


# --- declared forms (the marketer's pages) ----------------------------------------------------


def _form_action(request: HttpRequest, workspace: Workspace, slug: str) -> str:
    return request.build_absolute_uri(reverse("tracking_form", args=[workspace.tracking_key, slug]))


def _forms_with_urls(request: HttpRequest, workspace: Workspace) -> list[tuple[Form, str]]:
    return [
        (form, _form_action(request, workspace, form.slug))
        for form in webforms.form_list(workspace=workspace)
    ]


@requires(Cap.VIEW_MARKETING)
def forms_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    labels = dict(webforms.form_field_choices(workspace=workspace))
    rows = [
        (form, url, [labels.get(name, name) for name in form.fields])
        for form, url in _forms_with_urls(request, workspace)
    ]
    return render(request, "events/form_list.html", {"rows": rows})


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def form_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@requires(Cap.EDIT_MARKETING, write=Cap.EDIT_MARKETING)
def form_edit(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        form = webforms.form_get(workspace=request.workspace, slug=slug)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404("no such form") from None
    return _form_page(request, form)


def _form_page(request: HttpRequest, current: Form | None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    actor: User = request.user  # type: ignore[assignment]
    choices = webforms.form_field_choices(workspace=workspace)
    if request.method == "POST":
        page_form = WebFormForm(request.POST, field_choices=choices)
        if page_form.is_valid():
            try:
                if current is None:
                    saved = webforms.form_create(
                        workspace=workspace, actor=actor, data=page_form.service_data()
                    )
                else:
                    saved = webforms.form_update(
                        workspace=workspace,
                        actor=actor,
                        form=current,
                        data=page_form.service_data(),
                    )
            except ApplicationError as error:
                page_form.add_service_error(error)
            else:
                messages.success(request, _("Form “%(name)s” saved.") % {"name": saved.name})
                return redirect("tracking_form_edit", slug=saved.slug)
    else:
        initial = (
            {
                "name": current.name,
                "slug": current.slug,
                "collects": current.fields,
                "asks_email_consent": current.asks_email_consent,
                "consent_text": current.consent_text,
                "double_opt_in": current.double_opt_in,
                "is_active": current.is_active,
            }
            if current
            else {
                "collects": ["email", "first_name", "last_name"],
                "double_opt_in": True,
                "is_active": True,
            }
        )
        page_form = WebFormForm(initial=initial, field_choices=choices)
    snippet = (
        webforms.form_snippet(form=current, action=_form_action(request, workspace, current.slug))
        if current
        else ""
    )
    return render(
        request,
        "events/form_edit.html",
        {"form": page_form, "current": current, "snippet": snippet},
        status=422 if page_form.is_bound else 200,
    )


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def form_delete(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        form = webforms.form_get(workspace=workspace, slug=slug)
    except NotFound:
        raise Http404("no such form") from None
    webforms.form_delete(workspace=workspace, actor=request.user, form=form)  # type: ignore[arg-type]
    messages.success(request, _("Form “%(name)s” deleted.") % {"name": form.name})
    return redirect("tracking_forms")
