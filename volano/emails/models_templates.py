"""Email templates (the templates half of the email domain; the sending half adds its own models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class EmailTemplate(WorkspaceScopedModel):
    """An email written in MJML (or HTML) with Jinja placeholders and per-contact blocks.

    `blocks` is [{"key", "variants": [{"when"?: condition, "html"}]}] as the user wrote it (each
    `html` sanitised). `compiled` is what rendering reads: the source compiled to HTML (MJML,
    CSS inlined, sanitised) and its plain-text twin, Jinja tags kept, and each variant's text.
    `errors` lists what is wrong ({"field", "line", "column", "message"}): a template with errors
    is not `sendable`, and the sending side refuses it."""

    slug = models.SlugField(max_length=80)
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    mjml = models.TextField(blank=True)
    html = models.TextField(blank=True)
    blocks = models.JSONField(default=list, blank=True)
    compiled = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="email_template_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sendable(self) -> bool:
        return not self.errors and bool(self.compiled.get("html"))
