"""Reads for workspaces, memberships and tokens."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError, NotFound, PermissionDenied
from volano.core.models import ApiToken, Membership, Role, User, Workspace


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


LAST_USED_PRECISION = dt.timedelta(minutes=1)


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token with that raw value, or None (unknown, revoked, expired, user disabled).

    `last_used_at` is written at most once a minute per token, so a busy integration costs one
    UPDATE a minute rather than one per request."""
    now = timezone.now()
    token = (
        ApiToken.objects.filter(key_hash=ApiToken.hash(raw), revoked_at=None)
        .filter(Q(expires_at=None) | Q(expires_at__gt=now))
        .select_related("workspace", "user")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_visible(*, workspace: Workspace, user: User | None) -> QuerySet[ApiToken]:
    """The workspace's tokens a user may see and revoke: their own, or all of them for an
    administrator; `user` None is the operator on the command line, who sees all."""
    tokens = ApiToken.objects.filter(workspace=workspace).select_related("user")
    if user is not None:
        is_admin = Membership.objects.filter(
            workspace=workspace, user=user, role=Role.ADMIN
        ).exists()
        if not is_admin:
            tokens = tokens.filter(user=user)
    return tokens.order_by("-created_at", "-pk")


def token_find(*, reference: str, workspace: Workspace | None = None) -> ApiToken:
    """A token by its id or by the prefix it is shown with (`vol_AbCdEfGh`), for the CLI."""
    reference = reference.strip().rstrip("…")
    tokens = ApiToken.objects.select_related("workspace", "user")
    if workspace is not None:
        tokens = tokens.filter(workspace=workspace)
    if reference.isdigit():
        found = list(tokens.filter(pk=int(reference)))
    else:
        found = list(tokens.filter(prefix=reference)[:2])
    if not found:
        raise NotFound(_("no token %(ref)s") % {"ref": reference}, field="token")
    if len(found) > 1:
        raise ApplicationError(
            _("more than one token starts with %(ref)s: give its id") % {"ref": reference},
            field="token",
        )
    return found[0]
