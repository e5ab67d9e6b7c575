"""Puts the signed-in user's current workspace and membership on the request, in one place."""

from __future__ import annotations

from django.utils import translation

from volano.core.actors import current_token
from volano.core.selectors import memberships_of

SESSION_KEY = "volano_workspace_id"


class WorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        current_token.set(None)  # set again by the API auth, for this request only
        try:
            return self._call(request)
        finally:
            current_token.set(None)

    def _call(self, request):
        request.workspace = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(memberships_of(user=user))
            wanted = request.session.get(SESSION_KEY)
            current = next((m for m in memberships if m.workspace_id == wanted), None)
            if current is None and memberships:
                current = memberships[0]
                request.session[SESSION_KEY] = current.workspace_id
            request.memberships = memberships
            if current is not None:
                request.membership = current
                request.workspace = current.workspace
            if user.language and not request.COOKIES.get("django_language"):
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        return self.get_response(request)
