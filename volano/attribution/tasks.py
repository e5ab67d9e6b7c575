"""Background work for attribution: thin, idempotent, takes ids and JSON."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.tasks import task
from django.utils import timezone

from volano.core.models import Workspace

# the ROI granularities made ahead each night (by day is 365 attributions: left to the reader)
WARM_GRANULARITIES = ("period", "month", "quarter", "week")


@task(queue_name="bulk")  # tens of seconds at 1M contacts: never ahead of a score update
def kept_report_refresh_task(
    workspace_id: int,
    report: str,
    query: dict[str, Any],
    options: dict[str, str],
    time_zone: str,
) -> None:
    """Compute again a kept report that readers found stale (`selectors.roi` under Markov, or
    `selectors.comparison`, with `wait` "never" or "if_missing"), in the time zone they read it
    in; nothing to do when a reader computed it meanwhile (`cache.kept` finds it current)."""
    from volano.attribution import selectors

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    with timezone.override(ZoneInfo(time_zone)):
        parsed = selectors.query_from_fields(query)
        if report == "comparison":
            selectors.comparison(workspace, parsed, wait="always")
            return
        selectors.roi(
            workspace,
            options["model"],
            parsed,
            group=options["group"],
            granularity=options["granularity"],
            by_day=False,
            wait="always",
        )


@task(queue_name="bulk")
def page_warm_nightly_task(workspace_id: int, today: str | None = None) -> None:
    """Keep the attribution page's defaults ready for the day, in the workspace's time zone:
    the seven models side by side (SQLs by channel group over the last 365 days) and the ROI
    under Markov (the page's default model) per campaign and per channel group, for the whole
    period and by month, quarter and week (`WARM_GRANULARITIES`), so that the day's first view
    does not wait for them. `today` (ISO) for tests."""
    import datetime as dt

    from volano.attribution import selectors

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    with timezone.override(ZoneInfo(workspace.time_zone)):
        day = dt.date.fromisoformat(today) if today else timezone.localdate()
        query = selectors.query_parse({}, today=day)
        selectors.comparison(workspace, query, wait="always")
        for granularity in WARM_GRANULARITIES:
            for group in selectors.ROI_GROUPS:
                selectors.roi(
                    workspace,
                    selectors.PAGE_MODEL,
                    query,
                    group=group,
                    granularity=granularity,
                    by_day=False,
                    wait="always",
                )
