"""The REST API, /api/v1/: one NinjaAPI with each domain's router, bearer tokens, one error shape.

Every error is `{"error": {"message": ..., "field": ..., "errors": [{"field", "message"}, ...]}}`
whatever raised it: a service (ApplicationError), request parsing (ninja's ValidationError), a
missing token or an unknown route (`unknown_route`, mounted after the API in volano/urls.py).
Messages are in the request's language (LocaleMiddleware reads Accept-Language); what no column
can hold is refused before any route runs (`volano.core.api_input.input_guard`); the OpenAPI
schema lists the errors of every operation (`document_errors`).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger

from volano.core.api_input import input_guard
from volano.core.bearer import WorkspaceToken
from volano.core.errors import ApplicationError


class VendoredSwagger(Swagger):
    """The API docs page with Swagger UI from our own static files (core/vendor/swagger-ui,
    pinned): ninja's default loads it from a CDN at a floating version into the app's origin.
    No inline script either, so the page works under a script-src 'self' policy."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs) -> HttpResponse:
        config = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "core/api_docs.html", {"api": api, "swagger_settings": config})


class VolanoAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI schema lists the errors every operation can answer."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema)

    def validation_error_from_error_contexts(self, error_contexts):
        """ninja drops each error's input; keep its length, which a message about a too-long
        value states ("it has 5000")."""
        error = super().validation_error_from_error_contexts(error_contexts)
        lengths = [
            len(e["input"]) if isinstance(e.get("input"), str | list | dict) else None
            for context in error_contexts
            for e in context.pydantic_validation_error.errors(include_url=False)
        ]
        for item, length in zip(error.errors, lengths, strict=False):
            if length is not None:
                item.setdefault("ctx", {})["length"] = length
        return error


