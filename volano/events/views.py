"""Website tracking over HTTP: the snippet, the collect endpoint, the pixel, forms, and the
marketer's setup page. Views parse and reply; the work is in volano.events.tracking."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
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
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from volano.core.errors import ApplicationError, NotFound
from volano.core.models import Workspace
from volano.events import tracking
from volano.events.models import EventType

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


@csrf_exempt
def collect(request: HttpRequest) -> HttpResponse:
    """POST a hit as JSON (the snippet sends text/plain through sendBeacon). 204 when stored."""
    if request.method == "OPTIONS":
        return _preflight()
    if request.method != "POST":
        return _error(ApplicationError("use POST"))
    try:
        hit = tracking.hit_parse_body(request.body)
        tracking.hit_record(workspace_id=tracking.workspace_id_for_key(hit.key), hit=hit)
    except ApplicationError as error:
        return _error(error)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "*"
    return response


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
        hit = tracking.hit_parse(data)
        tracking.hit_record(
            workspace_id=tracking.workspace_id_for_key(hit.key), hit=hit, source="pixel"
        )
    except ApplicationError as error:
        return _error(error)
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
        try:
            hit = tracking.hit_parse_body(body)
            tracking.hit_record(workspace_id=tracking.workspace_id_for_key(hit.key), hit=hit)
        except ApplicationError as error:
            status = (
                f"{error.status_code} {'Not Found' if error.status_code == 404 else 'Bad Request'}"
            )
            reply = json.dumps(error.as_dict()).encode()
        except DatabaseError:
            logger.exception("tracking hit not stored")
            connection.close()
            status, reply = "503 Service Unavailable", b'{"message": "try again later"}'
        finally:
            request_finished.send(sender=None)
        headers = [*cors, ("Content-Type", "application/json")] if reply else cors
        start_response(status, headers)
        return [reply]

    return application


def _form_data(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            raise ApplicationError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise ApplicationError("the body must be a JSON object")
        custom = data.pop("custom", None)
        if isinstance(custom, dict):
            data.update({f"custom.{k}": v for k, v in custom.items()})
        return data
    return {
        name: (values if len(values) > 1 else values[0]) for name, values in request.POST.lists()
    }


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


@csrf_exempt
def form_submit(request: HttpRequest, tracking_key: str, form_slug: str) -> HttpResponseBase:
    """An embeddable form posts here from any site (form-encoded or JSON)."""
    if request.method == "OPTIONS":
        return _preflight()
    wants_json = _wants_json(request)
    if request.method != "POST":
        return _error(ApplicationError("use POST"))
    ip = _client_ip(request)
    try:
        workspace_id = tracking.workspace_id_for_key(tracking_key)
        limits = tracking.form_rate_limits()
        tracking.rate_limit_check(
            scope="form-ip", ident=ip, limit=limits["ip"][0], window=limits["ip"][1]
        )
        tracking.rate_limit_check(
            scope="form-key", ident=tracking_key, limit=limits["key"][0], window=limits["key"][1]
        )
        submission = tracking.form_parse(slug=form_slug, data=_form_data(request))
        workspace = Workspace.objects.get(pk=workspace_id)
        tracking.form_submit(workspace=workspace, submission=submission, ip=ip)
    except tracking.RateLimited as error:
        response = _form_error(request, error, wants_json)
        response["Retry-After"] = str(error.retry_after)
        return response
    except ApplicationError as error:
        return _form_error(request, error, wants_json)
    except Workspace.DoesNotExist:
        return _form_error(request, NotFound("unknown tracking key"), wants_json)
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


@login_required
def tracking_setup(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    if workspace is None:
        raise Http404("no workspace")
    script_url = request.build_absolute_uri(reverse("tracking_snippet"))
    form_url = request.build_absolute_uri(
        reverse("tracking_form", args=[workspace.tracking_key, "newsletter"])
    )
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
            "form_url": form_url,
            "hits": hits,
        },
    )
