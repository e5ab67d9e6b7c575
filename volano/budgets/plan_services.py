"""Writes of budget plans: make a plan (empty, from a template, from last year's plan with its
actuals), add, change and remove lines, rebalance toward 70/20/10, log hours, record a review
(which keeps a version when the plan changed since the last one), delete a plan.

Every write checks its input and names what is wrong and where, in the user's language
(ValidationFailed with one entry per field); an activity row records who changed what."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.budgets import plan_selectors as sel
from volano.budgets.plan_models import (
    ITEMS_OF_KIND,
    MONTHS,
    CostKind,
    Maturity,
    Plan,
    PlanLine,
    PlanReview,
    PlanVersion,
    Team,
    TimeLog,
)
from volano.budgets.plan_templates import TEMPLATES, spread
from volano.campaigns.selectors import campaign_get
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from volano.core.models import Membership, Workspace
from volano.core.permissions import Cap, allows

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999")
MAX_LINES = 300
LINE_FIELDS = (
    "name",
    "kind",
    "item",
    "channel",
    "campaign",
    "maturity",
    "team",
    "role",
    "activities",
    "hours",
    "hourly_rate",
    "committed",
    "months",
    "total",
    "note",
)


def editor_check(workspace: Workspace, actor: Any) -> None:
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied(_("only administrators and marketers change budget plans"))


def month_label(index: int) -> str:
    return str(sel.MONTH_NAMES[index])


# "250.000" or "1.200.000" is how an Italian writes thousands: never €250 (as for goals)
ITALIAN_THOUSANDS = re.compile(r"-?\d{1,3}(\.\d{3})+")


def amount_parse(value: Any, field: str, errors: list[dict], *, label: str = "") -> Decimal | None:
    """An amount as a number or as typed in either language ("1.234,50", "1234.5", "€ 300");
    negative or not a number: an error naming `label` (or the field)."""
    what = label or field
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.append({"field": field, "message": _("%(what)s: not an amount") % {"what": what}})
        return None
    if isinstance(value, int | float | Decimal):
        text = str(value)
    else:
        text = str(value).strip().replace(" ", "").replace("€", "").replace("\u00a0", "")
        if "," in text or ITALIAN_THOUSANDS.fullmatch(text):  # "1.234,50" or "250.000"
            text = text.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors.append(
            {
                "field": field,
                "message": _("%(what)s: “%(value)s” is not an amount")
                % {"what": what, "value": value},
            }
        )
        return None
    if not amount.is_finite():
        errors.append({"field": field, "message": _("%(what)s: not an amount") % {"what": what}})
        return None
    if amount < 0:
        errors.append(
            {
                "field": field,
                "message": _("%(what)s: an amount cannot be negative (%(value)s)")
                % {"what": what, "value": value},
            }
        )
        return None
    if amount > MAX_AMOUNT:
        errors.append({"field": field, "message": _("%(what)s: too large") % {"what": what}})
        return None
    return amount.quantize(CENT)


def _text(data: dict, field: str, errors: list[dict], limit: int, label: str) -> str:
    value = data.get(field)
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        errors.append(
            {
                "field": field,
                "message": _("%(what)s: at most %(n)s characters") % {"what": label, "n": limit},
            }
        )
    return text[:limit]


def _choice(value: Any, choices: Any, field: str, errors: list[dict], label: str) -> str:
    text = str(value or "").strip()
    values = [c for c, _l in choices]
    if text not in values:
        errors.append(
            {
                "field": field,
                "message": _("%(what)s: “%(value)s” is not one of %(choices)s")
                % {"what": label, "value": text, "choices": ", ".join(v for v in values if v)},
            }
        )
        return values[0]
    return text


def line_clean(
    *, workspace: Workspace, data: dict, line: PlanLine | None = None, where: str = ""
) -> dict:
    """Check a line's fields (all of them for a new line, those given for a change) and return
    the values to store. `where` ("line 3: ") prefixes every message."""
    errors: list[dict] = []
    unknown = sorted(set(data) - set(LINE_FIELDS))
    if unknown:
        errors.append(
            {
                "field": unknown[0],
                "message": _("%(where)sunknown field “%(field)s”")
                % {"where": where, "field": unknown[0]},
            }
        )
    current: dict[str, Any] = {}
    if line is not None:
        current = {
            f: getattr(line, f) for f in LINE_FIELDS if f not in ("months", "total", "campaign")
        }
        current["campaign"] = line.campaign_id
        current["months"] = line.months
    merged = {**current, **data}
    out: dict[str, Any] = {}

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": f"{where}{message}"})

    if line is None or "name" in data:
        out["name"] = _text(merged, "name", errors, 200, _("name"))
        if not out["name"]:
            err("name", _("a line needs a name"))
    kind = str(merged.get("kind") or "")
    if line is None or "kind" in data:
        kind = _choice(kind, CostKind.choices, "kind", errors, _("kind"))
        out["kind"] = kind
    if line is None or {"item", "kind"} & set(data):
        item = str(merged.get("item") or "")
        if item not in ITEMS_OF_KIND.get(kind, {""}):
            err(
                "item",
                _("“%(item)s” is not an item of %(kind)s (one of: %(items)s)")
                % {
                    "item": item,
                    "kind": CostKind(kind).label if kind in CostKind.values else kind,
                    "items": ", ".join(sorted(i for i in ITEMS_OF_KIND.get(kind, {""}) if i))
                    or "—",
                },
            )
        out["item"] = item
    if line is None or "channel" in data:
        channel = str(merged.get("channel") or "").strip()
        if channel and channel not in sel.channels_known(workspace):
            err(
                "channel",
                _("unknown channel “%(channel)s”: use a channel group or a channel of your costs")
                % {"channel": channel},
            )
        out["channel"] = channel[:100]
    if line is None or "campaign" in data:
        raw = merged.get("campaign")
        if raw in (None, "", 0):
            out["campaign"] = None
        else:
            try:
                out["campaign"] = campaign_get(workspace=workspace, campaign_id=raw)
            except NotFound:
                err("campaign", _("no campaign %(id)s in this workspace") % {"id": raw})
    if line is None or "maturity" in data:
        out["maturity"] = _choice(
            merged.get("maturity") or Maturity.PROVEN,
            Maturity.choices,
            "maturity",
            errors,
            _("maturity"),
        )
    if line is None or "team" in data:
        out["team"] = _choice(
            merged.get("team") or Team.MARKETING, Team.choices, "team", errors, _("team")
        )
    for field, limit, label in (
        ("role", 100, _("role")),
        ("activities", 500, _("activities")),
        ("note", 500, _("note")),
    ):
        if line is None or field in data:
            out[field] = _text(merged, field, errors, limit, label)
    for field, label in (
        ("hours", _("hours")),
        ("hourly_rate", _("hourly rate")),
        ("committed", _("committed")),
    ):
        if line is None or field in data:
            value = amount_parse(merged.get(field), field, errors, label=f"{where}{label}")
            out[field] = value if value is not None else Decimal(0)
    hours = out.get("hours", merged.get("hours") or Decimal(0))
    rate = out.get("hourly_rate", merged.get("hourly_rate") or Decimal(0))
    people_cost = None
    if kind == CostKind.PEOPLE and hours and rate:
        people_cost = (Decimal(hours) * Decimal(rate)).quantize(CENT)
    months: list[Decimal] | None = None
    if "months" in data and data["months"] is not None:
        raw_months = data["months"]
        if not isinstance(raw_months, list | tuple) or len(raw_months) != 12:
            err("months", _("give twelve monthly amounts, January to December"))
        else:
            months = []
            for index, value in enumerate(raw_months):
                amount = amount_parse(
                    value or 0,
                    f"months.{index}",
                    errors,
                    label=f"{where}{month_label(index)}",
                )
                months.append(amount if amount is not None else Decimal(0))
    total = None
    if data.get("total") not in (None, ""):
        total = amount_parse(data.get("total"), "total", errors, label=f"{where}{_('total')}")
    if months is not None and total is not None and sum(months) != total:
        err(
            "total",
            _("the months add up to %(sum)s, not to the total %(total)s")
            % {"sum": sel.money_text(sum(months)), "total": sel.money_text(total)},
        )
    if months is None and total is not None:
        # a changed total keeps the line's months in proportion; a new one is spread evenly
        old = line.months if line is not None and line.total else None
        months = spread(total, tuple(float(m) for m in old) if old else (1,) * 12)
    if months is None and people_cost is not None and ({"hours", "hourly_rate"} & set(data)):
        old = line.months if line is not None else None
        if old and sum(old) > 0:
            months = spread(people_cost, tuple(float(m) for m in old))
        else:
            months = spread(people_cost, (1,) * 12)
    if months is None and line is None:
        months = [Decimal(0)] * 12
    if months is not None and people_cost is not None and sum(months) != people_cost:
        err(
            "months",
            _("%(hours)s hours × %(rate)s an hour make %(cost)s, but the months add up to %(sum)s")
            % {
                "hours": sel.number_text(hours),
                "rate": sel.money_text(rate),
                "cost": sel.money_text(people_cost),
                "sum": sel.money_text(sum(months)),
            },
        )
    if months is not None:
        for field, amount in zip(MONTHS, months, strict=True):
            out[field] = amount
    if errors:
        raise ValidationFailed(errors)
    return out


def _line_snapshot(line: PlanLine) -> dict:
    return {
        "id": line.pk,
        "name": line.name,
        "kind": line.kind,
        "item": line.item,
        "channel": line.channel,
        "campaign": line.campaign_id,
        "maturity": line.maturity,
        "team": line.team,
        "role": line.role,
        "hours": str(line.hours),
        "hourly_rate": str(line.hourly_rate),
        "committed": str(line.committed),
        "months": [str(m) for m in line.months],
        "total": str(line.total),
    }


def plan_snapshot(plan: Plan) -> list[dict]:
    return [
        _line_snapshot(line)
        for line in PlanLine.objects.for_workspace(plan.workspace_id)
        .filter(plan=plan)
        .order_by("position", "pk")
    ]


def _version_keep(plan: Plan, actor: Any, reason: str) -> PlanVersion:
    return PlanVersion.objects.create(
        workspace_id=plan.workspace_id,
        plan=plan,
        number=plan.version,
        lines=plan_snapshot(plan),
        budget=plan.budget,
        reason=reason,
        created_by=actor,
    )


def _plan_fields(workspace: Workspace, data: dict, plan: Plan | None = None) -> dict:
    errors: list[dict] = []
    out: dict[str, Any] = {}
    if plan is None or "name" in data:
        out["name"] = _text(data, "name", errors, 200, _("name"))
        if not out["name"]:
            errors.append({"field": "name", "message": _("a plan needs a name")})
    if plan is None or "year" in data:
        try:
            year = int(data.get("year") or 0)
        except (TypeError, ValueError):
            year = 0
        if not 2000 <= year <= 2100:
            errors.append({"field": "year", "message": _("the year must be between 2000 and 2100")})
        out["year"] = year
    if "budget" in data:
        budget = amount_parse(data.get("budget"), "budget", errors, label=_("budget"))
        out["budget"] = budget if budget is not None else Decimal(0)
    if "notes" in data:
        out["notes"] = _text(data, "notes", errors, 5000, _("notes"))
    name = out.get("name")
    if name:
        clash = Plan.objects.for_workspace(workspace).filter(
            name__iexact=name, deleted_at__isnull=True
        )
        if plan is not None:
            clash = clash.exclude(pk=plan.pk)
        if clash.exists():
            errors.append(
                {
                    "field": "name",
                    "message": _("there is already a plan called “%(name)s”") % {"name": name},
                }
            )
    if errors:
        raise ValidationFailed(errors)
    return out


def _lines_write(workspace: Workspace, plan: Plan, rows: list[dict]) -> list[PlanLine]:
    if len(rows) > MAX_LINES:
        raise ValidationFailed(
            [{"field": "lines", "message": _("at most %(n)s lines") % {"n": MAX_LINES}}]
        )
    errors: list[dict] = []
    cleaned = []
    for index, row in enumerate(rows):
        try:
            cleaned.append(
                line_clean(
                    workspace=workspace, data=row, where=_("line %(n)s: ") % {"n": index + 1}
                )
            )
        except ValidationFailed as failure:
            for e in failure.errors:
                errors.append({**e, "field": f"lines.{index}.{e.get('field')}"})
    if errors:
        raise ValidationFailed(errors)
    return PlanLine.objects.bulk_create(
        [
            PlanLine(workspace=workspace, plan=plan, position=(index + 1) * 10, **values)
            for index, values in enumerate(cleaned)
        ]
    )


def _template_rows(key: str, budget: Decimal | None) -> tuple[list[dict], Decimal]:
    template = TEMPLATES.get(key)
    if template is None:
        raise ValidationFailed(
            [
                {
                    "field": "template",
                    "message": _("no template “%(key)s” (one of: %(keys)s)")
                    % {"key": key, "keys": ", ".join(TEMPLATES)},
                }
            ]
        )
    factor = (budget / template.total) if budget else Decimal(1)
    rows = []
    for tl in template.lines:
        row: dict[str, Any] = {
            "name": tl.name,
            "kind": tl.kind,
            "item": tl.item,
            "channel": tl.channel,
            "maturity": tl.maturity,
            "team": tl.team,
            "role": tl.role,
            "activities": tl.activities,
        }
        if tl.kind == CostKind.PEOPLE:
            hours = (Decimal(tl.hours) * factor).quantize(Decimal(1))
            row["hours"] = hours
            row["hourly_rate"] = Decimal(tl.rate)
            row["months"] = spread((hours * tl.rate).quantize(CENT), tl.pattern)
        else:
            row["months"] = spread((Decimal(tl.amount) * factor).quantize(Decimal(1)), tl.pattern)
        rows.append(row)
    total = sum((sum(r["months"]) for r in rows), Decimal(0))
    reserve = next((r for r in rows if r["kind"] == CostKind.RESERVE), None)
    if budget and reserve is not None and total != budget:
        # the euros of rounding go to the reserve, so the plan adds up to the budget
        amount = sum(reserve["months"]) + budget - total
        reserve["months"] = spread(max(amount, Decimal(0)), (1,) * 12)
        total = sum((sum(r["months"]) for r in rows), Decimal(0))
    return rows, total


def _last_year_rows(workspace: Workspace, source: Plan, today: dt.date) -> list[dict]:
    """Last year's lines with what was actually spent on each, month by month (the plan where a
    month had no actual yet, for a plan whose year is not over)."""
    figures = sel.plan_actuals_by_month(source, today=today)
    rows = []
    for line in (
        PlanLine.objects.for_workspace(workspace)
        .filter(plan=source)
        .select_related("campaign")
        .order_by("position", "pk")
    ):
        actual = figures.get(line.pk)
        if actual is not None and sum(actual) > 0:
            months = [a.quantize(CENT) for a in actual]
        else:
            months = line.months
        row: dict[str, Any] = {
            "name": line.name,
            "kind": line.kind,
            "item": line.item,
            "channel": line.channel,
            "campaign": line.campaign_id,
            "maturity": line.maturity,
            "team": line.team,
            "role": line.role,
            "activities": line.activities,
            "months": months,
            "note": line.note,
        }
        if line.kind == CostKind.PEOPLE and line.hourly_rate:
            row["hourly_rate"] = line.hourly_rate
            row["hours"] = (sum(months) / line.hourly_rate).quantize(CENT)
            row["months"] = spread(
                (row["hours"] * line.hourly_rate).quantize(CENT), tuple(float(m) for m in months)
            )
        if row["channel"] and row["channel"] not in sel.channels_known(workspace):
            row["channel"] = ""
        rows.append(row)
    return rows


def plan_create(
    *,
    workspace: Workspace,
    actor: Any,
    data: dict,
    lines: list[dict] | None = None,
    template: str = "",
    from_plan: Any = None,
    today: dt.date | None = None,
) -> Plan:
    """Make a plan: with the `lines` given, from a `template` (scaled to `data["budget"]` when
    given), or from a previous plan (`from_plan`, its id) with its actuals as the new amounts."""
    editor_check(workspace, actor)
    today = today or timezone.localdate()
    fields = _plan_fields(workspace, data)
    budget = fields.get("budget") or None
    source = None
    reason = _("plan made")
    if template:
        rows, _total = _template_rows(template, budget)
        reason = _("made from the template “%(name)s”") % {"name": TEMPLATES[template].title}
    elif from_plan:
        source = sel.plan_get(workspace=workspace, plan_id=from_plan)
        rows = _last_year_rows(workspace, source, today)
        reason = _("made from “%(name)s” with its actuals") % {"name": source.name}
    else:
        rows = list(lines or [])
    with transaction.atomic():
        plan = Plan.objects.create(
            workspace=workspace,
            created_by=actor,
            template=template,
            source_plan=source,
            **fields,
        )
        created = _lines_write(workspace, plan, rows)
        if not plan.budget:
            plan.budget = sum((line.total for line in created), Decimal(0))
            plan.save(update_fields=["budget"])
        _version_keep(plan, actor, reason)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_created",
            obj=plan,
            changes={
                "name": plan.name,
                "year": plan.year,
                "template": template,
                "lines": len(created),
            },
        )
    return plan


def _touch(plan: Plan) -> None:
    plan.updated_at = timezone.now()
    plan.save(update_fields=["updated_at"])


def plan_update(*, workspace: Workspace, actor: Any, plan_id: Any, data: dict) -> Plan:
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    unknown = sorted(set(data) - {"name", "year", "budget", "notes"})
    if unknown:
        raise ValidationFailed(
            [
                {
                    "field": unknown[0],
                    "message": _("unknown field “%(field)s”") % {"field": unknown[0]},
                }
            ]
        )
    fields = _plan_fields(workspace, data, plan)
    with transaction.atomic():
        before = {k: str(getattr(plan, k)) for k in fields}
        for key, value in fields.items():
            setattr(plan, key, value)
        plan.updated_at = timezone.now()
        plan.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_changed",
            obj=plan,
            changes={k: [before[k], str(v)] for k, v in fields.items() if before[k] != str(v)},
        )
    return plan


def plan_delete(*, workspace: Workspace, actor: Any, plan_id: Any) -> None:
    """Deleted plans are kept out of sight (their history stays readable through the activity
    log); a review can no longer be recorded on them."""
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    with transaction.atomic():
        plan.deleted_at = timezone.now()
        plan.save(update_fields=["deleted_at"])
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_deleted",
            obj=plan,
            changes={"name": plan.name},
        )


def line_add(*, workspace: Workspace, actor: Any, plan_id: Any, data: dict) -> PlanLine:
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    values = line_clean(workspace=workspace, data=data)
    with transaction.atomic():
        count = PlanLine.objects.for_workspace(workspace).filter(plan=plan).count()
        if count >= MAX_LINES:
            raise ValidationFailed(
                [{"field": "lines", "message": _("at most %(n)s lines") % {"n": MAX_LINES}}]
            )
        last = (
            PlanLine.objects.for_workspace(workspace)
            .filter(plan=plan)
            .aggregate(m=Max("position"))["m"]
        )
        line = PlanLine.objects.create(
            workspace=workspace, plan=plan, position=(last or 0) + 10, **values
        )
        _touch(plan)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_line_added",
            obj=plan,
            changes={"line": line.name, "total": str(line.total)},
        )
    return line


def line_update(
    *, workspace: Workspace, actor: Any, plan_id: Any, line_id: Any, data: dict
) -> PlanLine:
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    line = sel.line_get(plan=plan, line_id=line_id)
    values = line_clean(workspace=workspace, data=data, line=line)
    with transaction.atomic():
        before = _line_snapshot(line)
        for key, value in values.items():
            setattr(line, key, value)
        line.save()
        _touch(plan)
        after = _line_snapshot(line)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_line_changed",
            obj=plan,
            changes={
                "line": line.name,
                **{k: [before[k], after[k]] for k in after if before[k] != after[k] and k != "id"},
            },
        )
    return line


def line_delete(*, workspace: Workspace, actor: Any, plan_id: Any, line_id: Any) -> None:
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    line = sel.line_get(plan=plan, line_id=line_id)
    with transaction.atomic():
        name, total = line.name, line.total
        line.delete()
        _touch(plan)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_line_removed",
            obj=plan,
            changes={"line": name, "total": str(total)},
        )


def plan_rebalance(*, workspace: Workspace, actor: Any, plan_id: Any) -> Plan:
    """Move money between proven, new and experiment lines so the plan's split (the reserve
    aside) becomes 70/20/10 and its total stays the same: each group's lines are scaled by the
    same factor (people's lines by their hours)."""
    editor_check(workspace, actor)
    plan = sel.plan_get(workspace=workspace, plan_id=plan_id)
    lines = [
        line
        for line in PlanLine.objects.for_workspace(workspace)
        .filter(plan=plan)
        .order_by("position", "pk")
        if line.kind != CostKind.RESERVE
    ]
    groups: dict[str, list[PlanLine]] = {m: [] for m in sel.TARGETS}
    for line in lines:
        groups[line.maturity].append(line)
    total = sum((line.total for line in lines), Decimal(0))
    missing = [
        str(Maturity(m).label)
        for m, group in groups.items()
        if sum((x.total for x in group), Decimal(0)) == 0
    ]
    if total == 0 or missing:
        raise ApplicationError(
            _(
                "To rebalance, the plan needs an amount on lines marked %(missing)s: mark a line so or add one."
            )
            % {"missing": ", ".join(f"“{m}”" for m in missing) or _("proven, new and experiment")},
            field="maturity",
        )
    before = sel.plan_mix(plan)
    with transaction.atomic():
        for maturity, group in groups.items():
            current = sum((x.total for x in group), Decimal(0))
            target = (total * Decimal(str(sel.TARGETS[maturity]))).quantize(CENT)
            if maturity == Maturity.EXPERIMENT:
                target = total - sum(
                    (total * Decimal(str(sel.TARGETS[m]))).quantize(CENT)
                    for m in sel.TARGETS
                    if m != maturity
                )
            factor = target / current
            totals: dict[int, Decimal] = {}
            for line in group:
                if line.kind == CostKind.PEOPLE and line.hourly_rate:
                    line.hours = (line.hours * factor).quantize(CENT)
                    totals[line.pk] = (line.hours * line.hourly_rate).quantize(CENT)
                else:
                    totals[line.pk] = (line.total * factor).quantize(Decimal(1))
            others = [x for x in group if not (x.kind == CostKind.PEOPLE and x.hourly_rate)]
            if others:  # the cents of rounding go to the group's largest line that is not hours
                largest = max(others, key=lambda x: totals[x.pk])
                totals[largest.pk] += target - sum(totals.values())
            for line in group:
                pattern = tuple(float(m) for m in line.months)
                months = spread(totals[line.pk], pattern)
                for field, amount in zip(MONTHS, months, strict=True):
                    setattr(line, field, amount)
                line.save()
        _touch(plan)
        after = sel.plan_mix(plan)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_rebalanced",
            obj=plan,
            changes={
                m: [round(before["shares"][m] * 100, 1), round(after["shares"][m] * 100, 1)]
                for m in sel.TARGETS
            },
        )
    return plan