api = VolanoAPI(
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
api.add_decorator(input_guard)  # NUL, 64-bit integers, finite numbers: once for every route


def error_body(message: str, field: str = "", errors: list[dict] | None = None) -> dict:
    """The one error shape of the API."""
    errors = errors if errors is not None else [{"field": field, "message": message}]
    return {"error": {"message": message, "field": field, "errors": errors}}


def _field_from_loc(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts)


def _message(error: dict) -> str:
    """pydantic's error, in the request's language (Django's own wording where it has one)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given_length = ctx.get("length")
    if kind == "extra_forbidden":
        return _("unknown field")
    if kind == "missing":
        return _("is required")
    if kind in ("string_too_long", "too_long") and "max_length" in ctx:
        limit = ctx["max_length"]
        size = given_length if given_length is not None else limit + 1
        return ngettext(
            "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
            "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
            limit,
        ) % {"limit_value": limit, "show_value": size}
    if kind in ("string_too_short", "too_short") and "min_length" in ctx:
        limit = ctx["min_length"]
        size = given_length or 0
        return ngettext(
            "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
            "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
            limit,
        ) % {"limit_value": limit, "show_value": size}
    if kind in ("less_than_equal", "less_than") and ("le" in ctx or "lt" in ctx):
        return _("Ensure this value is less than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("le", ctx.get("lt"))
        }
    if kind in ("greater_than_equal", "greater_than") and ("ge" in ctx or "gt" in ctx):
        return _("Ensure this value is greater than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("ge", ctx.get("gt"))
        }
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"):
        return _("Enter a number.")
    if kind in ("bool_parsing", "bool_type"):
        return _("not true or false")
    if kind == "string_type":
        return _("must be a string")
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("must be a list")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("must be an object")
    if kind.startswith(("date_", "datetime_", "time_")) or kind in ("date_type", "datetime_type"):
        return _("not a date and time in ISO 8601 (2026-03-01T10:15:00+01:00)")
    if kind in ("literal_error", "enum"):
        return _("use one of %(choices)s") % {"choices": ctx.get("expected", "")}
    if kind == "string_pattern_mismatch":
        return _("does not match the pattern %(pattern)s") % {"pattern": ctx.get("pattern", "")}
    if kind.startswith("ip_"):
        return _("not an IP address")
    if kind == "json_invalid":
        return _("malformed JSON in the request body")
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


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
        errors = [{"field": "body", "message": _("invalid request")}]
    first = errors[0]
    return api.create_response(
        request, error_body(first["message"], first["field"], errors), status=422
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    message = str(exc)
    field = ""
    if message.startswith("Cannot parse request body"):
        message, field = _("malformed JSON in the request body"), "body"
    return api.create_response(request, error_body(message, field), status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, error_body(_("not found")), status=404)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(
        request,
        error_body(_("missing or invalid bearer token"), "Authorization"),
        status=401,
    )


def _register_routers() -> None:
    from volano.api.contacts import router as contacts_router
    from volano.api.workflows import router as workflows_router
    from volano.attribution.api import router as attribution_router
    from volano.budgets.api import router as budgets_router
    from volano.budgets.plan_api import router as budget_plans_router
    from volano.campaigns.api import router as campaigns_router
    from volano.campaigns.costs.api import router as costs_router
    from volano.campaigns.reports.api import router as campaign_reports_router
    from volano.core.activity_api import router as activity_router
    from volano.core.api import router as tokens_router
    from volano.deals.api import router as deals_router
    from volano.emails.broadcasts.api import router as broadcasts_router
    from volano.emails.policy_api import router as email_policy_router
    from volano.emails.templating.api import router as email_templates_router
    from volano.events.api import router as events_router
    from volano.goals.api import router as goals_router
    from volano.handoff.api import router as handoff_router
    from volano.lifecycle.api import router as lifecycle_router
    from volano.maturity.api import router as maturity_router
    from volano.notifications.api import router as notifications_router
    from volano.orders.api import router as orders_router
    from volano.reports.api import router as reports_router
    from volano.reports.customer_api import router as customer_reports_router
    from volano.reports.dashboards.api import router as dashboards_router
    from volano.scoring.api import router as scoring_router
    from volano.segments.api import router as segments_router
    from volano.surveys.api import router as surveys_router

    api.add_router("/", contacts_router)
    api.add_router("/", events_router)
    api.add_router("/", orders_router)
    api.add_router("/", segments_router)
    api.add_router("/", deals_router)
    api.add_router("/", scoring_router)
    api.add_router("/", lifecycle_router)
    api.add_router("/", handoff_router)
    api.add_router("/", notifications_router)
    api.add_router("/", tokens_router)
    api.add_router("/", activity_router)
    api.add_router("/", email_templates_router)
    api.add_router("/", workflows_router)
    api.add_router("/", campaigns_router)
    api.add_router("/", attribution_router)
    api.add_router("/", costs_router)
    api.add_router("/", campaign_reports_router)
    api.add_router("/", broadcasts_router)
    api.add_router("/", email_policy_router)
    api.add_router("/", reports_router)
    api.add_router("/", maturity_router)
    api.add_router("/", customer_reports_router)
    api.add_router("/", surveys_router)
    api.add_router("/", dashboards_router)
    api.add_router("/", budgets_router)
    api.add_router("/", goals_router)
    api.add_router("/", budget_plans_router)


_register_routers()


# The errors in the OpenAPI schema and for unknown routes


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "field", "errors"],
            "properties": {
                "message": {"type": "string"},
                "field": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_STATUSES = {
    400: "a rule of the data (a duplicate email, a filter value that is not one of the choices)",
    401: "missing or invalid bearer token",
    403: "the token's role may not call this operation (docs/roles.md)",
    404: "no such route, or no such row in this workspace",
    405: "the path is also a route of its own for other methods (a slug such as `preview`)",
    413: "too many items in one request",
    422: "a value of the wrong type, out of bounds, or an unknown field",
}
# Operations with a limit on how much one request may carry (events.services.MAX_BATCH_ITEMS).
LARGE_BATCHES = {("post", "/api/v1/events")}


def document_errors(schema: dict) -> dict:
    """Add the API's error shape and, to every operation, the error statuses it can answer:
    401 and 403 (a role the permission table refuses) always, 413 where a batch is bounded, and
    400, 404 and 422 (a service rule, a missing row, a bad value) everywhere."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    paths = schema.get("paths", {})
    for path, operations in paths.items():
        for method, operation in operations.items():
            # 403: any operation may be refused to a role (volano.core.permissions)
            statuses = {400, 401, 403, 404, 422}
            if (method, path) in LARGE_BATCHES:
                statuses.add(413)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(
                    str(status), {"description": ERROR_STATUSES[status], "content": reference}
                )
            if _shadowed(paths, path, method):
                # Django's own answer, plain text: GET /segments/preview is the POST route.
                responses.setdefault("405", {"description": ERROR_STATUSES[405]})
    return schema


def _shadowed(paths: dict, path: str, method: str) -> bool:
    """True when a value of the path's last parameter can be a literal route of other methods
    (`/segments/{slug}` and POST `/segments/preview`): that value answers 405."""
    head, _slash, last = path.rpartition("/")
    if not (last.startswith("{") and last.endswith("}")):
        return False
    return any(
        other.rpartition("/")[0] == head
        and not other.rpartition("/")[2].startswith("{")
        and method not in operations
        for other, operations in paths.items()
    )


def unknown_route(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any path under /api/v1/ that no route matches: a JSON 404 in the API's error shape."""
    body = error_body(_("no such route: %(path)s") % {"path": request.path}, "path")
    return JsonResponse(body, status=404)
