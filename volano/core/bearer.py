"""The API's bearer-token authentication, in core (tokens are core's) so that a domain's
router can use it without importing volano.api, the module that mounts every router."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from volano.core.errors import PermissionDenied
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
        return found
