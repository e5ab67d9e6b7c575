"""/api/v1 lifecycle: stages and their names, a contact's stage history, threshold rules, the
funnel report. A contact's stage itself is changed with PATCH /contacts/{id}
{"lifecycle_stage": "sql", "lifecycle_reason": "…"} (recorded like any other change)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from volano.contacts.selectors import contact_get
from volano.core.api_input import ApiInput as Strict
from volano.core.errors import ApplicationError
from volano.lifecycle import selectors, services
from volano.lifecycle.models import StageName, ThresholdRule
from volano.lifecycle.report import report_sections

router = Router(tags=["lifecycle"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.api_token.user  # type: ignore[attr-defined]


class StageOut(Schema):
    stage: str
    name: str
    contacts: int


class StageNameIn(Strict):
    stored_in = StageName

    name: str


class StageChangeOut(Schema):
    from_stage: str
    to_stage: str
    changed_at: dt.datetime
    source: str
    actor: str | None
    rule: str | None
    reason: str

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return obj.actor.email if obj.actor else None

    @staticmethod
    def resolve_rule(obj) -> str | None:
        return obj.rule.name if obj.rule else None


class ThresholdRuleIn(Strict):
    stored_in = ThresholdRule

    name: str
    from_stages: list[str]
    to_stage: str
    condition: Any
    product_line: str = ""
    position: int | None = None
    active: bool = True


class ThresholdRuleOut(Schema):
    id: int
    name: str
    position: int
    from_stages: list[str]
    to_stage: str
    condition: Any
    product_line: str
    active: bool
    disabled_reason: str
    disabled_at: dt.datetime | None


@router.get("/lifecycle/stages", response=list[StageOut], summary="Stages, names and counts")
def stages_list(request: HttpRequest):
    names = selectors.stage_names(workspace=_ws(request))
    counts = selectors.stage_counts(workspace=_ws(request))
    return [{"stage": s, "name": n, "contacts": counts[s]} for s, n in names.items()]


@router.put("/lifecycle/stages/{stage}", response=StageOut, summary="Rename a stage")
def stages_rename(request: HttpRequest, stage: str, payload: StageNameIn):
    services.stage_rename(
        workspace=_ws(request), actor=_actor(request), stage=stage, name=payload.name
    )
    names = selectors.stage_names(workspace=_ws(request))
    counts = selectors.stage_counts(workspace=_ws(request))
    return {"stage": stage, "name": names[stage], "contacts": counts[stage]}


@router.get(
    "/contacts/{contact_id}/stage-changes",
    response=list[StageChangeOut],
    summary="A contact's stage history, newest first",
)
def contact_stage_changes(request: HttpRequest, contact_id: int):
    contact = contact_get(workspace=_ws(request), contact_id=contact_id)
    return list(selectors.stage_history(workspace=_ws(request), contact=contact))


@router.get("/threshold-rules", response=list[ThresholdRuleOut], summary="Threshold rules in order")
def threshold_rules_list(request: HttpRequest):
    return list(selectors.threshold_rules(workspace=_ws(request)))


@router.post("/threshold-rules", response={201: ThresholdRuleOut}, summary="Add a threshold rule")
def threshold_rules_create(request: HttpRequest, payload: ThresholdRuleIn):
    rule = services.threshold_rule_save(
        workspace=_ws(request), actor=_actor(request), data=payload.model_dump(exclude_unset=True)
    )
    return 201, rule


@router.get("/threshold-rules/{threshold_rule_id}", response=ThresholdRuleOut, summary="Get a rule")
def threshold_rules_get(request: HttpRequest, threshold_rule_id: int):
    return selectors.threshold_rule_get(workspace=_ws(request), rule_id=threshold_rule_id)


@router.put(
    "/threshold-rules/{threshold_rule_id}", response=ThresholdRuleOut, summary="Replace a rule"
)
def threshold_rules_put(request: HttpRequest, threshold_rule_id: int, payload: ThresholdRuleIn):
    rule: ThresholdRule = selectors.threshold_rule_get(
        workspace=_ws(request), rule_id=threshold_rule_id
    )
    return services.threshold_rule_save(
        workspace=_ws(request),
        actor=_actor(request),
        data=payload.model_dump(exclude_unset=True),
        rule=rule,
    )


@router.delete(
    "/threshold-rules/{threshold_rule_id}", response={204: None}, summary="Delete a rule"
)
def threshold_rules_delete(request: HttpRequest, threshold_rule_id: int):
    rule = selectors.threshold_rule_get(workspace=_ws(request), rule_id=threshold_rule_id)
    services.threshold_rule_delete(workspace=_ws(request), actor=_actor(request), rule=rule)
    return 204, None


@router.get("/reports/funnel", summary="Funnel conversion and time in stage for a period")
def funnel(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None):
    """Defaults to the last 90 days. Each stage counts the contacts that passed it in the period:
    reached it or a later stage of the funnel (a lead made a customer in one step passed MQL,
    SQL and opportunity too), so no stage counts more than the one before. See
    docs/lifecycle.md for what each number counts."""
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=89)
    if start > end:
        raise ApplicationError("start is after end", field="start")
    report = selectors.funnel_report(workspace=_ws(request), start=start, end=end)
    for name, section in report_sections().items():
        report[name] = section(workspace=_ws(request), start=start, end=end)
    return report
