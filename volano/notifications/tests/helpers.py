"""For tests of the domains whose facts notify people: the notifications once the after-commit
reactions ran (in a test's transaction nothing commits, so they are run here, for real)."""

from __future__ import annotations

from volano.conftest import reactions_run_pending
from volano.notifications.models import Notification


def notes(workspace, **filters):
    reactions_run_pending()
    return Notification.objects.for_workspace(workspace).filter(**filters)


def note_of(assignment) -> Notification:
    """The rep's notification of this assignment."""
    return notes(assignment.workspace_id, object_type="assignment", object_id=assignment.pk).get()
