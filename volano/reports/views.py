"""Pages of the reports: customer lifetime value and churn risk; the stakeholder report."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.core.forms import DateInput
from volano.core.permissions import Cap, requires
from volano.reports import clv, selectors, services, stakeholder
from volano.reports.models import ReportFrequency, ValueModel

AT_RISK_BELOW = 0.3
AT_RISK_SHOWN = 25


class ValueForm(forms.Form):
    as_of = forms.DateField(
        label=gettext_lazy("As of"),
        required=False,
        widget=DateInput(),
    )
    horizon_months = forms.IntegerField(
        label=gettext_lazy("Horizon (months)"),
        min_value=1,
        max_value=120,
        initial=12,
        required=False,
    )
    discount_monthly = forms.FloatField(
        label=gettext_lazy("Monthly discount rate (%)"),
        min_value=0,
        max_value=100,
        initial=1,
        required=False,
    )


def _histogram(values: np.ndarray, bins: int, upper: float | None = None) -> dict:
    if not len(values):
        return {"edges": [], "counts": []}
    top = upper if upper is not None else float(np.percentile(values, 99)) or 1.0
    counts, edges = np.histogram(np.clip(values, 0, top), bins=bins, range=(0, top))
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts]}


def _rows(bins: dict, scale: float = 1) -> list[tuple[float, float, int]]:
    edges = bins["edges"]
    return [(edges[i] * scale, edges[i + 1] * scale, c) for i, c in enumerate(bins["counts"])]


@requires(read=Cap.VIEW_DATA, write=Cap.EDIT_MARKETING)
def customer_value_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    today = timezone.localdate()
    if request.method == "POST":
        form = ValueForm(request.POST)
        day = (form.cleaned_data.get("as_of") if form.is_valid() else None) or today
        try:
            model = services.value_model_fit(
                workspace=workspace,
                as_of=day,
                actor=request.user,  # type: ignore[arg-type]
            )
        except clv.NotEnoughData as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                _("Fitted on %(n)s customers in %(s).1f s.")
                % {"n": model.customers, "s": model.seconds},
            )
        return redirect(f"{reverse('reports:customer_value')}?as_of={day.isoformat()}")

    form = ValueForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    day = cleaned.get("as_of") or today
    horizon = cleaned.get("horizon_months") or 12
    percent = cleaned.get("discount_monthly")
    discount = 0.01 if percent is None else percent / 100
    summary = clv.customer_summary(workspace, as_of=day)
    context: dict = {
        "form": form,
        "as_of": day,
        "horizon": horizon,
        "discount_percent": round(discount * 100, 2),
        "customers": len(summary),
        "other_currency_orders": summary.other_currency_orders,
        "currency": summary.currency,
        "kept": ValueModel.objects.for_workspace(workspace).filter(as_of=day).first(),
    }
    try:
        fit = selectors.value_fit_as_of(workspace, as_of=day, summary=summary)
    except clv.NotEnoughData as refusal:
        context["refusal"] = refusal.message
        return render(request, "reports/customer_value.html", context)
    x, t_x, T, m = summary.x, summary.t_x, summary.T, summary.m
    alive = fit.bgnbd.p_alive(x, t_x, T)
    purchases = fit.bgnbd.expected_purchases(horizon * clv.MONTH_WEEKS, x, t_x, T)
    values = clv.clv(fit, x, t_x, T, m, horizon_months=horizon, discount_monthly=discount)
    risky = np.flatnonzero(alive < AT_RISK_BELOW)
    # the customers at risk who were worth most: most repeat days, then the highest repeat value
    order = risky[np.lexsort((-m[risky], -x[risky]))][:AT_RISK_SHOWN]
    contacts = Contact.objects.for_workspace(workspace).in_bulk(
        [int(i) for i in summary.contact_ids[order]]
    )
    clv_bins, alive_bins = _histogram(values, 20), _histogram(alive, 10, upper=1.0)
    context.update(
        {
            "fit": fit,
            "clv_rows": _rows(clv_bins),
            "alive_rows": _rows(alive_bins, scale=100),
            "clv_total": float(values.sum()),
            "clv_mean": float(values.mean()),
            "expected_purchases": float(purchases.sum()),
            "at_risk": len(risky),
            "at_risk_below": int(AT_RISK_BELOW * 100),
            "population_spend": float(fit.gamma_gamma.expected_spend(np.zeros(1), np.zeros(1))[0]),
            "risky": [
                {
                    "contact": contacts.get(int(summary.contact_ids[i])),
                    "purchases": int(x[i]) + 1,
                    "repeat_value": float(m[i]),
                    "weeks_since": float(T[i] - t_x[i]),
                    "p_alive": float(alive[i]) * 100,
                }
                for i in order
            ],
            "chart": {
                "clv": clv_bins,
                "alive": alive_bins,
                "labels": {
                    "clv": _("Customers by lifetime value"),
                    "alive": _("Customers by probability of being active"),
                    "customers": _("Customers"),
                },
                "currency": summary.currency,
            },
        }
    )
    return render(request, "reports/customer_value.html", context)


# --- the stakeholder report ------------------------------------------------------------------


class StakeholderForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=DateInput(),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=DateInput(),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=[("it", "Italiano"), ("en", "English")],
        required=False,
    )


class ScheduleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120, required=False)
    frequency = forms.ChoiceField(label=gettext_lazy("When"), choices=ReportFrequency.choices)
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=[("it", "Italiano"), ("en", "English")]
    )
    recipients = forms.CharField(
        label=gettext_lazy("Send to"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Email addresses, one per line or separated by commas."),
    )


def _last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _stakeholder_period(
    request: HttpRequest, workspace
) -> tuple[StakeholderForm, dt.date, dt.date, str]:
    form = StakeholderForm(request.GET or None)
    start, end = _last_month(timezone.localdate())
    language = workspace.language if workspace.language in ("it", "en") else "it"
    if form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
        language = form.cleaned_data["language"] or language
    if not form.is_bound or form.is_valid():  # the fields show the period the report is of
        form = StakeholderForm(initial={"start": start, "end": end, "language": language})
    return form, start, end, language


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def stakeholder_page(request: HttpRequest) -> HttpResponse:
    """The report for the board as a web page, its PDF, keeping it, and its email schedules."""
    workspace = request.workspace  # type: ignore[attr-defined]
    schedule_form = ScheduleForm(initial={"language": workspace.language or "it"})
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "keep":
                start = dt.date.fromisoformat(request.POST["start"])
                end = dt.date.fromisoformat(request.POST["end"])
                services.stakeholder_report_keep(
                    workspace=workspace,
                    start=start,
                    end=end,
                    language=request.POST.get("language") or "it",
                    actor=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("Report kept: the next one compares with it."))
                return redirect(request.get_full_path())
            if action == "delete_schedule":
                services.report_schedule_delete(
                    workspace=workspace,
                    schedule_id=int(request.POST.get("schedule", 0)),
                    actor=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("Schedule deleted."))
                return redirect(request.get_full_path())
            if action == "schedule":
                schedule_form = ScheduleForm(request.POST)
                if schedule_form.is_valid():
                    schedule = services.report_schedule_save(
                        workspace=workspace,
                        actor=request.user,  # type: ignore[arg-type]
                        **schedule_form.cleaned_data,
                    )
                    messages.success(
                        request,
                        _("The report will be sent on %(when)s.")
                        % {
                            "when": formats.date_format(
                                timezone.localtime(schedule.next_run_at), "DATETIME_FORMAT"
                            )
                        },
                    )
                    return redirect(request.get_full_path())
        except (ValueError, KeyError):
            messages.error(request, _("The period is not valid."))
        except ApplicationError as error:
            if action == "schedule":
                schedule_form.add_error(
                    error.field if error.field in schedule_form.fields else None, error.message
                )
            else:
                messages.error(request, error.message)
    form, start, end, language = _stakeholder_period(request, workspace)
    context: dict = {"form": form, "start": start, "end": end, "language": language}
    try:
        figures = services.stakeholder_figures_compared(workspace=workspace, start=start, end=end)
    except ApplicationError as error:
        context["refusal"] = error.message
    else:
        context["report_html"] = stakeholder.stakeholder_html(
            workspace, figures, language=language, standalone=False
        )
    context["schedules"] = selectors.report_schedules(workspace)
    context["kept"] = selectors.stakeholder_reports(workspace)[:12]
    context["schedule_form"] = schedule_form
    return render(request, "reports/stakeholder.html", context)


@requires(read=Cap.VIEW_MARKETING)
def stakeholder_pdf_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    _form, start, end, language = _stakeholder_period(request, workspace)
    try:
        figures = services.stakeholder_figures_compared(workspace=workspace, start=start, end=end)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("reports:stakeholder")
    pdf = stakeholder.stakeholder_pdf(workspace, figures, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"report-{start.isoformat()}-{end.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
