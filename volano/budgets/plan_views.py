"""Budget plan pages: the list with "start a plan" (empty, from a template, from last year's),
the plan as an editable grid (each cell saved in place with HTMX, the row, the totals and the
70/20/10 gauge answered back), planned vs actual vs forecast for a period, the lines shared with
sales, hours logged, and the history page (reviews and versions). Thin: selectors read, services
write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.budgets import plan_selectors as sel
from volano.budgets import plan_services as services
from volano.budgets.plan_api import plan_download
from volano.budgets.plan_models import MONTHS, CostItem, CostKind, Maturity, Team
from volano.budgets.plan_templates import TEMPLATES
from volano.campaigns.selectors import campaign_list
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.permissions import Cap, requires


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _plan(request: HttpRequest, plan_id: int) -> Any:
    try:
        return sel.plan_get(workspace=_ws(request), plan_id=plan_id)
    except NotFound:
        raise Http404("plan") from None


def _errors(failure: ApplicationError) -> list[str]:
    if isinstance(failure, ValidationFailed):
        return [e["message"] for e in failure.errors]
    return [failure.message]


def _choices() -> dict:
    return {
        "kinds": CostKind.choices,
        "items": CostItem.choices,
        "maturities": Maturity.choices,
        "teams": Team.choices,
    }


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def plan_list(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    errors: list[str] = []
    today = timezone.localdate()
    form = {"name": "", "year": str(today.year), "start": "template:b2b_manufacturer", "budget": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        start = form["start"]
        try:
            year = int(form["year"] or 0)
        except ValueError:
            year = 0
        data: dict[str, Any] = {"name": form["name"], "year": year}
        if form["budget"]:
            data["budget"] = form["budget"]
        kwargs: dict[str, Any] = {}
        if start.startswith("template:"):
            kwargs["template"] = start.split(":", 1)[1]
        elif start.startswith("plan:"):
            kwargs["from_plan"] = start.split(":", 1)[1]
        try:
            plan = services.plan_create(
                workspace=workspace, actor=request.user, data=data, **kwargs
            )
        except ApplicationError as failure:
            errors = _errors(failure)
        else:
            messages.success(request, _("Plan “%(name)s” made.") % {"name": plan.name})
            return redirect("budgets:plan", plan_id=plan.pk)
    plans = list(sel.plan_list(workspace=workspace))
    # A template's own amounts are a small firm's: with a plan already made, the budget field
    # starts at that plan's budget, so a template is scaled to what this workspace spends.
    budget_from = next((p for p in plans if p.budget > 0), None)
    if request.method != "POST" and budget_from is not None:
        form["budget"] = format(budget_from.budget.quantize(Decimal(1)), "f")
    rows = []
    for plan in plans:
        lines = sel.plan_lines(plan)
        rows.append(
            {"plan": plan, "totals": sel.plan_totals(plan, lines), "mix": sel.plan_mix(plan, lines)}
        )
    return render(
        request,
        "budgets/plans.html",
        {
            "rows": rows,
            "templates": TEMPLATES.values(),
            "previous": [(f"plan:{p.pk}", p) for p in plans],
            "form": form,
            "errors": errors,
            "budget_from": budget_from,
        },
        status=422 if errors else 200,
    )


def _period(request: HttpRequest, plan: Any, today: dt.date) -> str:
    period = request.GET.get("period", "")
    if period in sel.PERIODS:
        return period
    return f"q{(today.month - 1) // 3 + 1}" if today.year == plan.year else "year"


def _grid_context(plan: Any) -> dict:
    lines = sel.plan_lines(plan)
    totals = sel.plan_totals(plan, lines)
    mix = sel.plan_mix(plan, lines)
    return {
        "plan": plan,
        "lines": lines,
        "totals": totals,
        "mix": mix,
        "gauge": {
            "shares": mix["shares"],
            "targets": mix["targets"],
            "labels": {m: str(Maturity(m).label) for m in mix["targets"]},
            "warning": mix["warning"],
            "target_label": _("target"),
        },
        "month_names": [str(m)[:3] for m in sel.MONTH_NAMES],
        "month_full": [str(m) for m in sel.MONTH_NAMES],
        "month_fields": MONTHS,
        **_choices(),
    }


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def plan_page(request: HttpRequest, plan_id: int) -> HttpResponse:
    workspace = _ws(request)
    plan = _plan(request, plan_id)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "rebalance":
                services.plan_rebalance(workspace=workspace, actor=request.user, plan_id=plan.pk)
                messages.success(
                    request,
                    _("Plan rebalanced toward 70/20/10: record a review to keep this version."),
                )
            elif action == "add":
                services.line_add(
                    workspace=workspace,
                    actor=request.user,
                    plan_id=plan.pk,
                    data=_line_form(request.POST),
                )
                messages.success(request, _("Line added."))
            elif action == "log":
                services.time_log(
                    workspace=workspace,
                    actor=request.user,
                    data={
                        "person": request.POST.get("person", ""),
                        "day": request.POST.get("day", ""),
                        "hours": request.POST.get("hours", ""),
                        "activity": request.POST.get("activity", ""),
                        "line": request.POST.get("line", ""),
                    },
                )
                messages.success(request, _("Hours logged."))
            elif action == "delete":
                services.plan_delete(workspace=workspace, actor=request.user, plan_id=plan.pk)
                messages.success(request, _("Plan deleted."))
                return redirect("budgets:plans")
            elif action == "budget":
                services.plan_update(
                    workspace=workspace,
                    actor=request.user,
                    plan_id=plan.pk,
                    data={"budget": request.POST.get("budget", "")},
                )
        except ApplicationError as failure:
            errors = _errors(failure)
        else:
            period = request.GET.get("period", "")
            return redirect(request.path + (f"?period={period}" if period in sel.PERIODS else ""))
        plan = _plan(request, plan_id)
    today = timezone.localdate()
    period = _period(request, plan, today)
    figures = sel.plan_figures(plan, period=period, today=today)
    context = _grid_context(plan)
    context.update(
        errors=errors,
        period=period,
        periods=[("year", _("Year"))] + [(f"q{q}", f"Q{q}") for q in range(1, 5)],
        figures=figures,
        has_shared=any(line.team != Team.MARKETING for line in sel.plan_lines(plan)),
        people=[line for line in context["lines"] if line.kind == CostKind.PEOPLE],
        logs=sel.time_logs(workspace=workspace, plan=plan, limit=10),
        campaigns=campaign_list(workspace),
        channels=sorted(sel.channels_known(workspace)),
        chart={
            "kinds": [k["label"] for k in figures["kinds"]],
            "planned": [float(k["planned"]) for k in figures["kinds"]],
            "actual": [float(k["actual"]) for k in figures["kinds"]],
            "forecast": [float(k["forecast"]) for k in figures["kinds"]],
            "labels": {"planned": _("Planned"), "actual": _("Actual"), "forecast": _("Forecast")},
        },
        today=today,
        year_start=dt.date(plan.year, 1, 1),
        year_end=dt.date(plan.year, 12, 31),
    )
    return render(request, "budgets/plan.html", context, status=422 if errors else 200)


def _line_form(post: Any, line: Any = None) -> dict:
    """The line's fields from a form; months not in the form keep the line's amounts."""
    data: dict[str, Any] = {}
    for field in ("name", "kind", "item", "channel", "maturity", "team", "role", "activities"):
        if field in post:
            data[field] = post.get(field, "")
    for field in ("hours", "hourly_rate", "committed", "total"):
        if post.get(field, "").strip():
            data[field] = post.get(field)
    if "campaign" in post:
        data["campaign"] = post.get("campaign") or None
    if any(f in post for f in MONTHS):
        kept = line.months if line is not None else [0] * 12
        data["months"] = [
            (post.get(f, "") or "0") if f in post else str(kept[i]) for i, f in enumerate(MONTHS)
        ]
    return data


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def line_cell(request: HttpRequest, plan_id: int, line_id: int) -> HttpResponse:
    """One row of the grid saved (HTMX): answers the row, and out of band the totals and the
    gauge. A refused value answers the row as it was with the message."""
    workspace = _ws(request)
    plan = _plan(request, plan_id)
    errors: list[str] = []
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            try:
                services.line_delete(
                    workspace=workspace, actor=request.user, plan_id=plan.pk, line_id=line_id
                )
            except ApplicationError as failure:
                errors = _errors(failure)
            else:
                return _grid_fragment(request, plan, None, [])
        else:
            line = sel.line_get(plan=plan, line_id=line_id)
            data = _line_form(request.POST, line)
            if (
                line.kind == CostKind.PEOPLE
                and line.hourly_rate
                and {"hours", "hourly_rate"} & set(data)
            ):
                data.pop("months", None)  # hours × rate make a people line's months
            try:
                services.line_update(
                    workspace=workspace,
                    actor=request.user,
                    plan_id=plan.pk,
                    line_id=line_id,
                    data=data,
                )
            except ApplicationError as failure:
                errors = _errors(failure)
            else:
                if data.get("kind", line.kind) != line.kind:
                    # a line that became (or stopped being) people's time is drawn anew
                    response = HttpResponse(status=204)
                    response["HX-Refresh"] = "true"
                    return response
    plan = _plan(request, plan_id)
    try:
        line = sel.line_get(plan=plan, line_id=line_id)
    except NotFound:
        raise Http404("line") from None
    return _grid_fragment(request, plan, line, errors)


def _grid_fragment(request: HttpRequest, plan: Any, line: Any, errors: list[str]) -> HttpResponse:
    context = _grid_context(plan)
    context.update(line=line, row_errors=errors, oob=True)
    return render(request, "budgets/_plan_cell.html", context)


@requires(read=Cap.VIEW_MARKETING)
def plan_shared(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The lines shared with sales and what their campaigns returned, loaded after the page:
    finding each deal's and order's first campaign touch reads the contacts' events."""
    plan = _plan(request, plan_id)
    shared = sel.shared_report(plan, today=timezone.localdate())
    return render(request, "budgets/_plan_shared.html", {"plan": plan, "shared": shared})


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def plan_history(request: HttpRequest, plan_id: int) -> HttpResponse:
    workspace = _ws(request)
    plan = _plan(request, plan_id)
    errors: list[str] = []
    today = timezone.localdate()
    if request.method == "POST":
        raw = request.POST.get("date", "").strip()
        try:
            day = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            errors = [_("date: a date as YYYY-MM-DD")]
            day = None
        if not errors:
            try:
                review = services.review_record(
                    workspace=workspace,
                    actor=request.user,
                    plan_id=plan.pk,
                    notes=request.POST.get("notes", ""),
                    reviewed_on=day,
                )
            except ApplicationError as failure:
                errors = _errors(failure)
            else:
                if review.version_after != review.version_before:
                    messages.success(
                        request,
                        _("Review recorded; the plan was kept as version %(n)s.")
                        % {"n": review.version_after},
                    )
                else:
                    messages.success(
                        request,
                        _("Review recorded; the plan had not changed since the last version."),
                    )
                return redirect("budgets:plan_history", plan_id=plan.pk)
        plan = _plan(request, plan_id)
    reviews = []
    for review in sel.reviews(plan):
        reviews.append(
            {
                "review": review,
                "changes": [sel.change_text(c) for c in review.changes],
                "year": review.figures.get("year", {}).get("totals", {}),
                "quarter": review.figures.get("quarter", {}),
                "split": review.figures.get("split", {}),
            }
        )
    versions = []
    for version in sel.versions(plan):
        versions.append(
            {
                "version": version,
                "total": sum((Decimal(x["total"]) for x in version.lines), Decimal(0)),
                "lines": version.lines,
            }
        )
    pending = sel.lines_diff(versions[0]["lines"] if versions else [], services.plan_snapshot(plan))
    return render(
        request,
        "budgets/plan_history.html",
        {
            "plan": plan,
            "reviews": reviews,
            "versions": versions,
            "pending": [sel.change_text(c) for c in pending],
            "errors": errors,
            "today": today,
            "maturity_labels": dict(Maturity.choices),
            "kind_labels": dict(CostKind.choices),
        },
        status=422 if errors else 200,
    )


@requires(read=Cap.VIEW_MARKETING)
def plan_export(request: HttpRequest, plan_id: int, format: str) -> Any:
    plan = _plan(request, plan_id)
    if format not in ("csv", "xlsx"):
        raise Http404(format)
    return plan_download(plan, format)