def review_record(
    *,
    workspace: Workspace,
    actor: Any,
    plan_id: Any,
    notes: str = "",
    reviewed_on: dt.date | None = None,
    today: dt.date | None = None,
) -> PlanReview:
    """Record a review: the notes, the figures on the day (planned, actual, forecast per line,
    for the year and the quarter) and the changes since the last version; when there are
    changes, the plan as it is now is kept as a new version."""
    editor_check(workspace, actor)
    try:
        plan = sel.plan_get(workspace=workspace, plan_id=plan_id, deleted=True)
    except NotFound:
        raise NotFound(_("no such plan in this workspace"), field="plan") from None
    if plan.deleted_at is not None:
        raise ApplicationError(
            _("The plan “%(name)s” was deleted: a review cannot be recorded on it.")
            % {"name": plan.name},
            field="plan",
        )
    today = today or timezone.localdate()
    reviewed_on = reviewed_on or today
    errors: list[dict] = []
    notes = _text({"notes": notes}, "notes", errors, 5000, _("notes"))
    if reviewed_on > today:
        errors.append({"field": "date", "message": _("a review cannot be dated in the future")})
    if reviewed_on.year < plan.year - 1 or reviewed_on.year > plan.year + 1:
        errors.append(
            {
                "field": "date",
                "message": _("the review date must be near the plan's year (%(year)s)")
                % {"year": plan.year},
            }
        )
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        plan = Plan.objects.for_workspace(workspace).select_for_update().get(pk=plan.pk)
        last = (
            PlanVersion.objects.for_workspace(workspace)
            .filter(plan=plan)
            .order_by("-number")
            .first()
        )
        now_lines = plan_snapshot(plan)
        changes = sel.lines_diff(last.lines if last else [], now_lines)
        if last is not None and last.budget != plan.budget:
            changes.insert(
                0, {"what": "budget", "before": str(last.budget), "after": str(plan.budget)}
            )
        before = plan.version
        if changes:
            plan.version = before + 1
            plan.save(update_fields=["version"])
            _version_keep(plan, actor, _("review of %(day)s") % {"day": reviewed_on.isoformat()})
        figures = sel.review_figures(plan, today=reviewed_on)
        review = PlanReview.objects.create(
            workspace=workspace,
            plan=plan,
            reviewed_on=reviewed_on,
            notes=notes,
            figures=figures,
            changes=changes,
            version_before=before,
            version_after=plan.version,
            created_by=actor,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.plan_reviewed",
            obj=plan,
            changes={"review": review.pk, "changes": len(changes), "version": plan.version},
        )
    return review


