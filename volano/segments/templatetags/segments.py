"""The small card of a contact's personas, segments and lists, on the contact page."""

from __future__ import annotations

from typing import Any

from django import template

from volano.segments import selectors
from volano.segments.models import SegmentKind

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_segment_card(context: template.Context, contact: Any) -> dict[str, Any]:
    """What the contact belongs to right now: personas, segments and static lists."""
    workspace = getattr(context.get("request"), "workspace", None)
    if workspace is None or contact is None:
        return {}
    segments = selectors.contact_segments(workspace=workspace, contact=contact)
    return {
        "personas": [s for s in segments if s.kind == SegmentKind.PERSONA],
        "segments": [s for s in segments if s.kind == SegmentKind.SEGMENT],
        "lists": selectors.contact_lists(workspace=workspace, contact=contact),
    }
