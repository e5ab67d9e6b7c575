"""Thin tasks of the email domain: load ids, call a service."""

from __future__ import annotations

from django.tasks import task


@task(queue_name="email")
def mailing_deliver_task(mailing_id: int) -> None:
    """Send what is due of one mailing; enqueue itself again for the next retry, if any.
    `mailing_enqueue` moves transactional mailings to the `transactional` queue."""
    from volano.emails.models import Mailing
    from volano.emails.sending.services import mailing_deliver, mailing_enqueue

    again = mailing_deliver(mailing_id=mailing_id)
    if again is not None:
        mailing = Mailing.all_workspaces.get(pk=mailing_id)
        mailing_enqueue(mailing, run_after=again)


@task(queue_name="email")
def broadcast_due_task(broadcast_id: int) -> None:
    """A broadcast's due work at its time (the scheduled send, the A/B winner). The sweeper runs
    the same pass for every due broadcast, so a lost task only delays it."""
    from volano.emails.broadcasts.services import broadcasts_due_run

    broadcasts_due_run(broadcast_id=broadcast_id)
