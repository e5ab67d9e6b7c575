"""Double opt-in: the confirmation email a public form's sign-up receives, and the click that
turns the pending consent into a granted one with its proof (docs/emails.md, "Double opt-in").

- The events domain records the consent as *pending* and announces
  `ConsentConfirmationRequested`; `confirmation_request` (the emails domain's reaction, after
  commit) sends one transactional message with a signed link, at most once per
  `VOLANO_OPTIN_RESEND_MINUTES` per contact, so re-submitting the form cannot flood an inbox.
- The link (`/e/confirm/<token>/`) is signed like the tracking tokens, with its own salt, and
  expires after `VOLANO_OPTIN_LINK_DAYS`. A GET only shows a page with one button (link
  scanners follow links); the POST confirms.
- Confirming grants the consent through the contacts' consent service, with the proof: when,
  the IP and user agent of the click, the form, the consent text the form showed and the
  Message-ID of the confirmation. The `consent_changed` event reads on the timeline. A second
  click changes nothing; a consent revoked or denied since is never re-granted by an old link.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from volano.contacts import services as contact_services
from volano.contacts.models import Consent, ConsentStatus, Contact
from volano.core.models import Workspace
from volano.emails import tracking
from volano.emails.models import Delivery, MailingKind, OptInConfirmation
from volano.emails.sending.renderers import RenderedEmail, register_renderer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from volano.emails.models import Mailing

logger = logging.getLogger(__name__)

CONFIRM_SALT = "volano.emails.optin"
RENDERER = "double_opt_in"


def link_max_age() -> dt.timedelta:
    return dt.timedelta(days=float(getattr(settings, "VOLANO_OPTIN_LINK_DAYS", 7)))


def resend_after() -> dt.timedelta:
    return dt.timedelta(minutes=float(getattr(settings, "VOLANO_OPTIN_RESEND_MINUTES", 10)))


def confirm_token(confirmation_id: int) -> str:
    return signing.dumps([confirmation_id], salt=CONFIRM_SALT, compress=True)


def confirm_url(confirmation_id: int) -> str:
    return tracking.absolute(reverse("emails:optin_confirm", args=[confirm_token(confirmation_id)]))


class LinkRefused(Exception):
    """A confirmation link that is not (or no longer) good: `why` is "invalid" or "expired"."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def confirmation_for_token(token: str) -> OptInConfirmation:
    """The confirmation a link names; LinkRefused("expired") after the link's lifetime,
    LinkRefused("invalid") for a tampered, made-up or deleted one."""
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=link_max_age())
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("invalid") from None
    if not isinstance(value, list) or not value or not isinstance(value[0], int):
        raise LinkRefused("invalid")
    found = (
        OptInConfirmation.all_workspaces.select_related("workspace", "contact")
        .filter(pk=value[0])
        .first()
    )
    if found is None:
        raise LinkRefused("invalid")
    return found


# -- the confirmation email ------------------------------------------------------------------


def confirmation_request(
    *, workspace: Workspace, contact_id: int, purpose: str, form: str, ip: str | None
) -> OptInConfirmation | None:
    """Send the confirmation email of a pending consent (the reaction to
    ConsentConfirmationRequested). Nothing when the consent is no longer pending, the contact
    has no address, or a confirmation left less than `resend_after()` ago (so running twice, or
    a form posted again and again, sends at most one per window). Returns the new row."""
    from volano.emails.sending.services import mailing_create, mailing_send

    contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
    if contact is None or not contact.email:
        return None
    with transaction.atomic():
        # the consent row, locked: two runs of this reaction for one contact take turns
        consent = (
            Consent.objects.for_workspace(workspace)
            .select_for_update()
            .filter(contact=contact, purpose=purpose)
            .first()
        )
        if consent is None or consent.status != ConsentStatus.PENDING:
            return None
        recent = OptInConfirmation.objects.for_workspace(workspace).filter(
            contact=contact, purpose=purpose, created_at__gte=timezone.now() - resend_after()
        )
        if recent.exists():
            return None
        confirmation = OptInConfirmation.objects.create(
            workspace=workspace, contact=contact, purpose=purpose, form=form, requested_ip=ip
        )
        mailing = mailing_create(
            workspace=workspace,
            actor=None,
            kind=MailingKind.TRANSACTIONAL,
            renderer=RENDERER,
            params={"confirmation": confirmation.pk},
            audience_queryset=Contact.objects.for_workspace(workspace).filter(pk=contact.pk),
            name=f"Double opt-in: {form}"[:200],
            campaign="double-opt-in",
        )
        OptInConfirmation.all_workspaces.filter(pk=confirmation.pk).update(mailing=mailing)
        confirmation.mailing = mailing
        mailing_send(workspace=workspace, actor=None, mailing=mailing)
    return confirmation


