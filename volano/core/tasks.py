"""Background work for the core: running the after-commit reactions of outbox rows."""

from __future__ import annotations

from django.tasks import task

from volano.core.reactions import outbox_run


@task()
def reactions_run_task(outbox_ids: list[int]) -> None:
    """Run the after-commit reactions of these outbox rows (merged); rows already done, or
    taken by another worker, are left alone."""
    outbox_run(outbox_ids=outbox_ids)
