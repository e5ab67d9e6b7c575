"""Writes for workspaces, users, memberships and API tokens."""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from volano.core import geography
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


def membership_set(
    *,
    workspace: Workspace,
    user: User,
    role: str,
    regions: list[str] | None = None,
    provinces: list[str] | None = None,
    product_lines: list[str] | None = None,
) -> Membership:
    """Give a user a role in a workspace (a sales rep may carry territories and product lines)."""
    if role not in Role.values:
        raise ApplicationError(
            f"unknown role {role!r}: use one of {', '.join(Role.values)}", field="role"
        )
    clean_regions = []
    for text in regions or []:
        if not (name := geography.region_name(text)):
            raise ApplicationError(f"{text!r} is not an Italian region", field="regions")
        clean_regions.append(name)
    clean_provinces = []
    for text in provinces or []:
        if not (code := geography.province_code(text)):
            raise ApplicationError(f"{text!r} is not an Italian province", field="provinces")
        clean_provinces.append(code)
    membership, _ = Membership.objects.update_or_create(
        user=user,
        workspace=workspace,
        defaults={
            "role": role,
            "regions": clean_regions,
            "provinces": clean_provinces,
            "product_lines": [p.strip() for p in product_lines or [] if p.strip()],
        },
    )
    return membership


def token_create(*, workspace: Workspace, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Make a bearer token; the raw value is returned once and never stored."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ApplicationError(f"{user.email} is not a member of {workspace.slug}", field="user")
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
                )
            return token, raw
        except IntegrityError:
            continue
    raise ApplicationError("could not create a unique token, try again")


def token_revoke(*, workspace: Workspace, token_id: int) -> None:
    updated = ApiToken.objects.filter(workspace=workspace, pk=token_id, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise NotFound("no such token")