def _message(workspace: Workspace, contact: Contact, url: str) -> RenderedEmail:
    """The built-in confirmation text, in the contact's language (the workspace's otherwise)."""
    language = (contact.language or workspace.language or "it")[:2]
    with translation.override(language):
        subject = _("Confirm your subscription to %(name)s") % {"name": workspace.name}
        hello = (
            _("Hello %(first_name)s,") % {"first_name": contact.first_name}
            if contact.first_name
            else _("Hello,")
        )
        ask = _(
            "you asked %(name)s to send you email. To confirm, open this link and press the "
            "button on the page:"
        ) % {"name": workspace.name}
        expires = _(
            "The link works for %(days)s days. If you did not ask for this, ignore this email: "
            "without your confirmation you will receive no marketing email."
        ) % {"days": f"{link_max_age().total_seconds() / 86400:g}"}
        button = _("Confirm my subscription")
    text = f"{hello}\n\n{ask}\n\n{url}\n\n{expires}\n\n-- \n{workspace.name}\n"
    html = (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;line-height:1.5">'
        f"<p>{escape(hello)}</p><p>{escape(ask)}</p>"
        f'<p><a href="{escape(url)}" style="display:inline-block;padding:10px 18px;'
        f'background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:4px">'
        f"{escape(button)}</a></p>"
        f'<p style="font-size:13px;color:#555">{escape(url)}</p>'
        f"<p>{escape(expires)}</p><p>— {escape(workspace.name)}</p></body></html>"
    )
    return RenderedEmail(subject=subject, html=html, text=text)


def confirmation_renderer(
    mailing: Mailing, contacts: Iterable[Contact]
) -> dict[int, RenderedEmail]:
    """The renderer "double_opt_in": the confirmation message with the link of the row its
    mailing names (`params["confirmation"]`)."""
    confirmation_id = (mailing.params or {}).get("confirmation")
    if not isinstance(confirmation_id, int):
        return {}
    confirmation = (
        OptInConfirmation.all_workspaces.filter(
            pk=confirmation_id, workspace_id=mailing.workspace_id
        )
        .select_related("workspace")
        .first()
    )
    if confirmation is None:
        return {}
    url = confirm_url(confirmation.pk)
    return {
        contact.pk: _message(confirmation.workspace, contact, url)
        for contact in contacts
        if contact.pk == confirmation.contact_id
    }


register_renderer(RENDERER, confirmation_renderer)


# -- the click ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation did: "confirmed" (the consent is granted now), "already" (it was
    granted before: a second click) or "withdrawn" (revoked or denied since: left as it is)."""

    outcome: str
    workspace: Workspace


def confirmation_confirm(
    *, confirmation: OptInConfirmation, ip: str | None, user_agent: str
) -> Confirmed:
    """Grant the pending consent the link was sent for, with the proof of this click."""
    workspace = confirmation.workspace
    contact = Contact.objects.for_workspace(workspace).get(pk=confirmation.contact_id)
    now = timezone.now()
    with transaction.atomic():
        consent = (
            Consent.objects.for_workspace(workspace)
            .select_for_update()
            .filter(contact=contact, purpose=confirmation.purpose)
            .first()
        )
        status = consent.status if consent is not None else None
        if status == ConsentStatus.GRANTED:
            return Confirmed("already", workspace)
        if status != ConsentStatus.PENDING:
            return Confirmed("withdrawn", workspace)
        delivery = (
            Delivery.all_workspaces.filter(mailing_id=confirmation.mailing_id).first()
            if confirmation.mailing_id is not None
            else None
        )
        message_id = (
            (delivery.message_id or f"delivery {delivery.pk}") if delivery is not None else "?"
        )
        agent = (user_agent or "")[:300]
        asked = consent.proof if consent is not None else ""
        proof = (
            f"{asked}\n"
            f"Confirmed by email (double opt-in) at {now.isoformat()} from IP {ip or '?'}, "
            f"user agent {agent or '?'}; confirmation message {message_id}; "
            f"form {confirmation.form}; asked at {confirmation.created_at.isoformat()}"
        ).strip()
        contact_services.consent_set(
            workspace=workspace,
            actor=None,  # the address owner, through the link
            contact=contact,
            purpose=confirmation.purpose,
            status=ConsentStatus.GRANTED,
            source="email:double_opt_in",
            ip=ip,
            form=confirmation.form,
            proof=proof,
            at=now,
        )
        OptInConfirmation.all_workspaces.filter(pk=confirmation.pk).update(
            confirmed_at=now, confirmed_ip=ip, confirmed_user_agent=agent
        )
    return Confirmed("confirmed", workspace)