def time_log(*, workspace: Workspace, actor: Any, data: dict) -> TimeLog:
    """Log hours: who, role, day, hours, activity, the plan line they go to (a people line) and
    optionally the hourly rate (else the line's)."""
    editor_check(workspace, actor)
    errors: list[dict] = []
    unknown = sorted(
        set(data) - {"person", "role", "day", "hours", "hourly_rate", "activity", "line"}
    )
    if unknown:
        errors.append(
            {"field": unknown[0], "message": _("unknown field “%(field)s”") % {"field": unknown[0]}}
        )
    person = _text(data, "person", errors, 200, _("who"))
    if not person and actor is not None:
        person = getattr(actor, "full_name", "") or getattr(actor, "email", "")
    if not person:
        errors.append({"field": "person", "message": _("say who spent the hours")})
    role = _text(data, "role", errors, 100, _("role"))
    activity = _text(data, "activity", errors, 300, _("activity"))
    hours = amount_parse(data.get("hours"), "hours", errors, label=_("hours"))
    if hours is None and not any(e["field"] == "hours" for e in errors):
        errors.append({"field": "hours", "message": _("hours: say how many")})
    elif hours is not None and (hours == 0 or hours > 24):
        errors.append({"field": "hours", "message": _("hours: between 0 and 24 in a day")})
    rate = amount_parse(data.get("hourly_rate"), "hourly_rate", errors, label=_("hourly rate"))
    day = data.get("day")
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day.strip())
        except ValueError:
            errors.append({"field": "day", "message": _("day: a date as YYYY-MM-DD")})
            day = None
    if not isinstance(day, dt.date):
        if not any(e["field"] == "day" for e in errors):
            errors.append({"field": "day", "message": _("day: a date as YYYY-MM-DD")})
        day = None
    line = None
    if data.get("line") not in (None, "", 0):
        try:
            line = sel.line_any(workspace=workspace, line_id=data["line"])
        except NotFound:
            errors.append(
                {
                    "field": "line",
                    "message": _("no plan line %(id)s in this workspace") % {"id": data["line"]},
                }
            )
        else:
            if line.kind != CostKind.PEOPLE:
                errors.append(
                    {
                        "field": "line",
                        "message": _("“%(name)s” is not a line of people's time")
                        % {"name": line.name},
                    }
                )
            if not role:
                role = line.role
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        entry = TimeLog.objects.create(
            workspace=workspace,
            line=line,
            user=actor if actor is not None and not data.get("person") else None,
            person=person,
            role=role,
            day=day,
            hours=hours,
            hourly_rate=rate,
            activity=activity,
            created_by=actor,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.time_logged",
            obj=entry,
            changes={
                "person": person,
                "hours": str(hours),
                "day": str(day),
                "line": line.name if line else "",
            },
        )
    return entry


def time_log_delete(*, workspace: Workspace, actor: Any, log_id: Any) -> None:
    editor_check(workspace, actor)
    entry = sel.time_log_get(workspace=workspace, log_id=log_id)
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="budgets.time_log_removed",
            obj=entry,
            changes={"person": entry.person, "hours": str(entry.hours), "day": str(entry.day)},
        )
        entry.delete()
