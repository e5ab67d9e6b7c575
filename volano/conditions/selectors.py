"""Reads: the contacts a condition matches, as one SQL statement."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from volano.conditions.compiler import Resolver, condition_q
from volano.conditions.describe import Names
from volano.conditions.parse import condition_parse
from volano.conditions.types import Condition
from volano.contacts.models import Contact
from volano.core.models import Workspace


def contacts_matching(
    *,
    workspace: Workspace,
    condition: Condition,
    now: dt.datetime | None = None,
    resolver: Resolver | None = None,
) -> QuerySet[Contact]:
    """The workspace's contacts that match `condition` (parsed with `condition_parse`).

    `now` fixes "the last N days" (default: now); `resolver` turns list and segment references
    into contacts (until the segments domain provides one, a reference is a ConditionError).
    """
    q = condition_q(workspace=workspace, condition=condition, now=now, resolver=resolver)
    return Contact.objects.for_workspace(workspace).filter(q)


def condition_count(
    *,
    workspace: Workspace,
    condition: Condition,
    now: dt.datetime | None = None,
    resolver: Resolver | None = None,
) -> int:
    return contacts_matching(
        workspace=workspace, condition=condition, now=now, resolver=resolver
    ).count()


def condition_check(
    *, workspace: Workspace, definition: dict | list, resolver: Resolver | None = None
) -> Condition:
    """Parse `definition` and compile it to its statement with the `resolver` of the context
    that will run it, without running it: what saves is what runs. ConditionError names the
    node (an unknown field, a list or segment where the context has none, a cycle)."""
    condition = condition_parse(definition, workspace=workspace)
    contacts_matching(
        workspace=workspace, condition=condition, resolver=resolver
    ).query.sql_with_params()
    return condition


def condition_names(*, workspace: Workspace) -> Names:
    """The workspace's names for the codes a condition may hold, for `condition_describe`:
    forms, product lines, stages, owners (by id and by email), lists, segments, score models."""
    from volano.core.models import Membership
    from volano.deals.models import ProductLine
    from volano.events.models import Form
    from volano.lifecycle.selectors import stage_names
    from volano.scoring.models import ScoreModel
    from volano.segments.models import ContactList, Segment

    owners: dict[str, str] = {}
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    for membership in members:
        user = membership.user
        name = user.full_name or user.email
        owners[str(user.pk)] = owners[user.email.lower()] = name
    return Names(
        forms=dict(Form.objects.for_workspace(workspace).values_list("slug", "name")),
        product_lines=dict(
            ProductLine.objects.for_workspace(workspace).values_list("slug", "name")
        ),
        stages=stage_names(workspace=workspace),
        owners=owners,
        lists=dict(ContactList.objects.for_workspace(workspace).values_list("slug", "name")),
        segments=dict(Segment.objects.for_workspace(workspace).values_list("slug", "name")),
        score_models=dict(ScoreModel.objects.for_workspace(workspace).values_list("slug", "name")),
    )
