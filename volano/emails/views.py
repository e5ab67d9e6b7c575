"""Public endpoints of sent mail: the open pixel, click redirects, the unsubscribe page with its
RFC 8058 one-click POST, and the preference centre. A bad token is a 404, always."""

from __future__ import annotations

import base64

from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from volano.contacts.models import ConsentStatus, Purpose
from volano.contacts.selectors import contact_consents
from volano.core.facts import EventsAppended
from volano.core.permissions import public
from volano.core.reactions import announce
from volano.emails import optin, tracking
from volano.emails.models import Delivery
from volano.emails.suppression import soft_bounces_reset
from volano.emails.unsubscribe import delivery_preferences_set, delivery_unsubscribe
from volano.events.models import Channel, Event, EventType

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _delivery(salt: str, token: str) -> tuple[Delivery, list]:
    value = tracking.token_read(salt, token)
    if not value or not isinstance(value[0], int):
        raise Http404
    delivery = (
        Delivery.all_workspaces.select_related("mailing", "mailing__workspace")
        .filter(pk=value[0])
        .first()
    )
    if delivery is None:
        raise Http404
    return delivery, value


def _record(delivery: Delivery, *, type: str, label: str, first_field: str, extra: dict) -> None:
    now = timezone.now()
    with transaction.atomic():
        Event.objects.create(
            workspace_id=delivery.workspace_id,
            contact_id=delivery.contact_id,
            type=type,
            occurred_at=now,
            channel=Channel.EMAIL,
            source="volano",
            campaign=delivery.mailing.campaign[:100],
            properties={
                "delivery": delivery.pk,
                "mailing": delivery.mailing_id,
                "label": label,
                **extra,
            },
        )
        # proof the message arrived: the soft-bounce count of the address starts again
        soft_bounces_reset(workspace_id=delivery.workspace_id, addresses=[delivery.address])
        if label == "human":
            Delivery.all_workspaces.filter(
                Q(**{f"{first_field}__isnull": True}), pk=delivery.pk
            ).update(**{first_field: now})
        announce(
            EventsAppended(
                workspace_id=delivery.workspace_id,
                contact_ids={delivery.contact_id},
                event_types={type},
            )
        )


@public
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    delivery, _ = _delivery(tracking.OPEN_SALT, token)
    label = tracking.open_label(
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=_ip(request),
        sent_at=delivery.sent_at,
        now=timezone.now(),
    )
    _record(delivery, type=EventType.EMAIL_OPENED, label=label, first_field="opened_at", extra={})
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@public
@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    delivery, value = _delivery(tracking.CLICK_SALT, token)
    url = value[1] if len(value) > 1 and isinstance(value[1], str) else ""
    if not url.lower().startswith(("http://", "https://")):
        raise Http404
    label = tracking.click_label(
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=_ip(request),
        sent_at=delivery.sent_at,
        now=timezone.now(),
    )
    _record(
        delivery, type=EventType.EMAIL_CLICKED, label=label, first_field="clicked_at",
        extra={"url": url[:2000]},
    )  # fmt: skip
    return HttpResponseRedirect(url)


def _page(request: HttpRequest, delivery: Delivery, token: str, *, done: str = "") -> HttpResponse:
    consents = contact_consents(workspace=delivery.mailing.workspace, contact=delivery.contact)
    purposes = [
        {
            "value": value,
            "label": label,
            "granted": consents.get(value) is not None
            and consents[value].status == ConsentStatus.GRANTED,
        }
        for value, label in Purpose.choices
    ]
    return render(
        request,
        "emails/public/unsubscribe.html",
        {
            "token": token,
            "purposes": purposes,
            "done": done,
            "workspace": delivery.mailing.workspace,
        },
    )


@public
@csrf_exempt  # RFC 8058: the mail client POSTs with no cookie and no page; the token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the page and never unsubscribes (link scanners follow links); POST with
    `List-Unsubscribe=One-Click` (the mail client's one click, or the page's button)
    unsubscribes at once."""
    delivery, _ = _delivery(tracking.UNSUBSCRIBE_SALT, token)
    if request.method == "GET":
        return _page(request, delivery, token)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponse(status=400)
    from_page = request.POST.get("from") == "page"
    delivery_unsubscribe(
        delivery=delivery, ip=_ip(request), how="page button" if from_page else "one-click"
    )
    if from_page:
        return _page(request, delivery, token, done="unsubscribed")
    return HttpResponse("", status=200)


@public
@require_POST
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    delivery, _ = _delivery(tracking.UNSUBSCRIBE_SALT, token)
    wanted = {p: request.POST.get(f"purpose_{p}") == "on" for p in Purpose.values}
    delivery_preferences_set(delivery=delivery, wanted=wanted, ip=_ip(request))
    return _page(request, delivery, token, done="saved")


@public
@require_http_methods(["GET", "POST"])
def optin_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The double opt-in link. GET shows a page with one button and changes nothing (link
    scanners follow links); the button's POST grants the consent. A tampered or unknown link is
    a 404 page, an expired one a 410 page, both saying what to do."""
    try:
        confirmation = optin.confirmation_for_token(token)
    except optin.LinkRefused as refused:
        return render(
            request,
            "emails/public/optin_confirm.html",
            {"refused": refused.why},
            status=410 if refused.why == "expired" else 404,
        )
    done = ""
    if request.method == "POST":
        done = optin.confirmation_confirm(
            confirmation=confirmation,
            ip=_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ).outcome
    return render(
        request,
        "emails/public/optin_confirm.html",
        {"token": token, "workspace": confirmation.workspace, "done": done},
    )
