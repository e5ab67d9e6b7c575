"""Background work for the hand-off: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task

from volano.core.models import Workspace


# New SQLs are assigned by a reaction to StageChanged (volano/handoff/reactions.py); the task
# stays so that work queued before an upgrade still runs.
@task()
def handoff_assign_task(
    workspace_id: int, contact_ids: list[int], product_line: str, why: str
) -> None:
    """Assign newly qualified SQLs (a few per event); one already assigned is left alone."""
    from volano.handoff.services import lead_assign

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    for contact_id in contact_ids:
        lead_assign(workspace=workspace, contact_id=contact_id, product_line=product_line, why=why)
