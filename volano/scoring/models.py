from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel

PREDICTIVE_SLUG = "predictive"


class ModelKind(models.TextChoices):
    RULES = "rules", _("Rules")
    PREDICTIVE = "predictive", _("Predictive")


class ScoreModel(WorkspaceScopedModel):
    """A way to score contacts: rules (fit, engagement, negative) or the learned predictive model.

    `rules` is the JSON list of the model definition. A predictive model keeps its fitted
    estimator in `trained` (joblib bytes written by Volano itself) and its evaluation in `report`.
    """

    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(max_length=12, choices=ModelKind.choices, default=ModelKind.RULES)
    product_line = models.CharField(_("product line"), max_length=60, blank=True)
    rules = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    trained = models.BinaryField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="score_model_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name


class Score(WorkspaceScopedModel):
    """A contact's current score in one model; `parts` holds the points of each rule, in order.

    A contact without a row has 0 points. For the predictive model `points` is the probability.
    """

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="scores")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    points = models.FloatField(default=0)
    parts = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "contact"], name="score_one_per_model")
        ]
        # No index on points: a recompute rewrites most scores (decay moves them every day), and
        # with no indexed column changing PostgreSQL updates them in place (HOT, fillfactor 80).
        indexes = [models.Index(fields=["contact"], name="score_contact")]
