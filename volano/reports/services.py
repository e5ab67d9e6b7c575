"""Writes of the reports: fitting the customer-value model."""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction

from volano.core.activity import activity_record
from volano.core.models import User, Workspace
from volano.reports import clv
from volano.reports.models import ValueModel


def value_model_fit(
    *, workspace: Workspace, as_of: dt.date, actor: User | None = None
) -> ValueModel:
    """Fit BG/NBD and Gamma-Gamma on the orders up to `as_of` and keep the parameters (the same
    date again replaces them). Raises clv.NotEnoughData, naming what is missing."""
    started = time.monotonic()
    summary = clv.customer_summary(workspace, as_of=as_of)
    value = clv.fit(summary)
    fields = {
        "r": value.bgnbd.r,
        "alpha": value.bgnbd.alpha,
        "a": value.bgnbd.a,
        "b": value.bgnbd.b,
        "p": value.gamma_gamma.p,
        "q": value.gamma_gamma.q,
        "gamma": value.gamma_gamma.gamma,
        "customers": value.customers,
        "repeat_customers": value.repeat_customers,
        "currency": summary.currency,
        "seconds": time.monotonic() - started,
        "fitted_by": actor,
    }
    with transaction.atomic():
        model, _ = ValueModel.objects.for_workspace(workspace).update_or_create(
            workspace=workspace, as_of=as_of, defaults=fields
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.value_model_fit",
            obj=model,
            changes={"as_of": as_of.isoformat(), "customers": value.customers},
        )
    return model
