"""Background work for notifications: thin, idempotent, takes ids. Emails run on the
transactional queue, so a hand-off alert never waits behind a bulk send or a recompute."""

from __future__ import annotations

from django.tasks import task

from volano.notifications.services import notification_email_send

QUEUE = "transactional"


@task(queue_name=QUEUE)
def notification_email_task(notification_id: int) -> None:
    """Email one notification; run twice, it still sends once."""
    notification_email_send(notification_id=notification_id)
