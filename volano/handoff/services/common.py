"""What the hand-off's use cases share: the open statuses, who may take leads, who may change
the rules."""

from __future__ import annotations

from volano.core.errors import PermissionDenied
from volano.core.models import Membership, Role, User, Workspace
from volano.core.permissions import Cap, allows
from volano.handoff.models import AssignmentStatus

OPEN = (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED)
REP_ROLES = (Role.SALES, Role.ADMIN)


def editor_check(workspace: Workspace, actor: User | None) -> None:
    """Rules and settings decide who gets leads: administrators and marketers change them."""
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied("only administrators and marketers change the hand-off rules")


def members(workspace: Workspace) -> list[Membership]:
    return list(Membership.objects.filter(workspace=workspace).select_related("user"))
