from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", _("Page view")
    FORM_SUBMITTED = "form_submitted", _("Form submitted")
    CONTENT_DOWNLOADED = "content_downloaded", _("Content downloaded")
    EMAIL_SENT = "email_sent", _("Email sent")
    EMAIL_DELIVERED = "email_delivered", _("Email delivered")
    EMAIL_OPENED = "email_opened", _("Email opened")
    EMAIL_CLICKED = "email_clicked", _("Email clicked")
    EMAIL_BOUNCED = "email_bounced", _("Email bounced")
    EMAIL_UNSUBSCRIBED = "email_unsubscribed", _("Unsubscribed")
    EMAIL_COMPLAINED = "email_complained", _("Marked as spam")
    WEBINAR_REGISTERED = "webinar_registered", _("Webinar registration")
    WEBINAR_ATTENDED = "webinar_attended", _("Webinar attended")
    EVENT_ATTENDED = "event_attended", _("Event attended")
    ORDER = "order", _("Order")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    DEAL_CHANGED = "deal_changed", _("Deal changed")
    TICKET = "ticket", _("Support ticket")
    # What a rep logs by hand on the contact page; `properties.text` holds the note.
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    NOTE = "note", _("Note")
    CONSENT_CHANGED = "consent_changed", _("Consent changed")
    CONTACT_MERGED = "contact_merged", _("Contacts merged")
    LIFECYCLE_CHANGED = "lifecycle_changed", _("Lifecycle stage changed")
    SCORE_CHANGED = "score_changed", _("Score changed")
    LEAD_ASSIGNED = "lead_assigned", _("Lead assigned to sales")
    LEAD_ACCEPTED = "lead_accepted", _("Lead accepted by sales")
    LEAD_REJECTED = "lead_rejected", _("Lead rejected by sales")
    SEGMENT_ENTERED = "segment_entered", _("Entered segment")
    SEGMENT_LEFT = "segment_left", _("Left segment")
    IMPORTED = "imported", _("Imported")
    CUSTOM = "custom", _("Custom event")


class Channel(models.TextChoices):
    WEB = "web", _("Website")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social")
    ADS = "ads", _("Advertising")
    EVENT = "event", _("Events and fairs")
    SALES = "sales", _("Sales")
    SHOP = "shop", _("Web shop")
    SUPPORT = "support", _("Support")
    SYSTEM = "system", _("Volano")
    OTHER = "other", _("Other")


class PropertyUrl(Func):
    """An event's `url` property as conditions compare it: text only (NULL when missing or not a
    string); on PostgreSQL also trimmed and lower-cased. SQLite's lower() folds only A-Z, so there
    the column keeps the text and conditions apply volano_lower when they read it.

    Page views are most events and "visited a page containing /prezzi" the most common rule:
    reading this column instead of the JSON, and not lower-casing each row again, makes that scan
    ~4x cheaper on PostgreSQL (materialised properties, as PostHog does for hot properties).
    """

    output_field = models.TextField()

    def __init__(self) -> None:
        super().__init__(F("properties"))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        value = f"CASE WHEN jsonb_typeof({column} -> 'url') = 'string' THEN {column} ->> 'url' END"
        return f"LOWER(TRIM({value}))", [*params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        path = """'$."url"'"""
        sql = f"CASE WHEN json_type({column}, {path}) = 'text' THEN json_extract({column}, {path}) END"
        return sql, [*params]


class Event(WorkspaceScopedModel):
    """One interaction, append-only. Either `contact` or `anonymous_id` says whose it is.

    Indexes serve the queries segments and reports make: by workspace, type and time; and a
    contact's timeline by time. `dedup_key` makes a retried delivery land once.
    """

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    anonymous_id = models.CharField(max_length=64, null=True, blank=True)
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=100, blank=True)
    content = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    dedup_key = models.CharField(max_length=100, null=True, blank=True)
    property_url = models.GeneratedField(
        expression=PropertyUrl(), output_field=models.TextField(null=True), db_persist=True
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "type", "occurred_at"], name="event_ws_type_time"),
            models.Index(fields=["contact", "occurred_at"], name="event_contact_time"),
            models.Index(
                fields=["workspace", "anonymous_id"],
                condition=Q(anonymous_id__isnull=False),
                name="event_ws_anonymous",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="event_unique_dedup_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class Visitor(WorkspaceScopedModel):
    """A website visitor's first-party anonymous id, and the contact it turned out to be."""

    anonymous_id = models.CharField(max_length=64)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="visitors"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    identified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "anonymous_id"], name="visitor_unique_id")
        ]


class Form(WorkspaceScopedModel):
    """An embeddable form a workspace declared: only declared forms accept public posts.

    `fields` lists what the form collects, in order: standard names (`email`, `first_name`,
    `last_name`, `phone`, `company`, `message`) and custom contact fields as `custom.<key>`.
    `consent_text` is the sentence shown next to the email-marketing checkbox; it is kept as the
    proof of every consent the form records, so what the visitor read is the marketer's text,
    never a value the post carries.

    `double_opt_in` (on unless the marketer turns it off): the consent a post asks for stays
    *pending* until the address owner clicks the link of the confirmation email the emails
    domain sends (docs/emails.md, "Double opt-in"); off, the post grants it at once.
    """

    slug = models.SlugField(_("slug"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    fields = models.JSONField(default=list, blank=True)
    asks_email_consent = models.BooleanField(default=False)
    consent_text = models.TextField(_("consent text"), blank=True)
    double_opt_in = models.BooleanField(_("double opt-in"), default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="form_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name
