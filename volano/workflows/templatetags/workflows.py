"""The contact page's card of the contact's paths through workflows."""

from __future__ import annotations

from typing import Any

from django import template

from volano.workflows import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_workflow_paths(context: template.Context, contact: Any) -> list[dict[str, Any]]:
    """Each enrolment of the contact, newest first, with the steps it ran."""
    workspace = getattr(context.get("request"), "workspace", None)
    if workspace is None or contact is None:
        return []
    return selectors.contact_workflow_paths(workspace=workspace, contact_id=contact.pk)
