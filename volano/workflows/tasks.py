"""Background work for workflows: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task

from volano.core.models import Workspace


@task()
def workflows_run_due_task(workspace_id: int) -> None:
    """Run the workspace's due workflow steps (enrolments just made, waits that ran out)."""
    from volano.workflows.services import workflows_run_due

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        workflows_run_due(workspace=workspace)
