"""Background work for the core: running the reactions of one outbox row."""

from __future__ import annotations

from django.tasks import task

from volano.core.reactions import outbox_run


@task()
def reactions_run_task(outbox_id: int) -> None:
    """Run the after-commit reactions of one outbox row; a row already done is left alone."""
    outbox_run(outbox_id=outbox_id)
