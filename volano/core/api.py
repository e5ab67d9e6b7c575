"""/api/v1/tokens: the bearer tokens of the workspace a token opens.

A token sees and revokes its user's own tokens (an administrator's: all of the workspace's);
a created token's raw value is in the reply once and never again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from volano.core import selectors, services
from volano.core.models import ApiToken

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
