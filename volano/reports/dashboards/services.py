"""Writes of the dashboards (a custom dashboard, the health weights) and the small reads their
pages share. Every write leaves an activity row."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound
from volano.core.models import User, Workspace
from volano.deals.models import ProductLine
from volano.reports.dashboards import health, kpis
from volano.reports.dashboards.models import Dashboard, HealthWeights
from volano.segments.models import Segment

PRESET_LABELS = (
    ("30d", gettext_lazy("Last 30 days")),
    ("90d", gettext_lazy("Last 90 days")),
    ("12m", gettext_lazy("Last 12 months")),
    ("this_quarter", gettext_lazy("This quarter")),
    ("last_quarter", gettext_lazy("Last quarter")),
    ("this_year", gettext_lazy("This year")),
    ("last_year", gettext_lazy("Last year")),
)


def preset_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in PRESET_LABELS]


def dashboards_visible(workspace: Workspace, user: Any) -> QuerySet[Dashboard]:
    return Dashboard.objects.for_workspace(workspace).filter(Q(owner_id=user.pk) | Q(shared=True))


def dashboard_get(*, workspace: Workspace, user: Any, pk: Any, editing: bool = False) -> Dashboard:
    """A dashboard the user may see (their own or shared); to edit, their own only."""
    found = dashboards_visible(workspace, user).filter(pk=pk).first()
    if found is None or (editing and found.owner_id != user.pk):
        raise NotFound(_("no such dashboard"))
    return found


def dashboard_save(
    *, workspace: Workspace, actor: User, dashboard: Dashboard | None, data: dict
) -> Dashboard:
    widgets = [key for key in data.get("widgets", []) if key in kpis.REGISTRY]
    if not widgets:
        raise ApplicationError(_("Pick at least one widget."), field="widgets")
    segment_id = data.get("segment") or None
    if segment_id and not Segment.objects.for_workspace(workspace).filter(pk=segment_id).exists():
        raise ApplicationError(_("No such segment in this workspace."), field="segment")
    line = data.get("product_line") or ""
    if line and not ProductLine.objects.for_workspace(workspace).filter(slug=line).exists():
        raise ApplicationError(_("No such product line."), field="product_line")
    fields = {
        "name": data["name"].strip(),
        "widgets": widgets,
        "segment_id": segment_id,
        "product_line": line,
        "territory": data.get("territory") or "",
        "shared": bool(data.get("shared")),
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        if dashboard is None:
            dashboard = Dashboard.objects.create(workspace=workspace, owner=actor, **fields)
        else:
            for key, value in fields.items():
                setattr(dashboard, key, value)
            dashboard.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.dashboard_save",
            obj=dashboard,
            changes={k: v for k, v in fields.items() if k != "updated_at"},
        )
    return dashboard


def dashboard_delete(*, workspace: Workspace, actor: User, dashboard: Dashboard) -> None:
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.dashboard_delete",
            obj=dashboard,
            changes={"name": dashboard.name},
        )
        dashboard.delete()


def health_weights_save(*, workspace: Workspace, actor: User | None, data: dict) -> HealthWeights:
    with transaction.atomic():
        weights, _created = HealthWeights.objects.for_workspace(workspace).get_or_create(
            workspace=workspace
        )
        for key, value in data.items():
            setattr(weights, key, value)
        weights.updated_by = actor
        weights.updated_at = timezone.now()
        weights.save()
        health.scores_write(workspace, weights)  # the kept scores follow the weights
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.health_weights_save",
            obj=weights,
            changes=data,
        )
    return weights


def filters_text(workspace: Workspace, dashboard: Dashboard | None) -> list[str]:
    """The filters of a dashboard in words, for its heading."""
    if dashboard is None:
        return []
    out = []
    if dashboard.segment_id:
        segment = Segment.objects.for_workspace(workspace).filter(pk=dashboard.segment_id).first()
        out.append(_("segment: %(name)s") % {"name": segment.name if segment else "—"})
    if dashboard.product_line:
        line = (
            ProductLine.objects.for_workspace(workspace).filter(slug=dashboard.product_line).first()
        )
        out.append(
            _("product line: %(name)s") % {"name": line.name if line else dashboard.product_line}
        )
    if dashboard.territory:
        out.append(_("territory: %(name)s") % {"name": dashboard.territory})
    return out
