"""Background work for campaigns: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task

from volano.core.models import Workspace


@task(queue_name="bulk")
def first_touches_refresh_task(workspace_id: int, contact_ids: list[int] | None = None) -> None:
    from volano.campaigns.touches import first_touches_refresh

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        first_touches_refresh(workspace=workspace, contact_ids=contact_ids)
