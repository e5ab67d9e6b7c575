"""The demo workspace's self-assessments: a year ago Officina Rossi did digital marketing without a
plan (level 2); today it has a content plan, campaigns with costs and a CRM it uses (level 3),
with a budget that is still small. The demo loader calls this last."""

from __future__ import annotations

import datetime as dt

from volano.core.models import Membership, Role, Workspace
from volano.maturity.models import Assessment
from volano.maturity.services import assessment_take

A_YEAR_AGO = {
    "website": "blog_sometimes",
    "social": "regular",
    "advertising": "occasional",
    "email": "broadcast",
    "customers": "on_request",
    "data": "list",
    "competence": "basic",
    "people": "part_time",
    "budget": "small",
}
TODAY = {
    **A_YEAR_AGO,
    "website": "blog_plan",
    "social": "planned",
    "advertising": "campaigns",
    "email": "content_flow",
    "customers": "care",
    "data": "crm",
    "competence": "lever",
    "people": "trained",
}


def demo_maturity_create(*, workspace: Workspace, now: dt.datetime) -> None:
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.ADMIN)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    actor = owner.user if owner else None
    earlier = assessment_take(workspace=workspace, answers=A_YEAR_AGO, actor=actor)
    Assessment.objects.for_workspace(workspace).filter(pk=earlier.pk).update(
        taken_at=now - dt.timedelta(days=365)
    )
    assessment_take(workspace=workspace, answers=TODAY, actor=actor)
