"""/api/v1/email-policy: the workspace's sending policy for marketing email (frequency cap and
quiet hours; docs/emails.md "Sending policy"). GET reads it (created with the defaults on first
use); PUT changes the fields given and keeps the others. Bad values are a 422 naming each field
(`cap_messages`, `quiet_end`, …), all at once; nothing is saved then."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from volano.core.api_input import ApiInput as Strict
from volano.emails.models import EmailPolicy
from volano.emails.policy import email_policy_get, email_policy_save, policy_quiet_until

router = Router(tags=["email policy"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class PolicyIn(Strict):
    stored_in = EmailPolicy

    cap_enabled: bool | None = None
    cap_messages: int | None = None
    cap_days: int | None = None
    quiet_enabled: bool | None = None
    quiet_start: str | None = Field(None, max_length=8, description="HH:MM")
    quiet_end: str | None = Field(None, max_length=8, description="HH:MM")


class PolicyOut(Schema):
    cap_enabled: bool
    cap_messages: int
    cap_days: int
    quiet_enabled: bool
    quiet_start: str
    quiet_end: str
    time_zone: str
    quiet_now_until: dt.datetime | None
    updated_at: dt.datetime | None


def policy_out(workspace: Any, policy: EmailPolicy) -> dict:
    """The policy as the API and `volano email policy --json` show it; `quiet_now_until`: when
    the quiet hours under way end (marketing mail is held until then), or null."""
    return {
        "cap_enabled": policy.cap_enabled,
        "cap_messages": policy.cap_messages,
        "cap_days": policy.cap_days,
        "quiet_enabled": policy.quiet_enabled,
        "quiet_start": policy.quiet_start.strftime("%H:%M"),
        "quiet_end": policy.quiet_end.strftime("%H:%M"),
        "time_zone": workspace.time_zone,
        "quiet_now_until": policy_quiet_until(
            policy, time_zone=workspace.time_zone, now=timezone.now()
        ),
        "updated_at": policy.updated_at,
    }


@router.get("/email-policy", response=PolicyOut, summary="Get the sending policy")
def policy_get(request: HttpRequest):
    workspace = _ws(request)
    return policy_out(workspace, email_policy_get(workspace=workspace))


@router.put(
    "/email-policy",
    response=PolicyOut,
    summary="Change the sending policy (the fields given; the others are kept)",
)
def policy_put(request: HttpRequest, payload: PolicyIn):
    workspace = _ws(request)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    policy = email_policy_save(
        workspace=workspace,
        actor=request.api_token.user,  # type: ignore[attr-defined]
        data=data,
    )
    return policy_out(workspace, policy)
