"""Segments, static lists and buyer personas.

A segment is a condition (volano/conditions) plus its materialised membership: one
SegmentMembership row per stay (entered_at, left_at; left_at null = current member).
A persona is a Segment with kind "persona" and descriptive fields. A ContactList is a static
set of contacts, added by hand, import, API or a segment snapshot.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class SegmentKind(models.TextChoices):
    SEGMENT = "segment", _("Segment")
    PERSONA = "persona", _("Buyer persona")


class Segment(WorkspaceScopedModel):
    slug = models.SlugField(_("slug"), max_length=80)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=SegmentKind.choices, default=SegmentKind.SEGMENT
    )
    definition = models.JSONField(_("condition"), default=dict)
    goals = models.TextField(_("goals"), blank=True)
    pains = models.TextField(_("pains"), blank=True)
    channels = models.TextField(_("preferred channels"), blank=True)
    job_titles = models.TextField(_("typical job titles"), blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    # Set when a stored definition can no longer run (a row saved before a rule was tightened,
    # or written past the service): the segment stops refreshing, the others go on. Saving a
    # definition that runs clears both.
    disabled_reason = models.CharField(_("switched off because"), max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="segment_ws_slug_unique")
        ]
        indexes = [models.Index(fields=["workspace", "kind"], name="segment_ws_kind")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(WorkspaceScopedModel):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact"],
                condition=Q(left_at__isnull=True),
                name="segmentmembership_current_unique",
            )
        ]
        indexes = [
            models.Index(fields=["segment", "left_at"], name="segmentmembership_seg_left"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class SegmentSize(WorkspaceScopedModel):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    at = models.DateTimeField(default=timezone.now)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["segment", "at"], name="segmentsize_seg_at")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.size} @ {self.at:%Y-%m-%d %H:%M}"


class ContactList(WorkspaceScopedModel):
    slug = models.SlugField(_("slug"), max_length=80)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="contactlist_ws_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ListMembership(WorkspaceScopedModel):
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="list_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=100, default="manual")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list", "contact"], name="listmembership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in list {self.list_id}"
