"""Workspace scoping that fails closed.

Every business model has `workspace = WorkspaceForeignKey()` and `objects = WorkspaceManager()`.
`Model.objects.for_workspace(ws)` is the only way in; `Model.objects.filter(...)` without a
workspace raises `WorkspaceScopeError`, so a forgotten filter is a crash in tests, never a leak.
Related managers (`contact.events.all()`) are allowed: their parent row was already scoped.
`Model.all_workspaces` is the loud escape hatch for operator commands and migrations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext as _

from volano.core.errors import NotFound

if TYPE_CHECKING:
    from volano.core.models import Workspace


class WorkspaceScopeError(RuntimeError):
    pass


class WorkspaceQuerySet(models.QuerySet):
    pass


class WorkspaceManager(models.Manager):
    _queryset_class = WorkspaceQuerySet

    def get_queryset(self) -> Any:
        # Related managers carry the instance they hang off; that instance was reached through a
        # scoped query already, and they filter on it.
        if getattr(self, "instance", None) is None and not getattr(self, "_scoped", False):
            raise WorkspaceScopeError(
                f"{self.model.__name__}.objects used without a workspace: "
                f"use {self.model.__name__}.objects.for_workspace(workspace)"
            )
        return super().get_queryset()

    def for_workspace(self, workspace: Workspace | int) -> Any:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        if workspace_id is None:
            raise WorkspaceScopeError("for_workspace() needs a saved workspace")
        return self._unscoped().filter(workspace_id=workspace_id)

    def create(self, **kwargs: Any) -> Any:
        """Creating is allowed when the new row names its workspace."""
        if kwargs.get("workspace") is None and kwargs.get("workspace_id") is None:
            raise WorkspaceScopeError(f"{self.model.__name__}.objects.create() needs a workspace")
        return self._unscoped().create(**kwargs)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        if any(obj.workspace_id is None for obj in objs):
            raise WorkspaceScopeError(
                f"{self.model.__name__}.objects.bulk_create(): a row has no workspace"
            )
        return self._unscoped().bulk_create(objs, *args, **kwargs)

    def _unscoped(self) -> Any:
        return self._queryset_class(model=self.model, using=self._db)


class WorkspaceScopedModel(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceManager()
    all_workspaces = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_workspaces"
        default_manager_name = "objects"


def ensure_in_workspace(obj: Any, workspace: Workspace) -> None:
    """Fail closed: a service given an object of another workspace (or an unsaved one) raises
    NotFound, exactly as if it looked the object up itself. Every service taking a model
    instance calls this first, so a caller's mistake never writes across workspaces."""
    if obj is None:
        return
    if getattr(obj, "workspace_id", None) != workspace.pk or workspace.pk is None:
        raise NotFound(
            _("no such %(thing)s in this workspace") % {"thing": obj._meta.verbose_name},
            field=obj._meta.model_name,
        )


def access_in_workspace(model: Any, *, workspace: Workspace, pk: Any, **select: Any) -> Any:
    """Fetch and check in one call: the `model` row `pk` of `workspace`, or NotFound (another
    workspace's row is as absent as a missing one). `select` are select_related names."""
    queryset = model.objects.for_workspace(workspace)
    if select.get("related"):
        queryset = queryset.select_related(*select["related"])
    try:
        return queryset.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            _("no such %(thing)s in this workspace") % {"thing": model._meta.verbose_name},
            field=model._meta.model_name,
        ) from None
