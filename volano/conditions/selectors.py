"""Reads: the contacts a condition matches, as one SQL statement."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from volano.conditions.compiler import Resolver, condition_q
from volano.conditions.describe import Names
from volano.conditions.parse import condition_parse
from volano.conditions.sources import names_sources
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
    forms, product lines, owners (by id and by email) from the domains below, and stages, lists,
    segments and score models from the readers their domains register (`conditions.sources`)."""
    from volano.core.models import Membership
    from volano.deals.models import ProductLine
    from volano.events.models import Form

    owners: dict[str, str] = {}
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    for membership in members:
        user = membership.user
        name = user.full_name or user.email
        owners[str(user.pk)] = owners[user.email.lower()] = name
    registered = {field: names(workspace) for field, names in names_sources().items()}
    return Names(
        forms=dict(Form.objects.for_workspace(workspace).values_list("slug", "name")),
        product_lines=dict(
            ProductLine.objects.for_workspace(workspace).values_list("slug", "name")
        ),
        owners=owners,
        **registered,
    )
