"""/api/v1/tokens, /members and /invitations: tokens and the team of the workspace a token opens.

A token sees and revokes its user's own tokens (an administrator's: all of the workspace's);
a created token's raw value is in the reply once and never again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from volano.core import invitations, selectors, services
from volano.core.errors import NotFound
from volano.core.models import ApiToken, Invitation, Membership

router = Router(tags=["tokens"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    expires_days: int | None = Field(
        default=None, description="days until the token stops working; null: never"
    )


class TokenOut(Schema):
    id: int
    prefix: str
    name: str
    user: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool


class TokenCreated(TokenOut):
    token: str = Field(description="the bearer token itself: shown in this reply only")


def _out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "prefix": token.prefix,
        "name": token.name,
        "user": token.user.email,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "active": token.is_active_at(timezone.now()),
    }


@router.get("/tokens", response=list[TokenOut], summary="List API tokens")
def tokens_list(request: HttpRequest):
    return [_out(t) for t in selectors.tokens_visible(workspace=_ws(request), user=_actor(request))]


@router.post("/tokens", response={201: TokenCreated}, summary="Create an API token")
def tokens_create(request: HttpRequest, payload: TokenIn):
    token, raw = services.token_create(
        workspace=_ws(request),
        user=_actor(request),
        name=payload.name,
        expires_days=payload.expires_days,
    )
    return 201, {**_out(token), "token": raw}


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke an API token")
def tokens_revoke(request: HttpRequest, token_id: int):
    services.token_revoke(workspace=_ws(request), actor=_actor(request), token_id=token_id)
    return 204, None


class MemberOut(Schema):
    user_id: int
    email: str
    full_name: str
    role: str
    regions: list[str]
    provinces: list[str]
    product_lines: list[str]


class MemberPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    regions: list[str] | None = None
    provinces: list[str] | None = None
    product_lines: list[str] | None = None


class InvitationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str
    role: str
    regions: list[str] = []
    provinces: list[str] = []
    product_lines: list[str] = []
    expires_days: int | None = Field(default=None, description="days the link works (default 7)")


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    regions: list[str]
    provinces: list[str]
    product_lines: list[str]
    invited_by: str | None
    created_at: dt.datetime
    sent_at: dt.datetime
    expires_at: dt.datetime


def _member_out(membership: Membership) -> dict:
    return {
        "user_id": membership.user_id,
        "email": membership.user.email,
        "full_name": membership.user.full_name,
        "role": membership.role,
        "regions": membership.regions,
        "provinces": membership.provinces,
        "product_lines": membership.product_lines,
    }


def _invitation_out(invitation: Invitation) -> dict:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "regions": invitation.regions,
        "provinces": invitation.provinces,
        "product_lines": invitation.product_lines,
        "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "sent_at": invitation.sent_at,
        "expires_at": invitation.expires_at,
    }


def _member(request: HttpRequest, user_id: int) -> Membership:
    membership = (
        Membership.objects.filter(workspace=_ws(request), user_id=user_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound(_("no member %(id)s in this workspace") % {"id": user_id}, field="user_id")
    return membership


@router.get(
    "/members", response=list[MemberOut], summary="List the workspace's members", tags=["team"]
)
def members_list(request: HttpRequest):
    members = (
        Membership.objects.filter(workspace=_ws(request))
        .select_related("user")
        .order_by("user__email")
    )
    return [_member_out(m) for m in members]


@router.patch(
    "/members/{user_id}",
    response=MemberOut,
    summary="Change a member's role or territory",
    tags=["team"],
)
def members_patch(request: HttpRequest, user_id: int, payload: MemberPatch):
    current = _member(request, user_id)
    changes = payload.model_dump(exclude_unset=True)
    membership = services.membership_set(
        workspace=_ws(request),
        user=current.user,
        role=changes.get("role") or current.role,
        regions=changes.get("regions", current.regions),
        provinces=changes.get("provinces", current.provinces),
        product_lines=changes.get("product_lines", current.product_lines),
    )
    return _member_out(membership)


@router.delete("/members/{user_id}", response={204: None}, summary="Remove a member", tags=["team"])
def members_remove(request: HttpRequest, user_id: int):
    membership = _member(request, user_id)
    services.membership_remove(workspace=_ws(request), actor=_actor(request), user=membership.user)
    return 204, None


@router.get(
    "/invitations", response=list[InvitationOut], summary="List open invitations", tags=["team"]
)
def invitations_list(request: HttpRequest):
    return [_invitation_out(i) for i in invitations.invitations_pending(workspace=_ws(request))]


@router.post(
    "/invitations",
    response={201: InvitationOut},
    summary="Invite someone by email",
    tags=["team"],
)
def invitations_create(request: HttpRequest, payload: InvitationIn):
    invitation = invitations.invitation_create(
        workspace=_ws(request), actor=_actor(request), **payload.model_dump()
    )
    return 201, _invitation_out(invitation)


@router.delete(
    "/invitations/{invitation_id}",
    response={204: None},
    summary="Withdraw an invitation",
    tags=["team"],
)
def invitations_cancel(request: HttpRequest, invitation_id: int):
    invitations.invitation_cancel(
        workspace=_ws(request), actor=_actor(request), invitation_id=invitation_id
    )
    return 204, None
