"""Writes for notifications: `notify` (the in-app rows, and their emails on the transactional
queue after commit), marking them read, and sending one notification's email exactly once.

Any domain above this one calls `notify`; a domain below announces a fact and
`notifications/reactions.py` turns it into notifications.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from volano.core.errors import NotFound
from volano.core.facts import NotificationsEmailed
from volano.core.mail import workspace_headers
from volano.core.models import Membership, User, Workspace
from volano.core.reactions import announce
from volano.notifications.models import EmailStatus, Notification

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
MAX_ATTEMPTS = 5
# A claim older than this is a worker that died mid-send: the email may be sent again.
STALE_CLAIM = dt.timedelta(minutes=15)


def language_of(user: User, workspace: Workspace) -> str:
    """The language a notification to `user` speaks: theirs, else the workspace's."""
    return user.language or workspace.language or settings.LANGUAGE_CODE


def base_url() -> str:
    return str(getattr(settings, "VOLANO_BASE_URL", "") or DEFAULT_BASE_URL).rstrip("/")


def notify(
    *,
    workspace: Workspace,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    actor: User | None = None,
    email: bool = True,
    email_text: str = "",
    obj: Any = None,
    object_type: str = "",
    object_id: int | None = None,
    dedup_key: str = "",
) -> list[Notification]:
    """One in-app notification per recipient who is a member of the workspace (others are
    skipped), and, with `email`, its email sent after commit on the transactional queue.
    `link` is a path on this site; `email_text` replaces the plain email (greeting, title, body,
    link); `dedup_key` makes a second call with the same key write nothing for the recipients
    who already have it (a reaction that runs twice)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower.split(".")[-1]
        object_id = object_id if object_id is not None else obj.pk
    members = set(
        Membership.objects.filter(workspace=workspace, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    wanted = {user.pk: user for user in recipients if user.pk in members}
    if dedup_key:
        already = set(
            Notification.objects.for_workspace(workspace)
            .filter(dedup_key=dedup_key, recipient_id__in=list(wanted))
            .values_list("recipient_id", flat=True)
        )
        wanted = {pk: user for pk, user in wanted.items() if pk not in already}
    if not wanted:
        return []
    rows = [
        Notification(
            workspace=workspace,
            recipient=user,
            kind=kind[:40],
            title=title[:200],
            body=body,
            url=link[:300],
            object_type=object_type[:40],
            object_id=object_id,
            actor=actor,
            dedup_key=dedup_key[:120],
            email_text=email_text,
            email_status=EmailStatus.PENDING if email else EmailStatus.NONE,
        )
        for user in wanted.values()
    ]
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows, ignore_conflicts=bool(dedup_key))
    if email:
        from volano.notifications.tasks import notification_email_task

        ids = [row.pk for row in created if row.pk is not None]
        if not ids:  # ignore_conflicts on SQLite returns no ids: read them back
            ids = list(
                Notification.objects.for_workspace(workspace)
                .filter(dedup_key=dedup_key, email_status=EmailStatus.PENDING)
                .values_list("pk", flat=True)
            )
        for pk in ids:
            transaction.on_commit(functools.partial(notification_email_task.enqueue, pk))
    return created


def notification_mark_read(
    *, workspace: Workspace, user: User, notification_id: int | None = None
) -> int:
    """Mark one of the user's notifications (or, with no id, all of them) read."""
    rows = Notification.objects.for_workspace(workspace).filter(
        recipient=user, read_at__isnull=True
    )
    if notification_id is not None:
        if (
            not Notification.objects.for_workspace(workspace)
            .filter(pk=notification_id, recipient=user)
            .exists()
        ):
            raise NotFound("no such notification")
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now())


def _email_for(notification: Notification) -> EmailMessage:
    workspace = notification.workspace
    user = notification.recipient
    body = notification.email_text
    if not body:
        context = {
            "notification": notification,
            "user": user,
            "link": f"{base_url()}{notification.url}" if notification.url else "",
        }
        with (
            translation.override(language_of(user, workspace)),
            timezone.override(ZoneInfo(workspace.time_zone)),
        ):
            body = render_to_string("notifications/email/notification.txt", context)
    return EmailMessage(
        subject=notification.title,
        body=body,
        to=[user.email],
        headers=workspace_headers(workspace),
    )


def notification_email_send(*, notification_id: int, now: dt.datetime | None = None) -> bool:
    """Email one notification, once. The row is claimed with one conditional UPDATE (`pending`,
    or a `sending` claim gone stale → `sending`), so of two tasks running at once one sends;
    marked `sent` after the mail server took it (and `NotificationsEmailed` said in that
    transaction); given back as `pending` if sending fails (the error is raised again for the
    worker's log), `failed` after MAX_ATTEMPTS. False when there was nothing to send."""
    now = now or timezone.now()
    claimed = (
        Notification.all_workspaces.filter(pk=notification_id)
        .filter(
            Q(email_status=EmailStatus.PENDING)
            | Q(email_status=EmailStatus.SENDING, email_claimed_at__lt=now - STALE_CLAIM)
        )
        .update(
            email_status=EmailStatus.SENDING,
            email_claimed_at=now,
            email_attempts=F("email_attempts") + 1,
        )
    )
    if not claimed:
        return False
    mine = Notification.all_workspaces.filter(
        pk=notification_id, email_status=EmailStatus.SENDING, email_claimed_at=now
    )
    try:
        notification = Notification.all_workspaces.select_related("workspace", "recipient").get(
            pk=notification_id
        )
        _email_for(notification).send()
    except Exception as error:
        attempts = Notification.all_workspaces.filter(pk=notification_id).values_list(
            "email_attempts", flat=True
        )
        failed = next(iter(attempts), 0) >= MAX_ATTEMPTS
        mine.update(
            email_status=EmailStatus.FAILED if failed else EmailStatus.PENDING,
            email_claimed_at=None,
            email_error=str(error)[:300],
        )
        raise
    with transaction.atomic():
        mine.update(email_status=EmailStatus.SENT, emailed_at=timezone.now(), email_error="")
        if notification.object_type and notification.object_id is not None:
            announce(
                NotificationsEmailed(
                    workspace_id=notification.workspace_id,
                    object_type=notification.object_type,
                    object_ids={notification.object_id},
                )
            )
    return True
