"""What attribution keeps: the reports' credits, computed once and kept until their inputs
change (`volano.attribution.cache`). The app writes nothing else."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from volano.core.tenancy import WorkspaceScopedModel


class InputsGeneration(WorkspaceScopedModel):
    """A counter per workspace, raised (after commit, by `reactions.py`) whenever something an
    attribution reads changes: touches, contacts created, stage changes, deals, orders, merges.
    A kept result is current while its generation equals this one."""

    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="attrib_generation_one_per_ws")
        ]


class CreditCache(WorkspaceScopedModel):
    """One report's attributed credits ({bucket: {key: {conversion: value}}}) for one set of
    parameters (`signature`: a hash of the model, dimension, conversions, period, granularity,
    lookback, model parameters and the workspace's channel rules), as of `generation`.
    `refresh_enqueued_at`: when a background recomputation of a stale result was enqueued
    (`cache.kept_or_stale`), so that the readers of a stale result enqueue one, not one each."""

    signature = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    generation = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(default=0)
    refresh_enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "signature"], name="attrib_cache_one_per_signature"
            )
        ]


class CreditDay(WorkspaceScopedModel):
    """One day's attributed credits under an additive model (`volano.attribution.daily`): the
    conversions of that day (its leads, MQLs, SQLs, customers and revenue) credited to their
    journeys' keys, {key: {conversion: value}}. `signature` hashes the model, dimension,
    lookback, model parameters, time zone and channel rules. Current while no `CreditDayMark`
    with a larger generation covers the day."""

    signature = models.CharField(max_length=64)
    day = models.DateField()
    generation = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "signature", "day"], name="attrib_day_one_per_signature"
            )
        ]


class CreditDayMark(WorkspaceScopedModel):
    """Days whose kept credits an input change may have moved: every `CreditDay` of the
    workspace from `first_day` to `last_day` kept at a generation below `generation` is stale."""

    generation = models.BigIntegerField()
    first_day = models.DateField()
    last_day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "generation"], name="attrib_daymark_ws_gen"),
        ]
