"""Background work for the reports: thin, idempotent, takes ids."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from volano.core.models import Workspace


@task()
def value_model_nightly_task(workspace_id: int) -> None:
    """Refit the customer-value model as of today (once: a fit kept for today ends it) and mark
    the customers who crossed the churn-risk threshold (`churn_risk` events)."""
    from volano.reports import churn, clv, services
    from volano.reports.models import ValueModel

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    today = timezone.localdate()
    if not ValueModel.objects.for_workspace(workspace).filter(as_of=today).exists():
        try:
            services.value_model_fit(workspace=workspace, as_of=today)
        except clv.NotEnoughData:
            return
    churn.churn_risk_mark(workspace=workspace, as_of=today)


@task()
def stakeholder_warm_nightly_task(workspace_id: int, today: str | None = None) -> None:
    """Keep the board's report's attributed days ready for the day (`stakeholder.credits_warm`),
    in the workspace's time zone; `today` (ISO) for catch-up and tests."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from volano.reports import stakeholder

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    with timezone.override(ZoneInfo(workspace.time_zone)):
        day = dt.date.fromisoformat(today) if today else timezone.localdate()
        stakeholder.credits_warm(workspace, today=day)
