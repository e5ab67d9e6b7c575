"""Reads for segments, personas and static lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from volano.conditions.describe import condition_describe
from volano.conditions.selectors import condition_count, condition_names
from volano.contacts.models import Contact
from volano.core.errors import NotFound
from volano.core.ids import row_id
from volano.core.models import Workspace
from volano.segments.models import (
    ContactList,
    ListMembership,
    Segment,
    SegmentMembership,
    SegmentSize,
)
from volano.segments.resolver import SegmentResolver, segment_condition_parse

PREVIEW_SLUG = "__preview__"


def segment_list(*, workspace: Workspace, kind: str | None = None) -> QuerySet[Segment]:
    segments = Segment.objects.for_workspace(workspace)
    if kind:
        segments = segments.filter(kind=kind)
    return segments.order_by("name")


def segment_get(*, workspace: Workspace, slug_or_id: str | int) -> Segment:
    segments = Segment.objects.for_workspace(workspace)
    found = None
    if (pk := row_id(slug_or_id)) is not None:
        found = segments.filter(pk=pk).first()
    if found is None:
        found = segments.filter(slug=str(slug_or_id)).first()
    if found is None:
        raise NotFound("no such segment")
    return found


def segment_members(*, workspace: Workspace, segment: Segment) -> QuerySet[Contact]:
    """The segment's current members (materialised), newest first."""
    if segment.workspace_id != workspace.pk:
        raise NotFound("no such segment")
    members = SegmentMembership.objects.for_workspace(workspace).filter(
        segment=segment, left_at__isnull=True
    )
    return (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=members.values("contact_id"))
        .order_by("-pk")
    )


def segment_preview(
    *, workspace: Workspace, definition: Any, slug: str | None = None
) -> dict[str, Any]:
    """Count and plain-language rendering of an unsaved definition; raises ConditionError.

    `slug` is the segment being edited, so a reference back to it is reported as a cycle.
    """
    slug = slug or PREVIEW_SLUG
    resolver = SegmentResolver(workspace, overrides={slug: definition})
    condition = resolver.parsed(slug, None)
    from volano.conditions.compiler import condition_q

    q = condition_q(workspace=workspace, condition=condition, resolver=resolver, chain=(slug,))
    count = Contact.objects.for_workspace(workspace).filter(q).count()
    names = condition_names(workspace=workspace)
    return {
        "count": count,
        "description": {
            "it": condition_describe(condition, "it", names),
            "en": condition_describe(condition, "en", names),
        },
    }


def segment_preview_count(*, workspace: Workspace, definition: Any, slug: str | None = None) -> int:
    return segment_preview(workspace=workspace, definition=definition, slug=slug)["count"]


def segment_live_count(*, workspace: Workspace, segment: Segment) -> int:
    """The count the condition language gives right now (the materialised size may lag)."""
    condition = segment_condition_parse(segment.definition, workspace=workspace)
    return condition_count(
        workspace=workspace, condition=condition, resolver=SegmentResolver(workspace)
    )


def segment_describe(*, workspace: Workspace, segment: Segment, language: str = "it") -> str:
    condition = segment_condition_parse(segment.definition, workspace=workspace)
    return condition_describe(condition, language, condition_names(workspace=workspace))


def segment_sizes(
    *, workspace: Workspace, segment: Segment, since: dt.datetime | None = None
) -> list[tuple[dt.datetime, int]]:
    sizes = SegmentSize.objects.for_workspace(workspace).filter(segment=segment)
    if since is not None:
        sizes = sizes.filter(at__gte=since)
    return list(sizes.order_by("at").values_list("at", "size"))


def contact_segments(
    *, workspace: Workspace, contact: Contact, kind: str | None = None
) -> list[Segment]:
    memberships = SegmentMembership.objects.for_workspace(workspace).filter(
        contact_id=contact.pk, left_at__isnull=True
    )
    segments = Segment.objects.for_workspace(workspace).filter(
        pk__in=memberships.values("segment_id")
    )
    if kind:
        segments = segments.filter(kind=kind)
    return list(segments.order_by("name"))


def contact_personas(*, workspace: Workspace, contact: Contact) -> list[Segment]:
    """The buyer personas the contact currently belongs to (for the contact page)."""
    return contact_segments(workspace=workspace, contact=contact, kind="persona")


def list_list(*, workspace: Workspace) -> QuerySet[ContactList]:
    from django.db.models import Count

    return (
        ContactList.objects.for_workspace(workspace)
        .annotate(size=Count("memberships"))
        .order_by("name")
    )


def list_get(*, workspace: Workspace, slug_or_id: str | int) -> ContactList:
    lists = ContactList.objects.for_workspace(workspace)
    found = None
    if (pk := row_id(slug_or_id)) is not None:
        found = lists.filter(pk=pk).first()
    if found is None:
        found = lists.filter(slug=str(slug_or_id)).first()
    if found is None:
        raise NotFound("no such list")
    return found


def list_members(*, workspace: Workspace, contact_list: ContactList) -> QuerySet[Contact]:
    if contact_list.workspace_id != workspace.pk:
        raise NotFound("no such list")
    members = ListMembership.objects.for_workspace(workspace).filter(list=contact_list)
    return (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=members.values("contact_id"))
        .order_by("-pk")
    )


def contact_lists(*, workspace: Workspace, contact: Contact) -> list[ContactList]:
    members = ListMembership.objects.for_workspace(workspace).filter(contact_id=contact.pk)
    return list(
        ContactList.objects.for_workspace(workspace)
        .filter(pk__in=members.values("list_id"))
        .order_by("name")
    )


def contacts_in_segment(
    *, workspace: Workspace, contacts: QuerySet[Contact], segment: Segment
) -> QuerySet[Contact]:
    """`contacts` kept to the segment's current members (its (segment, contact) index)."""
    if segment.workspace_id != workspace.pk:
        raise NotFound("no such segment")
    members = SegmentMembership.objects.for_workspace(workspace).filter(
        segment=segment, left_at__isnull=True
    )
    return contacts.filter(pk__in=members.values("contact_id"))
