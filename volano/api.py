"""The REST API, /api/v1/: one NinjaAPI with each domain's router, bearer tokens, one error shape."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from volano.core.errors import ApplicationError
from volano.core.selectors import token_authenticate


class WorkspaceToken(HttpBearer):
    """Sets request.workspace and request.api_token from the bearer token: the API's one scope."""

    def authenticate(self, request: HttpRequest, token: str):
        found = token_authenticate(raw=token)
        if found is None:
            return None
        request.workspace = found.workspace  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        return found


api = NinjaAPI(
    title="Volano API",
    version="1",
    urls_namespace="api",
    auth=WorkspaceToken(),
    docs_url="/docs",
)


def _field_from_loc(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts)


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status_code)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = [
        {"field": _field_from_loc(e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return api.create_response(request, {"error": {**first, "errors": errors}}, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(
        request, {"error": {"message": "missing or invalid bearer token"}}, status=401
    )


def _register_routers() -> None:
    from volano.contacts.api import router as contacts_router
    from volano.events.api import router as events_router
    from volano.orders.api import router as orders_router

    api.add_router("/", contacts_router)
    api.add_router("/", events_router)
    api.add_router("/", orders_router)


_register_routers()
