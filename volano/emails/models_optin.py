"""Double opt-in: one row per confirmation email sent for a consent a public form asked for.

The link in the email carries a signed token naming the row (docs/emails.md, "Double opt-in");
the row keeps the proof of the click that confirms it (when, from which IP and user agent),
next to the form and the message it answered.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from volano.core.tenancy import WorkspaceScopedModel


class OptInConfirmation(WorkspaceScopedModel):
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=20)
    form = models.CharField(max_length=100, blank=True)  # the form's slug
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    # the transactional mailing (one delivery) that carries the link
    mailing = models.ForeignKey(
        "emails.Mailing", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "purpose", "created_at"], name="optin_contact_recent")
        ]
