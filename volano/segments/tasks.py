"""Background work for segments: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task

from volano.core.models import Workspace


@task()
def segments_refresh_contacts_task(
    workspace_id: int, contact_ids: list[int], changed: list[str] | None = None
) -> None:
    from volano.segments.services import segments_refresh_contacts

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        segments_refresh_contacts(workspace=workspace, contact_ids=contact_ids, changed=changed)


@task(queue_name="bulk")
def segments_refresh_all_task(workspace_id: int) -> None:
    from volano.segments.services import segments_refresh_all

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        segments_refresh_all(workspace=workspace)
