"""The sending core's tables: a Mailing (one send), its outbox of Deliveries (one row per
(mailing, contact)), the workspace's Suppression list and the soft-bounce counters.

docs/emails.md ("Sending") tells how a row moves and why a crashed worker never sends twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class MailingKind(models.TextChoices):
    BROADCAST = "broadcast", _("Broadcast")
    WORKFLOW = "workflow", _("Workflow")
    TRANSACTIONAL = "transactional", _("Transactional")
    TEST = "test", _("Test send")


# Marketing mail needs the email_marketing consent and carries List-Unsubscribe; the others
# (a test send, a double opt-in confirmation, a hand-off alert) do not, and run on their own queue.
MARKETING_KINDS = frozenset({MailingKind.BROADCAST, MailingKind.WORKFLOW})


class MailingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Mailing(WorkspaceScopedModel):
    """One send of one message to an audience. What each contact receives is made by the
    renderer registered under `renderer` (volano/emails/sending/renderers.py) from `params`."""

    kind = models.CharField(max_length=14, choices=MailingKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    # the utm_campaign of every link (the broadcast's or workflow's slug)
    campaign = models.CharField(max_length=100, blank=True)
    renderer = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    from_email = models.CharField(max_length=254, blank=True)
    mailer = models.CharField(max_length=40, default="default")  # a settings.MAILERS alias
    status = models.CharField(
        max_length=10, choices=MailingStatus.choices, default=MailingStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the last time a worker claimed a batch: the sweeper re-enqueues a send that went quiet
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="mailing_ws_created"),
            models.Index(fields=["status"], condition=Q(status="sending"), name="mailing_sending"),
        ]

    def __str__(self) -> str:
        return self.name or f"mailing #{self.pk}"

    @property
    def is_marketing(self) -> bool:
        return self.kind in MARKETING_KINDS


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CLAIMED = "claimed", _("Being sent")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class SkipReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent")
    SUPPRESSED = "suppressed", _("Suppressed")
    CAPPED = "capped", _("Frequency cap")
    NO_EMAIL = "no_email", _("No email address")
    BAD_ADDRESS = "bad_address", _("Malformed address")


class Delivery(WorkspaceScopedModel):
    """The outbox row of one message to one contact: unique per (mailing, contact), so an
    audience added twice, or a send resumed after a crash, still writes to each person once."""

    # Foreign keys kept by Django's cascades, not by the database (db_constraint=False): each
    # row's RI check is a lookup and a FOR KEY SHARE lock on the referenced row, 900,000 of each
    # for a large segment's outbox, most of the time of writing it (docs/benchmarks.md). The
    # mailing needs no index of its own: delivery_once begins with it.
    workspace = models.ForeignKey(
        "core.Workspace",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True)
    address = models.CharField(max_length=254, blank=True)  # the address at claim time
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True)
    # chosen at claim time and stored before the message leaves: a resend after a crash
    # carries the same Message-ID (docs/emails.md, "Exactly once")
    message_id = models.CharField(max_length=200, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # the provider said the receiving server accepted it (an anymail "delivered" webhook)
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_kind = models.CharField(max_length=4, blank=True)  # hard | soft
    opened_at = models.DateTimeField(null=True, blank=True)  # first human open
    clicked_at = models.DateTimeField(null=True, blank=True)  # first human click
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["mailing", "contact"], name="delivery_once")]
        indexes = [
            # the claim: a mailing's queued rows in id order (its due filter on next_attempt_at
            # reads along), so a claim never sorts the whole queue of a large send
            models.Index(
                fields=["mailing", "id"], condition=Q(status="queued"), name="delivery_queued"
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="claimed"), name="delivery_claimed"
            ),
            # no (mailing, status) index: a mailing's rows are found by delivery_once, its queued
            # ones by delivery_queued; one index less to write per row of a large outbox
            models.Index(fields=["message_id"], condition=~Q(message_id=""), name="delivery_msgid"),
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="delivery_provider_msgid",
            ),
            models.Index(fields=["sent_at"], condition=Q(status="sent"), name="delivery_sent"),
            # the frequency cap: a contact's sent marketing messages in the window, per claim
            models.Index(
                fields=["contact", "sent_at"],
                condition=Q(status="sent"),
                name="delivery_contact_sent",
            ),
        ]


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")
    MANUAL = "manual", _("Added by hand")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


class Suppression(WorkspaceScopedModel):
    """An address the workspace never writes to again (lower-cased)."""

    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=12, choices=SuppressionReason.choices)
    source = models.CharField(max_length=200, blank=True)  # the DSN, webhook or user
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "address"], name="suppression_once")
        ]


class SoftBounce(WorkspaceScopedModel):
    """Soft bounces in a row for one address; reset by a delivery, suppressed after N."""

    address = models.CharField(max_length=254)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "address"], name="softbounce_once")
        ]
