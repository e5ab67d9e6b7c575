"""/api/v1/activity: the workspace's audit trail, for administrators."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from volano.core.activity import activity_list
from volano.core.api_input import Pages

router = Router(tags=["activity"])


class ActivityOut(Schema):
    id: int
    created_at: dt.datetime
    verb: str
    actor_kind: str
    actor_user_id: int | None
    actor_token_id: int | None
    actor_label: str
    object_type: str
    object_id: int | None
    contact_id: int | None
    changes: dict


@router.get(
    "/activity", response=list[ActivityOut], summary="List the audit trail (administrators)"
)
@paginate(Pages, page_size=50, max_page_size=500)
def activity(
    request: HttpRequest, contact_id: int | None = None, verb: str = "", actor_id: int | None = None
):
    """Who changed what, newest first: `contact_id` for one contact's changes, `verb` (e.g.
    `consent.set`, or a prefix ending in a dot, `consent.`) and `actor_id` (a user) to filter."""
    return activity_list(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact_id=contact_id,
        verb=verb.strip(),
        actor_id=actor_id,
    )
