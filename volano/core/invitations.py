"""Inviting people to a workspace: the invitation, its link, its email, and accepting it.

The link is `<base url>/invite/<token>/`, where the token is `<invitation id>.<secret>` signed
with the install's SECRET_KEY (django.core.signing): a token that was tampered with fails the
signature before any lookup. Only the SHA-256 of the secret is stored, so the database alone
does not open an invitation. A token works once, until `expires_at` (7 days by default), and
not after the invitation was cancelled or resent (a resend makes a new secret).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.mail import PERSONAL_HEADER, workspace_headers
from volano.core.models import Invitation, Membership, User, Workspace
from volano.core.services import _role_check, _territory

INVITATION_DAYS = 7
INVITATION_DAYS_MAX = 30
_SIGNER_SALT = "volano.core.invitation"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token(invitation: Invitation) -> str:
    """A fresh secret for the invitation (stored hashed) and the signed token carrying it."""
    secret = secrets.token_urlsafe(24)
    invitation.secret_hash = _hash(secret)
    return signing.Signer(salt=_SIGNER_SALT).sign(f"{invitation.pk}.{secret}")


def invitation_url(token: str) -> str:
    return settings.VOLANO_BASE_URL.rstrip("/") + reverse("invitation_accept", args=[token])


def _send(invitation: Invitation, token: str) -> None:
    """The invitation email, in the workspace's language, after the transaction commits."""
    workspace = invitation.workspace
    inviter = invitation.invited_by
    with translation.override(workspace.language or settings.LANGUAGE_CODE):
        context = {
            "workspace": workspace,
            "inviter": str(inviter) if inviter else "",
            "role": invitation.get_role_display(),
            "url": invitation_url(token),
            "expires_at": invitation.expires_at,
        }
        subject = _("You are invited to %(workspace)s on Volano") % {"workspace": workspace.name}
        body = render_to_string("core/invitation_email.txt", context)
    # personal: the link signs its holder in, so no outbox page ever lists it
    headers = {**workspace_headers(workspace), PERSONAL_HEADER: "invitation"}
    message = EmailMessage(subject, body, to=[invitation.email], headers=headers)
    transaction.on_commit(message.send)


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            _("%(value)r is not an email address") % {"value": email}, field="email"
        ) from None
    return email


def _expiry(expires_days: int | None):
    days = INVITATION_DAYS if expires_days is None else expires_days
    if not 1 <= days <= INVITATION_DAYS_MAX:
        raise ApplicationError(
            _("an invitation expires in 1 to %(max)d days") % {"max": INVITATION_DAYS_MAX},
            field="expires_days",
        )
    return timezone.now() + dt.timedelta(days=days)


@transaction.atomic
def invitation_create(
    *,
    workspace: Workspace,
    actor: User | None,
    email: str,
    role: str,
    regions: list[str] | None = None,
    provinces: list[str] | None = None,
    product_lines: list[str] | None = None,
    expires_days: int | None = None,
) -> Invitation:
    """Invite an email address with a role; the email with the link goes out after commit.

    A pending invitation of the same address to this workspace is replaced (its link stops
    working); an address that is already a member is refused."""
    email = _clean_email(email)
    _role_check(role)
    territory = _territory(regions, provinces, product_lines)
    expires_at = _expiry(expires_days)
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise ApplicationError(
            _("%(email)s is already a member of this workspace") % {"email": email},
            field="email",
        )
    now = timezone.now()
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at=None, cancelled_at=None
    ).update(cancelled_at=now)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=expires_at,
        sent_at=now,
        **territory,
    )
    token = _new_token(invitation)
    invitation.save(update_fields=["secret_hash"])
    _send(invitation, token)
    return invitation


def _pending(workspace: Workspace, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .filter(workspace=workspace, pk=invitation_id, accepted_at=None, cancelled_at=None)
        .select_related("workspace", "invited_by")
        .first()
    )
    if invitation is None:
        raise NotFound(
            _("no open invitation %(id)s in this workspace") % {"id": invitation_id},
            field="invitation",
        )
    return invitation


