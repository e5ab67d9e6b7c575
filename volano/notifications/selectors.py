"""Reads for notifications: a member's list and unread count."""

from __future__ import annotations

from django.db.models import QuerySet

from volano.core.models import User, Workspace
from volano.notifications.models import Notification


def notifications_for(
    *, workspace: Workspace, user: User, unread_only: bool = False
) -> QuerySet[Notification]:
    rows = Notification.objects.for_workspace(workspace).filter(recipient=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows


def unread_count(*, workspace: Workspace, user: User) -> int:
    return notifications_for(workspace=workspace, user=user, unread_only=True).count()
