"""Writes of the reports: fitting the customer-value model; keeping and scheduling the\nstakeholder report."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.mail import workspace_headers
from volano.core.models import User, Workspace
from volano.core.tenancy import access_in_workspace
from volano.reports import clv, stakeholder
from volano.reports.models import ReportFrequency, ReportSchedule, StakeholderReport, ValueModel

logger = logging.getLogger(__name__)


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


# --- the stakeholder report: kept on demand, sent on a schedule ------------------------------

SEND_CLAIM = dt.timedelta(minutes=10)
MAX_RECIPIENTS = 20
SEND_HOUR = 7  # the schedules send at 07:00 in the workspace's time zone


def _previous_kept(workspace: Workspace, start: dt.date) -> StakeholderReport | None:
    return (
        StakeholderReport.objects.for_workspace(workspace)
        .filter(end__lt=start)
        .order_by("-end", "-id")
        .first()
    )


def stakeholder_figures_compared(*, workspace: Workspace, start: dt.date, end: dt.date) -> dict:
    """The report's figures, compared with the last report kept for an earlier period (or with
    the period just before when none was kept)."""
    previous = _previous_kept(workspace, start)
    before = None
    if previous is not None:
        before = {
            "kpis": previous.figures.get("kpi_values", {}),
            "start": previous.start.isoformat(),
            "end": previous.end.isoformat(),
            "source": "report",
        }
    return stakeholder.stakeholder_figures(workspace, start=start, end=end, previous=before)


def stakeholder_report_keep(
    *,
    workspace: Workspace,
    start: dt.date,
    end: dt.date,
    language: str,
    actor: User | None = None,
    schedule: ReportSchedule | None = None,
) -> StakeholderReport:
    """Compute the report and keep its figures (the next report compares with them)."""
    figures = stakeholder_figures_compared(workspace=workspace, start=start, end=end)
    with transaction.atomic():
        report = StakeholderReport.objects.create(
            workspace=workspace,
            start=start,
            end=end,
            language=language,
            figures=figures,
            schedule=schedule,
            created_by=actor,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.stakeholder_keep",
            obj=report,
            changes={"from": start.isoformat(), "to": end.isoformat()},
        )
    return report


def recipients_clean(value: object) -> list[str]:
    """Email addresses, one per line or separated by commas; each checked, named when wrong."""
    from email_validator import EmailNotValidError, validate_email

    if isinstance(value, str):
        items = [part.strip() for part in value.replace(";", ",").replace("\n", ",").split(",")]
    elif isinstance(value, list):
        items = [str(part).strip() for part in value]
    else:
        raise ApplicationError(_("Give the recipients as a list of addresses."), field="recipients")
    found = [item for item in items if item]
    if not found:
        raise ApplicationError(_("Give at least one recipient."), field="recipients")
    if len(found) > MAX_RECIPIENTS:
        raise ApplicationError(
            _("At most %(n)s recipients.") % {"n": MAX_RECIPIENTS}, field="recipients"
        )
    clean = []
    for item in found:
        try:
            clean.append(validate_email(item, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise ApplicationError(
                _("“%(address)s” is not an email address.") % {"address": item},
                field="recipients",
            ) from None
    return list(dict.fromkeys(clean))


def _period_before(frequency: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The month (or quarter) that ended before `day`."""
    first_of_month = day.replace(day=1)
    if frequency == ReportFrequency.QUARTERLY:
        quarter_start = first_of_month.replace(month=3 * ((day.month - 1) // 3) + 1)
        end = quarter_start - dt.timedelta(days=1)
        return end.replace(month=3 * ((end.month - 1) // 3) + 1, day=1), end
    end = first_of_month - dt.timedelta(days=1)
    return end.replace(day=1), end


def _next_run(workspace: Workspace, frequency: str, after: dt.datetime) -> dt.datetime:
    """07:00 local on the first day of the next month (quarter) after `after`."""
    zone = ZoneInfo(workspace.time_zone)
    local = after.astimezone(zone).date()
    month = local.month + 1
    if frequency == ReportFrequency.QUARTERLY:
        month = 3 * ((local.month - 1) // 3) + 4
    year = local.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.datetime(year, month, 1, SEND_HOUR, tzinfo=zone)


def report_schedule_save(
    *,
    workspace: Workspace,
    name: str,
    frequency: str,
    recipients: object,
    language: str,
    actor: User | None = None,
    schedule_id: int | None = None,
    now: dt.datetime | None = None,
) -> ReportSchedule:
    """Create (or change) a schedule; its first report goes at the next first of the month."""
    now = now or timezone.now()
    if frequency not in ReportFrequency.values:
        raise ApplicationError(_("Choose monthly or quarterly."), field="frequency")
    if language not in ("it", "en"):
        raise ApplicationError(_("Choose Italian or English."), field="language")
    name = (name or "").strip() or str(_("Report for the board"))
    clean = recipients_clean(recipients)
    with transaction.atomic():
        if schedule_id is None:
            schedule = ReportSchedule(workspace=workspace, created_by=actor)
        else:
            schedule = access_in_workspace(ReportSchedule, workspace=workspace, pk=schedule_id)
        schedule.name, schedule.frequency, schedule.language = name[:120], frequency, language
        schedule.recipients = clean
        schedule.next_run_at = _next_run(workspace, frequency, now)
        schedule.active = True
        schedule.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.schedule_save",
            obj=schedule,
            changes={"frequency": frequency, "recipients": len(clean)},
        )
    return schedule


def report_schedule_delete(*, workspace: Workspace, schedule_id: int, actor: User | None) -> None:
    schedule = access_in_workspace(ReportSchedule, workspace=workspace, pk=schedule_id)
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="reports.schedule_delete",
            obj=schedule,
            changes={"name": schedule.name},
        )
        schedule.delete()


def _send(report: StakeholderReport, now: dt.datetime) -> bool:
    """Email one scheduled report, once: claimed with one conditional UPDATE, marked sent after
    the mail server took it, the claim given back if sending fails."""
    claimed = (
        StakeholderReport.all_workspaces.filter(pk=report.pk, sent_at__isnull=True)
        .filter(Q(send_claimed_at__isnull=True) | Q(send_claimed_at__lt=now - SEND_CLAIM))
        .update(send_claimed_at=now)
    )
    if not claimed or report.schedule is None:
        return False
    workspace, schedule = report.workspace, report.schedule
    with (
        translation.override(report.language),
        timezone.override(ZoneInfo(workspace.time_zone)),
    ):
        pdf = stakeholder.stakeholder_pdf(workspace, report.figures, language=report.language)
        subject = _("%(name)s: marketing report, %(start)s – %(end)s") % {
            "name": workspace.name,
            "start": report.start.strftime("%d/%m/%Y"),
            "end": report.end.strftime("%d/%m/%Y"),
        }
        body = _(
            "The marketing report of %(name)s for the period is attached as a PDF.\n\n"
            "It was sent by Volano because of the schedule “%(schedule)s”."
        ) % {"name": workspace.name, "schedule": schedule.name}
    message = EmailMessage(
        subject=subject, body=body, to=schedule.recipients, headers=workspace_headers(workspace)
    )
    message.attach(
        f"report-{report.start.isoformat()}-{report.end.isoformat()}.pdf", pdf, "application/pdf"
    )
    try:
        message.send()
    except Exception:
        StakeholderReport.all_workspaces.filter(pk=report.pk).update(send_claimed_at=None)
        raise
    StakeholderReport.all_workspaces.filter(pk=report.pk).update(
        sent_at=timezone.now(), sent_to=schedule.recipients
    )
    return True


def report_schedules_due_run(*, now: dt.datetime | None = None) -> int:
    """The sweeper's pass: each active schedule whose time came is claimed (its `next_run_at`
    moved on in one conditional UPDATE), the report for the period that ended is kept and
    emailed; a kept report not yet sent (the mail server was down, the worker died) is sent
    again. Returns the reports sent."""
    now = now or timezone.now()
    due = ReportSchedule.all_workspaces.filter(active=True, next_run_at__lte=now).select_related(
        "workspace"
    )
    for schedule in due[:50]:
        moved = ReportSchedule.all_workspaces.filter(
            pk=schedule.pk, next_run_at=schedule.next_run_at
        ).update(next_run_at=_next_run(schedule.workspace, schedule.frequency, now))
        if not moved:
            continue  # another sweeper took it
        local_day = schedule.next_run_at.astimezone(ZoneInfo(schedule.workspace.time_zone)).date()
        start, end = _period_before(schedule.frequency, local_day)
        exists = StakeholderReport.all_workspaces.filter(
            schedule=schedule, start=start, end=end
        ).exists()
        if not exists:
            with translation.override(schedule.language):
                stakeholder_report_keep(
                    workspace=schedule.workspace,
                    start=start,
                    end=end,
                    language=schedule.language,
                    schedule=schedule,
                )
    sent = 0
    unsent = StakeholderReport.all_workspaces.filter(
        schedule__isnull=False, sent_at__isnull=True, created_at__gte=now - dt.timedelta(days=3)
    ).select_related("workspace", "schedule")
    for report in unsent[:50]:
        try:
            sent += _send(report, now)
        except Exception:
            logger.exception("stakeholder report %s could not be sent", report.pk)
    return sent
