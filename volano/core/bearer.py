"""The API's bearer-token authentication, in core (tokens are core's) so that a domain's
router can use it without importing volano.api, the module that mounts every router."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from volano.core import permissions
from volano.core.actors import current_token
from volano.core.models import Membership
from volano.core.selectors import token_authenticate


class WorkspaceToken(HttpBearer):
    """Sets request.workspace and request.api_token from the bearer token: the API's one scope.
    What the token's role may call is the permission table (`volano.core.permissions`): a
    viewer reads, and runs the read-only previews."""

    def authenticate(self, request: HttpRequest, token: str):
        found = token_authenticate(raw=token)
        if found is None:
            return None
        membership = Membership.objects.filter(user=found.user, workspace=found.workspace).first()
        if membership is None:
            return None  # the user left the workspace: the token no longer opens it
        permissions.api_check(request, membership.role)
        request.workspace = found.workspace  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        current_token.set(found)  # the audit trail's "via this token" (volano/core/actors.py)
        return found
