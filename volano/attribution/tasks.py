"""Background work for attribution: thin, idempotent, takes ids and JSON."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.tasks import task
from django.utils import timezone

from volano.core.models import Workspace


@task(queue_name="bulk")  # tens of seconds at 1M contacts: never ahead of a score update
def roi_refresh_task(
    workspace_id: int,
    model: str,
    query: dict[str, Any],
    group: str,
    granularity: str,
    time_zone: str,
) -> None:
    """Compute again a kept ROI result that readers found stale (`selectors.roi` with `wait`
    "never" or "if_missing"), in the time zone they read it in; nothing to do when a reader
    computed it meanwhile (`cache.kept` finds it current)."""
    from volano.attribution import selectors

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    with timezone.override(ZoneInfo(time_zone)):
        selectors.roi(
            workspace,
            model,
            selectors.query_from_fields(query),
            group=group,
            granularity=granularity,
            by_day=False,
            wait="always",
        )


@task(queue_name="bulk")
def roi_warm_nightly_task(workspace_id: int, today: str | None = None) -> None:
    """Keep the attribution page's default ROI ready for the day: Markov (the page's default
    model) over the last 365 days, per campaign and per channel group, in the workspace's time
    zone, so that the day's first view does not wait for it. `today` (ISO) for tests."""
    import datetime as dt

    from volano.attribution import selectors

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    with timezone.override(ZoneInfo(workspace.time_zone)):
        day = dt.date.fromisoformat(today) if today else timezone.localdate()
        query = selectors.query_parse({}, today=day)
        for group in selectors.ROI_GROUPS:
            selectors.roi(
                workspace, selectors.PAGE_MODEL, query, group=group, by_day=False, wait="always"
            )
