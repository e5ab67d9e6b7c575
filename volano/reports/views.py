"""Pages of the reports: customer lifetime value and churn risk."""

from __future__ import annotations

import numpy as np
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.contacts.models import Contact
from volano.core.permissions import Cap, requires
from volano.reports import clv, selectors, services
from volano.reports.models import ValueModel

AT_RISK_BELOW = 0.3
AT_RISK_SHOWN = 25


class ValueForm(forms.Form):
    as_of = forms.DateField(
        label=gettext_lazy("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"})
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
