"""Task import paths are part of the data: a queued task row stores `module.function`, and the
worker imports that path when it runs the row. Moving or renaming a task would orphan every row
already queued under the old name (the worker fails them with an ImportError). This test pins
the paths, so such a move is a deliberate decision, not an accident of a refactor."""

from __future__ import annotations

import importlib
import pkgutil

from django.tasks import Task

import volano

PINNED = {
    "volano.attribution.tasks.kept_report_refresh_task",
    "volano.attribution.tasks.page_warm_nightly_task",
    "volano.campaigns.tasks.first_touches_refresh_task",
    "volano.core.tasks.reactions_run_task",
    "volano.emails.tasks.broadcast_due_task",
    "volano.emails.tasks.mailing_deliver_task",
    "volano.handoff.tasks.handoff_assign_task",
    "volano.imports.tasks.import_job_inspect_task",
    "volano.imports.tasks.import_job_run_task",
    "volano.notifications.tasks.notification_email_task",
    "volano.reports.tasks.stakeholder_warm_nightly_task",
    "volano.reports.tasks.value_model_nightly_task",
    "volano.scoring.tasks.predictive_train_task",
    "volano.scoring.tasks.score_model_recompute_task",
    "volano.scoring.tasks.scores_recompute_task",
    "volano.scoring.tasks.scores_refresh_contacts_task",
    "volano.segments.tasks.segments_refresh_all_task",
    "volano.segments.tasks.segments_refresh_contacts_task",
    "volano.workflows.tasks.workflows_run_due_task",
}


def _task_modules() -> list[str]:
    """Every `volano.<domain>.tasks` module (or package, and its submodules)."""
    names = []
    for info in pkgutil.walk_packages(volano.__path__, prefix="volano."):
        parts = info.name.split(".")
        if "tests" in parts or "migrations" in parts:
            continue
        if "tasks" in parts[2:]:
            names.append(info.name)
    return names


def _declared_tasks() -> dict[str, Task]:
    found: dict[str, Task] = {}
    for name in _task_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, Task):
                found[value.module_path] = value
    return found


def test_task_modules_are_found():
    # The walk itself must see the task modules, or the comparison below proves nothing.
    assert "volano.core.tasks" in _task_modules()
    assert "volano.segments.tasks" in _task_modules()


def test_every_task_path_is_pinned():
    found = set(_declared_tasks())
    missing = sorted(PINNED - found)
    new = sorted(found - PINNED)
    assert not missing, (
        f"These task paths are gone: {missing}. Queued rows in the database name the old path "
        "and the worker can no longer import it: keep an alias at the old path (a task that "
        "calls the new one) or migrate the queued rows, then update PINNED."
    )
    assert not new, (
        f"New task paths: {new}. Add them to PINNED: once work is queued under a path, the "
        "path must not move."
    )


def test_pinned_paths_import_from_their_own_name():
    # A task re-exported from another module is found there too; the path the worker stores is
    # the function's own module, and that is the one that must import.
    for path, found in _declared_tasks().items():
        module_name, _, attr = path.rpartition(".")
        assert getattr(importlib.import_module(module_name), attr) is found, path
