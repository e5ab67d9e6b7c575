"""Reads for imports."""

from __future__ import annotations

from django.db.models import QuerySet

from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.imports.models import ImportJob


def import_job_list(*, workspace: Workspace) -> QuerySet[ImportJob]:
    return ImportJob.objects.for_workspace(workspace).select_related("created_by")


def import_job_get(*, workspace: Workspace, job_id: int) -> ImportJob:
    job = ImportJob.objects.for_workspace(workspace).filter(pk=job_id).first()
    if job is None:
        raise NotFound("no such import")
    return job
