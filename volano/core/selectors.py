"""Reads for workspaces, memberships and tokens."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from volano.core.errors import NotFound, PermissionDenied
from volano.core.models import ApiToken, Membership, User, Workspace


def workspace_get(*, slug: str) -> Workspace:
    try:
        return Workspace.objects.get(slug=slug)
    except Workspace.DoesNotExist:
        raise NotFound(f"no workspace {slug!r}", field="workspace") from None


def memberships_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")
    )


def membership_access(*, user: User, workspace_id: int) -> Membership:
    """The user's membership of that workspace, or PermissionDenied: fetch and check in one call."""
    membership = (
        Membership.objects.filter(user=user, workspace_id=workspace_id)
        .select_related("workspace")
        .first()
    )
    if membership is None:
        raise PermissionDenied("you are not a member of this workspace")
    return membership


def token_authenticate(*, raw: str) -> ApiToken | None:
    token = (
        ApiToken.objects.filter(key_hash=ApiToken.hash(raw), revoked_at=None)
        .select_related("workspace", "user")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