@transaction.atomic
def invitation_resend(
    *, workspace: Workspace, actor: User | None, invitation_id: int, expires_days: int | None = None
) -> Invitation:
    """Send the invitation again with a new link and a new expiry; the old link stops working."""
    invitation = _pending(workspace, invitation_id)
    invitation.expires_at = _expiry(expires_days)
    invitation.sent_at = timezone.now()
    token = _new_token(invitation)
    invitation.save(update_fields=["expires_at", "sent_at", "secret_hash"])
    _send(invitation, token)
    return invitation


@transaction.atomic
def invitation_cancel(
    *, workspace: Workspace, actor: User | None, invitation_id: int
) -> Invitation:
    invitation = _pending(workspace, invitation_id)
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    return invitation


def invitation_open(*, token: str, lock: bool = False) -> Invitation:
    """The pending invitation a token opens, or an ApplicationError saying why it does not."""
    invalid = ApplicationError(
        _("This invitation link is not valid. Ask for a new invitation."), field="token"
    )
    try:
        value = signing.Signer(salt=_SIGNER_SALT).unsign(token)
    except signing.BadSignature:
        raise invalid from None
    id_text, _sep, secret = value.partition(".")
    if not id_text.isdigit() or not secret:
        raise invalid
    invitations = Invitation.objects.select_related("workspace", "invited_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(pk=int(id_text)).first()
    if invitation is None or not hmac.compare_digest(invitation.secret_hash, _hash(secret)):
        raise invalid
    if invitation.accepted_at is not None:
        raise ApplicationError(
            _("This invitation was already used. Sign in, or ask for a new invitation."),
            field="token",
        )
    if invitation.cancelled_at is not None:
        raise ApplicationError(
            _("This invitation was withdrawn. Ask for a new invitation."), field="token"
        )
    if invitation.expires_at <= timezone.now():
        raise ApplicationError(
            _("This invitation has expired. Ask for a new invitation."), field="token"
        )
    return invitation


def invitation_registered_user(invitation: Invitation) -> User | None:
    """The existing account with the invited address, if there is one."""
    return User.objects.filter(email=invitation.email).first()


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
    password_again: str = "",
) -> tuple[Invitation, User]:
    """Accept an invitation: the membership with the invited role is created, and the token is
    used up. `user` is the signed-in account (it must have the invited address); without one a
    new account is made with `full_name` and `password` (Django's password validators)."""
    invitation = invitation_open(token=token, lock=True)
    existing = invitation_registered_user(invitation)
    if existing is not None:
        if user is None or user.pk != existing.pk:
            raise ApplicationError(
                _("%(email)s already has an account: sign in with it to accept.")
                % {"email": invitation.email},
                field="email",
            )
        account = existing
    else:
        if user is not None and user.is_authenticated:
            raise ApplicationError(
                _("This invitation is for %(email)s: sign out first to accept it.")
                % {"email": invitation.email},
                field="email",
            )
        account = _account_create(invitation, full_name, password, password_again)
    Membership.objects.update_or_create(
        user=account,
        workspace=invitation.workspace,
        defaults={
            "role": invitation.role,
            "regions": invitation.regions,
            "provinces": invitation.provinces,
            "product_lines": invitation.product_lines,
        },
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = account
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return invitation, account


def _account_create(invitation: Invitation, full_name: str, password: str, again: str) -> User:
    errors = []
    full_name = (full_name or "").strip()
    if not full_name:
        errors.append({"field": "full_name", "message": _("Write your name.")})
    if password != again:
        errors.append({"field": "password_again", "message": _("The two passwords differ.")})
    candidate = User(email=invitation.email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as error:
        errors.extend({"field": "password", "message": message} for message in error.messages)
    if errors:
        raise ValidationFailed(errors)
    return User.objects.create_user(
        invitation.email,
        password,
        full_name=full_name,
        language=invitation.workspace.language or "",
    )


def invitations_pending(*, workspace: Workspace):
    """The workspace's invitations still waiting for an answer (expired ones included, marked
    by their date), newest first."""
    return Invitation.objects.filter(
        workspace=workspace, accepted_at=None, cancelled_at=None
    ).select_related("invited_by")
