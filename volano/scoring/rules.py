"""A score model's definition (JSON) parsed and checked into typed rules.

```json
{"slug": "ricambi", "name": "Ricambi", "product_line": "ricambi", "rules": [
  {"kind": "fit", "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
   "points": 15},
  {"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30,
   "max_times": 2, "half_life_days": 60},
  {"kind": "negative", "when": {"field": "consent.email_marketing", "op": "eq",
   "value": "revoked"}, "points": -50}]}
```

A fit or negative rule adds its points when its condition holds. An engagement rule's `when` is
one event condition (type, `where`, `within_days` or `between`); over the contact's matching
events, newest first and at most `max_times` of them, it adds
`points × 0.5 ^ (age_days / half_life_days)` (no decay without a half-life). Every error names
the place: `rules[1].max_times: expected a whole number ≥ 1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy

from volano.conditions.compiler import NoReferences
from volano.conditions.selectors import condition_check
from volano.conditions.types import Condition, ConditionError, EventCondition
from volano.core.errors import ValidationFailed
from volano.core.models import Workspace
from volano.scoring.models import PREDICTIVE_SLUG

KINDS = ("fit", "engagement", "negative")
MAX_RULES = 50
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
MODEL_KEYS = ("slug", "name", "product_line", "rules", "active")
RULE_KEYS = ("kind", "when", "points", "max_times", "half_life_days", "label")
# What a rule's condition may name: fields and events, not lists or segments (segments read
# scores and are refreshed after them). Saving checks with it and sql.py runs with it.
SCORE_RULES = NoReferences(gettext_lazy("a scoring rule"))


@dataclass(frozen=True)
class Rule:
    kind: str
    condition: Condition
    points: float
    max_times: int | None = None
    half_life_days: float | None = None
    label: str = ""

    @property
    def event(self) -> EventCondition:
        assert isinstance(self.condition, EventCondition)
        return self.condition


@dataclass(frozen=True)
class ModelDefinition:
    slug: str
    name: str
    product_line: str
    rules: tuple[Rule, ...]
    active: bool = True


def model_definition_parse(data: Any, *, workspace: Workspace) -> ModelDefinition:
    """The typed model, or ValidationFailed listing every problem with its place."""
    errors: list[dict] = []

    def error(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not isinstance(data, dict):
        raise ValidationFailed([{"field": "body", "message": "expected a JSON object"}])
    for key in data:
        if key not in MODEL_KEYS:
            error(str(key), f"unknown key; use: {', '.join(MODEL_KEYS)}")
    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug):
        error("slug", "expected lowercase letters, digits and dashes (e.g. ricambi)")
    elif slug == PREDICTIVE_SLUG:
        error("slug", "'predictive' is the learned model's slug: train it with scoring train")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        error("name", "is required")
    elif len(name) > 120:
        error("name", "at most 120 characters")
    product_line = data.get("product_line") or ""
    if not isinstance(product_line, str):
        error("product_line", "expected a product line slug")
        product_line = ""
    raw_rules = data.get("rules")
    rules: list[Rule] = []
    if not isinstance(raw_rules, list) or not raw_rules:
        error("rules", "expected a non-empty list of rules")
        raw_rules = []
    elif len(raw_rules) > MAX_RULES:
        error("rules", f"at most {MAX_RULES} rules in a model")
    for index, raw in enumerate(raw_rules):
        rule = _rule(raw, f"rules[{index}]", workspace, error)
        if rule is not None:
            rules.append(rule)
    if errors:
        raise ValidationFailed(errors)
    return ModelDefinition(
        slug=str(slug),
        name=str(name).strip(),
        product_line=product_line.strip(),
        rules=tuple(rules),
        active=bool(data.get("active", True)),
    )


def _rule(raw: Any, path: str, workspace: Workspace, error: Any) -> Rule | None:
    if not isinstance(raw, dict):
        error(path, "expected an object with kind, when and points")
        return None
    ok = True
    for key in raw:
        if key not in RULE_KEYS:
            error(f"{path}.{key}", f"unknown key; use: {', '.join(RULE_KEYS)}")
            ok = False
    kind = raw.get("kind")
    if kind not in KINDS:
        error(f"{path}.kind", f"expected one of: {', '.join(KINDS)}")
        return None
    points = raw.get("points")
    if isinstance(points, bool) or not isinstance(points, int | float):
        error(f"{path}.points", "expected a number")
        ok = False
    elif kind == "negative" and points >= 0:
        error(f"{path}.points", "a negative rule takes points below 0 (e.g. -50)")
        ok = False
    elif kind != "negative" and points <= 0:
        error(f"{path}.points", f"a {kind} rule takes points above 0; use a negative rule")
        ok = False
    condition: Condition | None = None
    when = raw.get("when")
    if when in (None, {}, []):
        error(f"{path}.when", "is required: a condition")
    else:
        try:
            condition = condition_check(workspace=workspace, definition=when, resolver=SCORE_RULES)
        except ConditionError as problem:
            field = (problem.field or "conditions").replace("conditions", f"{path}.when", 1)
            error(field, problem.message)
    max_times = raw.get("max_times")
    half_life = raw.get("half_life_days")
    if kind == "engagement":
        if condition is not None and not isinstance(condition, EventCondition):
            error(f"{path}.when", 'an engagement rule counts one kind of event: {"event": …}')
            condition = None
        elif isinstance(condition, EventCondition) and (
            condition.count_given or condition.sum or condition.first or condition.last
        ):
            error(
                f"{path}.when",
                "an engagement rule scores each event: use max_times and half_life_days"
                " instead of count, sum, first or last",
            )
            condition = None
        if max_times is not None and (
            isinstance(max_times, bool) or not isinstance(max_times, int) or max_times < 1
        ):
            error(f"{path}.max_times", "expected a whole number ≥ 1")
            ok = False
        if half_life is not None and (
            isinstance(half_life, bool) or not isinstance(half_life, int | float) or half_life <= 0
        ):
            error(f"{path}.half_life_days", "expected a number of days above 0")
            ok = False
    else:
        for key, value in (("max_times", max_times), ("half_life_days", half_life)):
            if value is not None:
                error(f"{path}.{key}", "only engagement rules count events")
                ok = False
    label = raw.get("label") or ""
    if not isinstance(label, str) or len(label) > 200:
        error(f"{path}.label", "expected a text of at most 200 characters")
        ok = False
    if not ok or condition is None:
        return None
    return Rule(
        kind=kind,
        condition=condition,
        points=float(points),  # type: ignore[arg-type]
        max_times=max_times,
        half_life_days=float(half_life) if half_life is not None else None,
        label=label,
    )
