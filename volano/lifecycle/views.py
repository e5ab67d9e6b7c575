"""Lifecycle pages: the funnel report for a period (with the hand-off to sales) and the
workspace's names for the stages. Parse, call a selector or a service, render."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from volano.core.errors import ApplicationError
from volano.core.forms import DateInput
from volano.core.models import User
from volano.core.permissions import Cap, allows, requires
from volano.lifecycle import selectors, services
from volano.lifecycle.models import FUNNEL, LifecycleStage
from volano.lifecycle.report import report_section

PRESETS = ("30", "90", "year")
DEFAULT_PRESET = "90"
MAX_MONTHS = 36


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"),
        widget=DateInput(),
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The end of the period comes before its start."))
        return data


def _today(workspace) -> dt.date:
    return timezone.localdate(timezone=ZoneInfo(workspace.time_zone))


def _preset_period(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if preset == "year":
        return dt.date(today.year, 1, 1), today
    return today - dt.timedelta(days=int(preset) - 1), today


def _period(request: HttpRequest, today: dt.date) -> tuple[PeriodForm, dt.date, dt.date, str]:
    """The period asked for (a preset, or start and end), else the last 90 days."""
    preset = request.GET.get("preset", "")
    if preset in PRESETS or not (request.GET.get("start") or request.GET.get("end")):
        preset = preset if preset in PRESETS else DEFAULT_PRESET
        start, end = _preset_period(preset, today)
        return PeriodForm(initial={"start": start, "end": end}), start, end, preset
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"], ""
    start, end = _preset_period(DEFAULT_PRESET, today)
    return form, start, end, ""


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months the period touches, each clipped to the period (the last
    MAX_MONTHS)."""
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        months.append((max(first, start), min(following - dt.timedelta(days=1), end)))
        first = following
    return months[-MAX_MONTHS:]


def _handoff(workspace, start: dt.date, end: dt.date) -> dict[str, Any] | None:
    handoff_report = report_section("handoff")
    if handoff_report is None:
        return None
    total = handoff_report(workspace=workspace, start=start, end=end)
    monthly = [
        {
            "month": month_start,
            **handoff_report(workspace=workspace, start=month_start, end=month_end),
        }
        for month_start, month_end in _months(start, end)
    ]
    return {"total": total, "monthly": monthly}


def _percent(rate: float | None) -> float | None:
    return None if rate is None else 100 * rate


def _monthly_chart(monthly: list[dict[str, Any]]) -> dict[str, Any]:
    """The hand-off per month for the chart, with month names in the user's language."""
    return {
        "months": [capfirst(date_format(m["month"], "F Y")) for m in monthly],
        "leads": [m["leads"] for m in monthly],
        "accepted": [m["accepted"] for m in monthly],
        "rate": [None if m["percent"] is None else round(m["percent"], 1) for m in monthly],
        "labels": {
            "leads": _("Leads passed"),
            "accepted": pgettext("leads counted", "Accepted"),
            "rate": _("Acceptance rate"),
        },
    }


@requires(Cap.VIEW_DATA)
def funnel_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    today = _today(workspace)
    form, start, end, preset = _period(request, today)
    report = selectors.funnel_report(workspace=workspace, start=start, end=end)
    names = selectors.stage_names(workspace=workspace)
    widest = max((row["entered"] for row in report["stages"]), default=0) or 1
    stages = []
    for index, row in enumerate(report["stages"]):
        following = FUNNEL[index + 1] if index + 1 < len(FUNNEL) else None
        stages.append(
            {
                **row,
                "name": names[row["stage"]],
                "next_name": names[following] if following else "",
                "percent": _percent(row["rate"]),
                "width": round(100 * row["entered"] / widest, 1),
                "advanced_width": round(100 * row["advanced"] / widest, 1),
            }
        )
    handoff = _handoff(workspace, start, end)
    if handoff is not None:
        handoff["total"]["percent"] = _percent(handoff["total"].get("acceptance_rate"))
        for rep in handoff["total"].get("by_rep", []):
            rep["percent"] = _percent(rep.get("acceptance_rate"))
        for month in handoff["monthly"]:
            month["percent"] = _percent(month.get("acceptance_rate"))
        handoff["chart"] = _monthly_chart(handoff["monthly"])
    return render(
        request,
        "lifecycle/funnel.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "preset": preset,
            "presets": [
                ("30", _("Last 30 days")),
                ("90", _("Last 90 days")),
                ("year", _("This year")),
            ],
            "stages": stages,
            "side": [
                (names[LifecycleStage.DISQUALIFIED], report["disqualified"]),
                (names[LifecycleStage.RECYCLED], report["recycled"]),
                (names[LifecycleStage.LOST_CUSTOMER], report["lost_customers"]),
            ],
            "handoff": handoff,
        },
    )


@requires(Cap.VIEW_MARKETING, write=Cap.MANAGE_WORKSPACE)
def stages_view(request: HttpRequest) -> HttpResponse:
    """The stages with the workspace's names and how many contacts are in each; admins rename."""
    workspace = request.workspace  # type: ignore[attr-defined]
    is_admin = allows(request.membership.role, Cap.MANAGE_WORKSPACE)  # type: ignore[attr-defined]
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        stage = request.POST.get("stage", "")
        name = request.POST.get("name", "")
        try:
            services.stage_rename(
                workspace=workspace, actor=cast(User, request.user), stage=stage, name=name
            )
        except ApplicationError as error:
            errors[stage] = error.message
            status = 422
        else:
            names = selectors.stage_names(workspace=workspace)
            if name.strip():
                messages.success(
                    request, _("The stage is now called “%(name)s”.") % {"name": names[stage]}
                )
            else:
                messages.success(
                    request,
                    _("The stage has its default name again: “%(name)s”.") % {"name": names[stage]},
                )
            return redirect("lifecycle:stages")
    names = selectors.stage_names(workspace=workspace)
    counts = selectors.stage_counts(workspace=workspace)
    rows = [
        {
            "stage": stage.value,
            "default": str(stage.label),
            "name": names[stage.value],
            "own": names[stage.value] != str(stage.label),
            "count": counts.get(stage.value, 0),
            "error": errors.get(stage.value, ""),
            "value": request.POST.get("name", "")
            if stage.value in errors
            else (names[stage.value] if names[stage.value] != str(stage.label) else ""),
        }
        for stage in LifecycleStage
    ]
    return render(
        request,
        "lifecycle/stages.html",
        {"rows": rows, "is_admin": is_admin, "total": sum(counts.values())},
        status=status,
    )
