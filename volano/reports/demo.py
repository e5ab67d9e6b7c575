"""The demo's customer value: the model fitted as of today and kept (as the nightly refit does),
and the `churn_risk` events of the customers below the threshold, so the contact and company
pages, the churn-risk list and a workflow on `churn_risk` have something true to show."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from volano.core.models import Workspace
from volano.reports import churn, clv, services


def demo_value_create(*, workspace: Workspace, now: dt.datetime) -> int:
    """Returns how many customers were marked at risk (0 when the orders cannot be fitted)."""
    today = timezone.localdate(now)
    try:
        services.value_model_fit(workspace=workspace, as_of=today)
    except clv.NotEnoughData:
        return 0
    return churn.churn_risk_mark(workspace=workspace, as_of=today)
