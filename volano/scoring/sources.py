"""The `score.<slug>` field of the condition language and the names of the score models,
registered from ScoringConfig.ready."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from volano.conditions.compiler import number_holds, number_test
from volano.conditions.sources import FieldSource, field_source_register, names_source_register
from volano.core.models import Workspace
from volano.scoring.models import Score, ScoreModel
from volano.scoring.selectors import score_model_slugs


def _keys(workspace: Workspace) -> set[str]:
    return score_model_slugs(workspace=workspace)


def _unknown(key: str, known: list[str]) -> str:
    return _("unknown score model %(model)s (this workspace has: %(known)s)") % {
        "model": repr(key),
        "known": ", ".join(known) or _("none yet"),
    }


def _compile(workspace: Workspace, slug: str, op: str, value: Any) -> Q:
    """A contact without a score row has 0 points: when 0 passes the test, the contacts that
    match are those without a failing row, else those with a passing one."""
    # EXISTS on the contact's own row (the (model, contact) unique index): for a few contacts
    # a probe each, for all of them a semi-join; an IN list would read every score first.
    model = ScoreModel.objects.for_workspace(workspace).filter(slug=slug).values("pk")
    scores = Score.objects.for_workspace(workspace).filter(
        model_id=Subquery(model[:1]), contact_id=OuterRef("pk")
    )
    test = number_test(F("points"), op, value)
    if number_holds(op, value, 0.0):
        return ~Q(Exists(scores.exclude(test)))
    return Q(Exists(scores.filter(test)))


def _names(workspace: Workspace) -> dict[str, str]:
    return dict(ScoreModel.objects.for_workspace(workspace).values_list("slug", "name"))


def register() -> None:
    names_source_register("score_models", _names)
    field_source_register(
        FieldSource(prefix="score", kind="score", keys=_keys, unknown=_unknown, compile=_compile)
    )
