from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    ORDERS = "orders", _("Orders")


class ImportStatus(models.TextChoices):
    READING = "reading", _("Reading the file")  # the worker reads the header and first rows
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(WorkspaceScopedModel):
    """One uploaded file going through mapping, dry run and import; its report stays here."""

    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    dry_run = models.BooleanField(default=False)
    mapping = models.JSONField(default=dict, blank=True)
    # The header and the first rows (cells cut short), read by the worker for the mapping page:
    # the web process never parses an uploaded file.
    headers = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)  # rows expected, for the progress bar
    # Rows read up to the end of the last chunk written; with the counts below, saved in each
    # chunk's own transaction, so they say what is in the database even after a crash.
    processed = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)  # where a re-queued job resumes
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    unmapped = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    # Written by the running worker at least every chunk: a "running" job whose heartbeat is
    # old has lost its worker (see `import_jobs_dead_sweep`).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started since the last enqueue
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.filename}"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(99, int(100 * self.processed / self.total)) if self.total else 0

    @property
    def is_active(self) -> bool:
        return self.status in {ImportStatus.QUEUED, ImportStatus.RUNNING}
