"""Broadcasts: one email to a segment or a list, now or at a time, optionally with an A/B test of
the subject or the content. A broadcast sends through the sending core: one Mailing per variant
and one for the rest (docs/emails.md, "Broadcasts")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class AbWhich(models.TextChoices):
    NONE = "", _("No A/B test")
    SUBJECT = "subject", _("Subject")
    CONTENT = "content", _("Content")


class AbMetric(models.TextChoices):
    OPENS = "opens", _("Human opens")
    CLICKS = "clicks", _("Clicks")


class Broadcast(WorkspaceScopedModel):
    """`due_at` is the next piece of work that waits, with its time: the send of a scheduled
    broadcast, or the choice of the A/B winner. The sweeper runs what is due, so a lost task
    never loses a send; claiming it is one UPDATE on (id, due_at), so it runs once."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("campaign"), max_length=100)  # utm_campaign of every link
    # RESTRICT: a template a broadcast uses cannot be deleted (template_delete says so), yet a
    # workspace deleted as a whole takes its broadcasts and templates together
    template = models.ForeignKey(
        "emails.EmailTemplate", on_delete=models.RESTRICT, related_name="+"
    )
    # a segment or list deleted later leaves the broadcast without an audience: a draft or a
    # scheduled one then cannot start and says why; a sent one keeps its figures
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_list = models.ForeignKey(
        "segments.ContactList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)  # null: now
    status = models.CharField(
        max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT
    )
    # A/B: `ab_split` percent of the audience is tested, half with A, half with B; after
    # `ab_hours` the variant with more human opens (or clicks) wins (a tie: A) and the rest
    # of the audience gets it.
    ab_which = models.CharField(max_length=8, choices=AbWhich.choices, blank=True, default="")
    ab_subject_b = models.CharField(max_length=300, blank=True)
    ab_template_b = models.ForeignKey(
        "emails.EmailTemplate", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    ab_split = models.PositiveSmallIntegerField(default=20)
    ab_metric = models.CharField(
        max_length=6, choices=AbMetric.choices, default=AbMetric.OPENS, blank=True
    )
    ab_hours = models.PositiveSmallIntegerField(default=4)
    winner = models.CharField(max_length=1, blank=True)  # "a" | "b" once chosen
    winner_at = models.DateTimeField(null=True, blank=True)
    mailing_a = models.OneToOneField(
        "emails.Mailing", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mailing_b = models.OneToOneField(
        "emails.Mailing", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mailing_rest = models.OneToOneField(
        "emails.Mailing", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    # why a scheduled send could not start (a template broken since): back to draft with this
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="broadcast_unique_slug"),
            models.CheckConstraint(
                condition=~(Q(segment__isnull=False) & Q(contact_list__isnull=False)),
                name="broadcast_one_audience",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(due_at__isnull=False), name="broadcast_due"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ab(self) -> bool:
        return bool(self.ab_which)

    def mailing_ids(self) -> list[int]:
        return [m for m in (self.mailing_a_id, self.mailing_b_id, self.mailing_rest_id) if m]
