"""Writes for workspaces, users, memberships and API tokens."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from volano.core import geography, selectors
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, NotFound
from volano.core.models import ApiToken, Membership, Role, User, Workspace

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")


def workspace_create(
    *, slug: str, name: str, currency: str = "EUR", language: str = "it"
) -> Workspace:
    if not SLUG_RE.match(slug):
        raise ApplicationError(
            "a workspace slug is 2-60 lowercase letters, digits or hyphens", field="slug"
        )
    if Workspace.objects.filter(slug=slug).exists():
        raise ApplicationError(f"workspace {slug!r} already exists", field="slug")
    return Workspace.objects.create(
        slug=slug,
        name=name.strip() or slug,
        currency=currency.upper(),
        language=language,
        tracking_key=secrets.token_urlsafe(16),
    )


def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise ApplicationError(f"user {email} already exists", field="email")
    return User.objects.create_user(email, password, full_name=full_name)


def _territory(
    regions: list[str] | None, provinces: list[str] | None, product_lines: list[str] | None
) -> dict[str, list[str]]:
    """Regions and provinces by their official names and codes, product lines trimmed."""
    clean_regions = []
    for text in regions or []:
        if not (name := geography.region_name(text)):
            raise ApplicationError(
                _("%(value)r is not an Italian region") % {"value": text}, field="regions"
            )
        clean_regions.append(name)
    clean_provinces = []
    for text in provinces or []:
        if not (code := geography.province_code(text)):
            raise ApplicationError(
                _("%(value)r is not an Italian province") % {"value": text}, field="provinces"
            )
        clean_provinces.append(code)
    return {
        "regions": clean_regions,
        "provinces": clean_provinces,
        "product_lines": [p.strip() for p in product_lines or [] if p.strip()],
    }


def _role_check(role: str) -> None:
    if role not in Role.values:
        raise ApplicationError(
            _("unknown role %(role)r: use one of %(roles)s")
            % {"role": role, "roles": ", ".join(Role.values)},
            field="role",
        )


def _last_admin(workspace: Workspace, user: User) -> bool:
    """True when the user is the workspace's only administrator (checked under a row lock)."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Role.ADMIN)
        .values_list("user_id", flat=True)
    )
    return admins == [user.pk]


LAST_ADMIN_MESSAGE = _lazy(
    "The workspace needs at least one administrator: make someone else administrator first."
)


@transaction.atomic
def membership_set(
    *,
    workspace: Workspace,
    user: User,
    role: str,
    regions: list[str] | None = None,
    provinces: list[str] | None = None,
    product_lines: list[str] | None = None,
) -> Membership:
    """Give a user a role in a workspace (a sales rep may carry territories and product lines).

    The workspace's last administrator cannot be given another role."""
    _role_check(role)
    territory = _territory(regions, provinces, product_lines)
    if role != Role.ADMIN and _last_admin(workspace, user):
        raise ApplicationError(str(LAST_ADMIN_MESSAGE), field="role")
    membership, _created = Membership.objects.update_or_create(
        user=user, workspace=workspace, defaults={"role": role, **territory}
    )
    return membership


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor: User | None, user: User) -> None:
    """Take a member out of the workspace; their API tokens there are revoked with it.

    The workspace's last administrator cannot be removed."""
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None:
        raise NotFound(
            _("%(email)s is not a member of this workspace") % {"email": user.email},
            field="user",
        )
    if membership.role == Role.ADMIN and _last_admin(workspace, user):
        raise ApplicationError(str(LAST_ADMIN_MESSAGE), field="user")
    ApiToken.objects.filter(workspace=workspace, user=user, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    activity_record(
        workspace=workspace,
        actor=actor,
        verb="membership.remove",
        obj=membership,
        changes={"user": [user.email, None]},
    )
    membership.delete()


TOKEN_EXPIRY_DAYS_MAX = 3650
TOKEN_NAME_MAX = 100


def token_create(
    *, workspace: Workspace, user: User, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """Make a bearer token; the raw value is returned once and never stored.

    `expires_days` None: the token works until revoked; otherwise it stops working that many
    days from now."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ApplicationError(
            _("%(email)s is not a member of %(workspace)s")
            % {"email": user.email, "workspace": workspace.slug},
            field="user",
        )
    name = name.strip()
    if "\x00" in name:
        raise ApplicationError(_("a token name cannot contain a NUL character"), field="name")
    if len(name) > TOKEN_NAME_MAX:
        raise ApplicationError(
            _("a token name is at most %(max)d characters") % {"max": TOKEN_NAME_MAX},
            field="name",
        )
    expires_at = None
    if expires_days is not None:
        if not 1 <= expires_days <= TOKEN_EXPIRY_DAYS_MAX:
            raise ApplicationError(
                _("a token expires in 1 to %(max)d days") % {"max": TOKEN_EXPIRY_DAYS_MAX},
                field="expires_days",
            )
        expires_at = timezone.now() + dt.timedelta(days=expires_days)
    for _attempt in range(3):
        raw = f"vol_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    workspace=workspace,
                    user=user,
                    name=name,
                    prefix=raw[:12],
                    key_hash=ApiToken.hash(raw),
                    expires_at=expires_at,
                )
                activity_record(
                    workspace=workspace,
                    actor=user,
                    verb="token.create",
                    obj=token,
                    changes={"name": name, "prefix": token.prefix},
                )
            return token, raw
        except IntegrityError:
            continue
    raise ApplicationError(_("could not create a unique token, try again"))


def token_revoke(*, workspace: Workspace, actor: User | None, token_id: int) -> ApiToken:
    """Revoke a token of the workspace: from then on it gets 401.

    A user revokes their own tokens and an administrator any of the workspace's; `actor` None is
    the operator on the command line. Revoking a revoked token changes nothing."""
    tokens = selectors.tokens_visible(workspace=workspace, user=actor)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("no token %(id)s in this workspace") % {"id": token_id}, field="token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        with transaction.atomic():
            ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
                revoked_at=token.revoked_at
            )
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="token.revoke",
                obj=token,
                changes={"name": token.name, "prefix": token.prefix},
            )
    return token
