from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class EmailStatus(models.TextChoices):
    NONE = "none", _("Not emailed")
    PENDING = "pending", _("Email waiting")
    SENDING = "sending", _("Email being sent")
    SENT = "sent", _("Emailed")
    FAILED = "failed", _("Email failed")


class Notification(WorkspaceScopedModel):
    """A message for one member, in the app (the bell) and, when it matters, by email.

    `kind` says what it is about ("lead_assigned", "lead_unassigned"; workflows add theirs),
    `url` is the page to open, `object_type`/`object_id` the object (no foreign key: any domain
    notifies about its own objects). The email's state is on the row: `pending` → `sending`
    (claimed by one conditional UPDATE) → `sent`, so a task run twice sends once; a failed send
    goes back to `pending` for a retry, `failed` after MAX_ATTEMPTS. `dedup_key` makes a
    reaction that runs twice write one row per recipient.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    # who caused it (None: the system), for the list
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dedup_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The email: its own text when the sender gave one (else title, body and link), its state.
    email_text = models.TextField(blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.NONE
    )
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_recipient_unread"),
            models.Index(fields=["email_status", "created_at"], name="notification_email_state"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "recipient", "dedup_key"],
                condition=~Q(dedup_key=""),
                name="notification_once_per_recipient",
            )
        ]

    def __str__(self) -> str:
        return self.title
