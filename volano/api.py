"""The REST API, /api/v1/: one NinjaAPI with each domain's router, bearer tokens, one error shape.

Every error is `{"error": {"message": ..., "field": ..., "errors": [{"field", "message"}, ...]}}`
whatever raised it: a service (ApplicationError), request parsing (ninja's ValidationError), a
missing token or an unknown route.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from volano.core.actors import current_token
from volano.core.errors import ApplicationError, PermissionDenied
from volano.core.models import Membership
from volano.core.selectors import token_authenticate

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class WorkspaceToken(HttpBearer):
    """Sets request.workspace and request.api_token from the bearer token: the API's one scope.

    A viewer's token may only read: GET, and the few POSTs that only read (`viewers_may_post`,
    e.g. a segment preview's count)."""

    def __init__(self, *, viewers_may_post: bool = False):
        super().__init__()
        self.viewers_may_post = viewers_may_post

    def authenticate(self, request: HttpRequest, token: str):
        found = token_authenticate(raw=token)
        if found is None:
            return None
        membership = Membership.objects.filter(user=found.user, workspace=found.workspace).first()
        if membership is None:
            return None  # the user left the workspace: the token no longer opens it
        writes = request.method not in SAFE_METHODS and not self.viewers_may_post
        if writes and not membership.can_write:
            raise PermissionDenied("this token's user has read-only access (viewer)")
        request.workspace = found.workspace  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        current_token.set(found)  # the audit trail's "via this token" (volano/core/actors.py)
        return found


class VendoredSwagger(Swagger):
    """The API docs page with Swagger UI from our own static files (core/vendor/swagger-ui,
    pinned): ninja's default loads it from a CDN at a floating version into the app's origin.
    No inline script either, so the page works under a script-src 'self' policy."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs) -> HttpResponse:
        config = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "core/api_docs.html", {"api": api, "swagger_settings": config})


api = NinjaAPI(
    title="Volano API",
    version="1",
    description="Contacts, companies, custom fields, events and orders of one workspace. "
    "Authenticate with `Authorization: Bearer <token>` (`volano token create`).",
    urls_namespace="api",
    auth=WorkspaceToken(),
    docs_url="/docs",
    # validatorUrl None: Swagger UI would otherwise send the schema to validator.swagger.io.
    docs=VendoredSwagger(settings={"validatorUrl": None}),
)


def error_body(message: str, field: str = "", errors: list[dict] | None = None) -> dict:
    """The one error shape of the API."""
    errors = errors if errors is not None else [{"field": field, "message": message}]
    return {"error": {"message": message, "field": field, "errors": errors}}


def _field_from_loc(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts)


def _message(error: dict) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "is required"
    return str(error.get("msg", "invalid"))


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    errors = exc.extra.get("errors") or [{"field": exc.field or "", "message": exc.message}]
    body = error_body(exc.message, exc.field or "", errors)
    body["error"].update({k: v for k, v in exc.extra.items() if k != "errors"})
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = [
        {"field": _field_from_loc(e.get("loc", ())) or "body", "message": _message(e)}
        for e in exc.errors
    ]
    if not errors:
        errors = [{"field": "body", "message": "invalid request"}]
    first = errors[0]
    return api.create_response(
        request, error_body(first["message"], first["field"], errors), status=422
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    message = str(exc)
    field = ""
    if message.startswith("Cannot parse request body"):
        message, field = "malformed JSON in the request body", "body"
    return api.create_response(request, error_body(message, field), status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, error_body("not found"), status=404)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(
        request,
        error_body("missing or invalid bearer token", "Authorization"),
        status=401,
    )


def _register_routers() -> None:
    from volano.contacts.api import router as contacts_router
    from volano.core.activity_api import router as activity_router
    from volano.core.api import router as tokens_router
    from volano.deals.api import router as deals_router
    from volano.events.api import router as events_router
    from volano.handoff.api import router as handoff_router
    from volano.lifecycle.api import router as lifecycle_router
    from volano.orders.api import router as orders_router
    from volano.scoring.api import router as scoring_router
    from volano.segments.api import router as segments_router

    api.add_router("/", contacts_router)
    api.add_router("/", events_router)
    api.add_router("/", orders_router)
    api.add_router("/", segments_router)
    api.add_router("/", deals_router)
    api.add_router("/", scoring_router)
    api.add_router("/", lifecycle_router)
    api.add_router("/", handoff_router)
    api.add_router("/", tokens_router)
    api.add_router("/", activity_router)


_register_routers()
