"""Pages: the list of sent mailings with their key figures, and a mailing's report (figures,
charts, skipped and why, revenue, the click map on the rendered email). Thin: the figures come
from volano/emails/reports.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override

from volano.contacts.models import Contact
from volano.core.permissions import Cap, requires
from volano.emails.models import Delivery, DeliveryStatus, Mailing, MailingKind, SkipReason
from volano.emails.reports import (
    click_map_html,
    mailing_click_map,
    mailing_timeline,
    mailings_report,
)
from volano.emails.sending.renderers import RenderedEmail, renderer_get
from volano.emails.templating.views import PREVIEW_FRAME_CSP

LIST_SIZE = 50


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


def _mailing(request: HttpRequest, pk: int) -> Mailing:
    mailing = Mailing.objects.for_workspace(_ws(request)).filter(pk=pk).first()
    if mailing is None:
        raise Http404
    return mailing


@requires(Cap.VIEW_MARKETING)
def mailing_list_view(request: HttpRequest) -> HttpResponse:
    """The latest sends (not test sends), each with its key figures: one grouped query."""
    mailings = (
        Mailing.objects.for_workspace(_ws(request))
        .exclude(kind=MailingKind.TEST)
        .order_by("-created_at", "-pk")
        .annotate(
            recipients=Count("deliveries"),
            sent=Count("deliveries", filter=Q(deliveries__sent_at__isnull=False)),
            opened=Count("deliveries", filter=Q(deliveries__opened_at__isnull=False)),
            clicked=Count("deliveries", filter=Q(deliveries__clicked_at__isnull=False)),
            bounced=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.BOUNCED)),
        )[:LIST_SIZE]
    )
    rows = []
    for m in mailings:  # at most LIST_SIZE mailings
        delivered = max(0, m.sent - m.bounced)
        rows.append(
            {
                "mailing": m,
                "recipients": m.recipients,
                "sent": m.sent,
                "opened_rate": round(100 * m.opened / delivered, 1) if delivered else None,
                "clicked_rate": round(100 * m.clicked / delivered, 1) if delivered else None,
            }
        )
    return render(request, "emails/mailing_list.html", {"rows": rows})


def _sample(mailing: Mailing) -> tuple[Contact | None, RenderedEmail | None, str]:
    """The message as its first recipient got it (the first one sent, else the first of the
    audience), rendered again through the mailing's renderer; or why it cannot be shown."""
    rows = Delivery.all_workspaces.filter(mailing=mailing)
    first = (
        rows.filter(sent_at__isnull=False).order_by("id").values_list("contact_id", flat=True)
    ).first() or rows.order_by("id").values_list("contact_id", flat=True).first()
    if first is None:
        return None, None, _("This mailing has no recipients.")
    contact = (
        Contact.objects.for_workspace(mailing.workspace)
        .select_related("company", "owner")
        .filter(pk=first)
        .first()
    )
    render_fn = renderer_get(mailing.renderer)
    if contact is None or render_fn is None:
        return contact, None, _("The message can no longer be rendered.")
    try:
        email = render_fn(mailing, [contact]).get(contact.pk)
    except Exception as error:  # a template deleted or broken since: say so, keep the figures
        return (
            contact,
            None,
            _("The message can no longer be rendered: %(error)s")
            % {"error": getattr(error, "message", str(error))},
        )
    return contact, email, ""


def _chart(report: dict, timeline: dict) -> dict:
    return {
        "hours": timeline["hours"],
        "opens": timeline["opens"],
        "clicks": timeline["clicks"],
        "funnel": [
            report["sent"],
            report["delivered"],
            report["opened"],
            report["clicked"],
        ],
        "labels": {
            "opens": _("Opens"),
            "clicks": _("Clicks"),
            "funnel": [_("Sent"), _("Delivered"), _("Opened"), _("Clicked")],
        },
    }


@requires(Cap.VIEW_MARKETING)
def mailing_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = _mailing(request, pk)
    workspace = _ws(request)
    one = Mailing.objects.for_workspace(workspace).filter(pk=mailing.pk)
    report = mailings_report(workspace=workspace, mailings=one)
    timeline = mailing_timeline(workspace=workspace, mailings=one)
    clicks = mailing_click_map(workspace=workspace, mailings=one)
    contact, email, problem = _sample(mailing)
    links: list[dict] = []
    if email is not None:
        _html, links = click_map_html(email.html, campaign=mailing.campaign, clicks=clicks)
    shown = {link["url"] for link in links} | {link["tracked"] for link in links}
    # links clicked that the sample's message does not hold (a block another contact got)
    elsewhere = [row for row in clicks if row["url"] not in shown]
    skipped = [
        {"reason": label, "count": report["skipped_by"].get(value, 0)}
        for value, label in SkipReason.choices
    ]
    timeline_rows = [
        {"hour": dt.datetime.fromisoformat(hour), "opens": o, "clicks": c}
        for hour, o, c in zip(timeline["hours"], timeline["opens"], timeline["clicks"], strict=True)
        if o or c
    ]
    return render(
        request,
        "emails/mailing_report.html",
        {
            "mailing": mailing,
            "report": report,
            "chart": _chart(report, timeline),
            "timeline_rows": timeline_rows,
            "skipped": skipped,
            "links": links,
            "elsewhere": elsewhere,
            "sample_contact": contact,
            "sample_email": email,
            "problem": problem,
        },
    )


@csp_override(PREVIEW_FRAME_CSP)
@requires(Cap.VIEW_MARKETING)
def mailing_report_frame_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The click map: the sample message with a badge by each link, in a sandboxed frame with
    its own strict policy (no script; its inline styles only)."""
    mailing = _mailing(request, pk)
    workspace = _ws(request)
    _contact, email, problem = _sample(mailing)
    if email is None:
        html = "<p>" + problem.replace("&", "&amp;").replace("<", "&lt;") + "</p>"
    else:
        clicks = mailing_click_map(
            workspace=workspace, mailings=Mailing.objects.for_workspace(workspace).filter(pk=pk)
        )
        html, _links = click_map_html(email.html, campaign=mailing.campaign, clicks=clicks)
    response = HttpResponse(html)
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response
