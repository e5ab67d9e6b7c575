from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceManager, WorkspaceQuerySet, WorkspaceScopedModel


class SizeBand(models.TextChoices):
    MICRO = "1-9", _("1-9 employees")
    SMALL = "10-49", _("10-49 employees")
    MEDIUM = "50-249", _("50-249 employees")
    LARGE = "250+", _("250+ employees")


class Company(WorkspaceScopedModel):
    name = models.CharField(_("company name"), max_length=200)
    vat_number = models.CharField(_("VAT number (partita IVA)"), max_length=11, blank=True)
    tax_code = models.CharField(_("tax code (codice fiscale)"), max_length=16, blank=True)
    ateco_code = models.CharField(_("ATECO code"), max_length=10, blank=True)
    sector = models.CharField(_("sector"), max_length=120, blank=True)
    size_band = models.CharField(_("size"), max_length=8, choices=SizeBand.choices, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("CAP"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT")
    website = models.CharField(_("website"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "vat_number"],
                condition=~Q(vat_number=""),
                name="company_unique_vat_per_workspace",
            )
        ]
        indexes = [models.Index(fields=["workspace", "name"], name="company_ws_name")]

    def __str__(self) -> str:
        return self.name


def email_marketing_granted(contact: str | OuterRef = "pk") -> Exists:
    """True when the contact (an outer reference: `"pk"` from a Contact query, `"contact_id"`
    from a row that points at one) has granted the `email_marketing` consent. One half of
    "emailable" (see `ContactQuerySet.emailable`), given on its own so a query over other rows
    (the mailing's deliveries) can tell "no email" from "no consent" in the same statement."""
    ref = contact if isinstance(contact, OuterRef) else OuterRef(contact)
    return Exists(
        Consent.all_workspaces.filter(
            contact_id=ref, purpose=Purpose.EMAIL_MARKETING, status=ConsentStatus.GRANTED
        )
    )


def emailable_q(contact: str = "pk", email: str = "email") -> Q:
    """The condition "may be sent marketing email", for a query whose rows are contacts (the
    defaults) or point at one (`contact="contact_id", email="contact__email"`)."""
    return ~Q(**{email: ""}) & Q(email_marketing_granted(contact))


class ContactQuerySet(WorkspaceQuerySet):
    def emailable(self) -> ContactQuerySet:
        """The contacts that may be sent marketing email: a non-empty email and a granted
        `email_marketing` consent (a contact who unsubscribed has it revoked; pending, denied or
        no record at all is not consent). The one definition of "emailable".

        What the contacts domain does not know is left to the sender: whether the address is
        well formed and whether it is on the emails domain's suppression list (bounces,
        complaints); `emails.sending` checks those when it claims a batch."""
        return self.filter(emailable_q())


class ContactManager(WorkspaceManager.from_queryset(ContactQuerySet)):  # type: ignore[misc]
    """`Contact.objects.for_workspace(ws).emailable()`; like every manager here, a query without
    a workspace (`Contact.objects.emailable()`) raises."""

    _queryset_class = ContactQuerySet


class Contact(WorkspaceScopedModel):
    """A person. `email` is stored normalised (trimmed, lowercase) and unique per workspace.

    Indexes are few on purpose: every one is paid for on each bulk import. The workspace's own
    index is left out because every composite index below starts with the workspace.
    """

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    objects = ContactManager()  # type: ignore[misc]  # the same manager, with emailable()

    email = models.CharField(_("email"), max_length=254, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    company = models.ForeignKey(
        Company,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,  # a partial index below: most rows have none, and each entry costs on import
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("CAP"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT")
    language = models.CharField(_("language"), max_length=8, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # a partial index below
    )
    tags = models.JSONField(default=list, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    # The stage values are volano.lifecycle.models.LifecycleStage; every change goes through
    # volano.lifecycle.services so it leaves a StageChange and a timeline event.
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, default="lead", db_default="lead"
    )
    lifecycle_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=~Q(email=""),
                name="contact_unique_email_per_workspace",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "province"], name="contact_ws_province"),
            models.Index(fields=["workspace", "created_at"], name="contact_ws_created"),
            models.Index(fields=["workspace", "lifecycle_stage"], name="contact_ws_stage"),
            models.Index(
                fields=["company"], condition=Q(company__isnull=False), name="contact_company"
            ),
            models.Index(fields=["owner"], condition=Q(owner__isnull=False), name="contact_owner"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Purpose(models.TextChoices):
    EMAIL_MARKETING = "email_marketing", _("Email marketing")
    PROFILING = "profiling", _("Profiling")
    THIRD_PARTY = "third_party", _("Third-party use")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PENDING = "pending", _("Awaiting confirmation")
    DENIED = "denied", _("Denied")
    REVOKED = "revoked", _("Revoked (unsubscribed)")


class Consent(WorkspaceScopedModel):
    """The current consent of a contact for one purpose, with its proof.

    Every change is also a `consent_changed` event on the timeline, so the history is kept there.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=60, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    form = models.CharField(max_length=100, blank=True)
    proof = models.TextField(blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "purpose"], name="consent_one_per_purpose")
        ]
        indexes = [
            models.Index(
                fields=["workspace", "purpose", "status"], name="consent_ws_purpose_status"
            )
        ]


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")


class Entity(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")


class CustomField(WorkspaceScopedModel):
    """A typed field a workspace adds to contacts or companies; values live in `custom[key]`."""

    entity = models.CharField(max_length=10, choices=Entity.choices, default=Entity.CONTACT)
    key = models.SlugField(max_length=60)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=14, choices=FieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "entity", "key"], name="custom_field_unique_key"
            )
        ]

    def __str__(self) -> str:
        return self.label
