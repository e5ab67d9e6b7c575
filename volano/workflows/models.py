"""Workflows: a definition (versioned), the contacts enrolled in it, and each step they ran.

Work that waits is a row: an Enrolment is at one step (`step`) due at `due_at`; the engine claims
due rows in batches and runs each step once per enrolment (StepRun's unique key). See
docs/workflows.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    PAUSED = "paused", _("Paused")


class Reenrolment(models.TextChoices):
    NEVER = "never", _("Never")
    AFTER_DAYS = "after_days", _("After some days")
    ALWAYS = "always", _("Always")


class Workflow(WorkspaceScopedModel):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(max_length=80)
    status = models.CharField(
        max_length=10, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT
    )
    # the definition being edited (what the next publish makes a version of), as it was given
    draft = models.JSONField(default=dict, blank=True)
    reenrolment = models.CharField(
        max_length=10, choices=Reenrolment.choices, default=Reenrolment.NEVER
    )
    reenrolment_days = models.PositiveIntegerField(default=0)
    published_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_reason = models.CharField(max_length=300, blank=True)
    # the published version's `category` (definition key): other workflows' suppression reads it
    category = models.SlugField(max_length=40, blank=True)
    # a date_property trigger: the last day (workspace time zone) its contacts were enrolled for
    date_checked_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="workflow_slug_once")
        ]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(WorkspaceScopedModel):
    """A published definition, frozen: `definition` is the pinned JSON as given, `graph` its
    normalised form (steps by key, each with where it goes next) that the engine runs."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    graph = models.JSONField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="workflow_version_once")
        ]


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")
    GOAL = "goal", _("Goal reached")


class Enrolment(WorkspaceScopedModel):
    """One contact's way through one version of a workflow. While active, `step` is the key of
    the step to run next and `due_at` when. The engine claims it by a row lock for one pass's
    transaction and writes no claim; a row stamped `claimed_at`/`by` (a lease) is skipped until
    the sweeper takes it back."""

    # no index of its own: enrolment_counts and enrolment_occurrence_once lead with workflow
    # (every index is written again by each step's UPDATE of 10,000 rows)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    occurrence = models.PositiveIntegerField(default=1)  # the contact's n-th enrolment here
    status = models.CharField(
        max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    step = models.CharField(max_length=80, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=40, blank=True)  # what enrolled it: the trigger, "api"…
    # when the enrolment reached its current step: a wait_for step counts events from then
    waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "contact"],
                condition=Q(status="active"),
                name="enrolment_one_active",
            ),
            models.UniqueConstraint(
                fields=["workflow", "contact", "occurrence"], name="enrolment_occurrence_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "due_at"],
                condition=Q(status="active"),
                name="enrolment_due",
            ),
            models.Index(fields=["workspace", "contact"], name="enrolment_contact"),
            models.Index(fields=["workflow", "status", "step"], name="enrolment_counts"),
        ]


class StepRun(WorkspaceScopedModel):
    """A step one enrolment ran, once: (enrolment, step, occurrence) is unique. `batch` names
    the engine pass that wrote it (not indexed: the engine acts on the ids its INSERT
    returned)."""

    # no index of its own: step_run_once leads with enrolment
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    step = models.CharField(max_length=80)
    occurrence = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=30)
    ran_at = models.DateTimeField()
    outcome = models.CharField(max_length=40, blank=True)  # the branch taken, "sent", …
    batch = models.CharField(max_length=40, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "step", "occurrence"], name="step_run_once"
            )
        ]


class WorkflowMailing(WorkspaceScopedModel):
    """The one mailing of a send step of a version (per enrolment occurrence, as a mailing
    writes to a contact once): each pass appends the contacts that reached the step."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=80)
    occurrence = models.PositiveIntegerField(default=1)
    mailing = models.ForeignKey("emails.Mailing", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "step", "occurrence"], name="workflow_mailing_once"
            )
        ]


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WebhookCall(WorkspaceScopedModel):
    """One call of a webhook step for one enrolment: a due row, retried with exponential
    backoff until it succeeds or runs out of attempts. The same `idempotency_key` (one per
    enrolment, step and occurrence) goes with every attempt, so the receiver can drop repeats."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=80)
    url = models.URLField(max_length=500)
    body = models.TextField()  # the JSON body as signed
    idempotency_key = models.CharField(max_length=120, unique=True)
    status = models.CharField(
        max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "due_at"],
                condition=Q(status="pending"),
                name="webhook_call_due",
            )
        ]


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class RepTask(WorkspaceScopedModel):
    """A task for a rep, created by a workflow's create_task step (one per enrolment, step and
    occurrence); the rep sees their open tasks under My tasks and marks them done."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dedup_key = models.CharField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "assignee", "status"], name="rep_task_open")]
