from __future__ import annotations

from django.db import models


class SweeperState(models.Model):
    """The installation's one sweeper: who holds its lease, until when, and how far its pass over
    the tracked page views has read the event store (so a restart resumes where it stopped)."""

    name = models.CharField(max_length=40, primary_key=True)
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    event_cursor = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.lease_owner or 'nobody'} until {self.lease_until}"
