"""Budgets pages: the response curves of the latest model (fit one from the page), the
optimiser with a bound per channel and the what-if panel, answered as HTMX fragments. Thin:
selectors read, services write."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from volano.budgets import selectors, services
from volano.core.errors import ApplicationError, NotFound
from volano.core.permissions import Cap, requires


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _number(value: str) -> float | None:
    """A number as typed in either language: "1.234,5", "1.200" (Italian thousands) or
    "1234.5"."""
    text = (value or "").strip().replace(" ", "").replace("\u00a0", "").replace("€", "")
    if not text:
        return None
    if "," in text or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _sliders(model: Any) -> list[dict[str, Any]]:
    """Per channel, the range its bound sliders run over (nothing to twice its highest week,
    the optimiser's default) and a step of about a hundredth of it."""
    rows = []
    for c, key in enumerate(model.fit["keys"]):
        top = max(10, int(selectors.DEFAULT_UPPER_FACTOR * model.fit["max_spend"][c] + 0.5))
        step = max(1, round(top / 100, -1) or 1)
        rows.append(
            {
                "key": key,
                "top": top,
                "step": int(step),
                "current": int(model.fit["current_spend"][c] + 0.5),
            }
        )
    return rows


def _page(request: HttpRequest, *, error: ApplicationError | None = None) -> HttpResponse:
    workspace = _ws(request)
    outcome = request.GET.get("outcome") or None
    try:
        model = selectors.response_model_latest(workspace=workspace, outcome=outcome)
    except NotFound:
        model = None
    context: dict[str, Any] = {
        "model": model,
        "error": error,
        "order_channels": selectors.order_channels(workspace=workspace),
    }
    if model is not None:
        summary = selectors.response_model_summary(model)
        curves = selectors.response_curves(model)
        context.update(
            summary=summary,
            is_revenue=model.outcome == "revenue",
            chart={
                "curves": curves,
                "labels": {
                    "spend": _("Weekly spend (€)"),
                    "outcome": _("Weekly revenue (€)")
                    if model.outcome == "revenue"
                    else _("Weekly leads"),
                    "today": _("today"),
                    "band": _("interval (90%)"),
                },
            },
            total_spend=sum(model.fit["current_spend"]),
            sliders=_sliders(model),
        )
    return render(request, "budgets/response.html", context, status=422 if error else 200)


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def response_curves(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.response_model_fit(
                workspace=_ws(request),
                actor=request.user,
                outcome=request.POST.get("outcome", "revenue"),
                date_from=_date(request.POST.get("from", "")),
                date_to=_date(request.POST.get("to", "")),
                exclude=tuple(
                    k.strip() for k in request.POST.get("exclude", "").split(",") if k.strip()
                ),
                order_channel=request.POST.get("order_channel", "").strip(),
            )
        except ApplicationError as failure:
            return _page(request, error=failure)
        messages.success(request, _("Response model fitted."))
        return redirect("budgets:response")
    return _page(request)


def _figures(request: HttpRequest, result: dict | None, error: ApplicationError | None, kind: str):
    model = None
    if result is not None:
        model = selectors.response_model_latest(workspace=_ws(request), outcome=result["outcome"])
    rows = []
    if result is not None:
        for key, amount in result["allocation"].items():
            now = result["current_allocation"][key]
            rows.append({"key": key, "now": now, "then": amount, "delta": amount - now})
    return render(
        request,
        "budgets/_figures.html",
        {
            "result": result,
            "rows": rows,
            "error": error,
            "kind": kind,
            "is_revenue": model is None or model.outcome == "revenue",
        },
        # HTMX swaps no 4xx answer: the refusal would stay unseen under the last answer, so
        # the page's own requests get it with 200; a plain form post still gets 422
        status=422 if error and not request.headers.get("HX-Request") else 200,
    )


@requires(read=Cap.VIEW_MARKETING, write=Cap.PREVIEW)
def optimise(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("budgets:response")
    workspace = _ws(request)
    outcome = request.POST.get("outcome") or None
    try:
        model = selectors.response_model_latest(workspace=workspace, outcome=outcome)
        bounds = {}
        for key in model.fit["keys"]:
            lo = _number(request.POST.get(f"lo-{key}", ""))
            hi = _number(request.POST.get(f"hi-{key}", ""))
            if lo is not None or hi is not None:
                index = model.fit["keys"].index(key)
                default_hi = selectors.DEFAULT_UPPER_FACTOR * model.fit["max_spend"][index]
                bounds[key] = [lo or 0.0, default_hi if hi is None else hi]
        budget = _number(request.POST.get("budget", ""))
        result = selectors.allocation_recommend(
            workspace=workspace, budget=budget, bounds=bounds, outcome=model.outcome
        )
    except ApplicationError as failure:
        return _figures(request, None, failure, "optimise")
    return _figures(request, result, None, "optimise")


@requires(read=Cap.VIEW_MARKETING, write=Cap.PREVIEW)
def whatif(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("budgets:response")
    workspace = _ws(request)
    outcome = request.POST.get("outcome") or None
    try:
        model = selectors.response_model_latest(workspace=workspace, outcome=outcome)
        changes = {}
        for key in model.fit["keys"]:
            raw = request.POST.get(f"pct-{key}", "")
            percent = _number(raw)
            if raw.strip() and percent is None:
                raise ApplicationError(
                    _("“%(value)s” is not a percentage (for “%(channel)s”)")
                    % {"value": raw, "channel": key},
                    field=f"pct-{key}",
                )
            if percent:
                changes[key] = percent
        result = selectors.scenario_evaluate(
            workspace=workspace, changes=changes, outcome=model.outcome
        )
    except ApplicationError as failure:
        return _figures(request, None, failure, "whatif")
    return _figures(request, result, None, "whatif")
