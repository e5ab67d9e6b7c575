"""The workspace's suppression list and soft-bounce counters: addresses never written to again."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from volano.core.models import Workspace
from volano.emails.models import SoftBounce, Suppression

SOFT_BOUNCES_IN_A_ROW = 3  # soft bounces in a row that suppress an address


def normalise(address: str) -> str:
    return (address or "").strip().lower()


def suppression_add(*, workspace: Workspace, address: str, reason: str, source: str = "") -> bool:
    """Suppress an address (idempotent); True when it was not suppressed yet."""
    address = normalise(address)
    if not address:
        return False
    try:
        with transaction.atomic():
            Suppression.objects.create(
                workspace=workspace, address=address, reason=reason, source=source[:200]
            )
    except IntegrityError:
        return False
    return True


def is_suppressed(*, workspace: Workspace, address: str) -> bool:
    return Suppression.objects.for_workspace(workspace).filter(address=normalise(address)).exists()


def soft_bounce_record(*, workspace: Workspace, address: str, source: str = "") -> int:
    """One more soft bounce in a row; at SOFT_BOUNCES_IN_A_ROW the address is suppressed.
    Returns the count."""
    address = normalise(address)
    with transaction.atomic():
        row, created = SoftBounce.objects.for_workspace(workspace).get_or_create(
            address=address, defaults={"workspace": workspace, "count": 1}
        )
        if not created:
            SoftBounce.all_workspaces.filter(pk=row.pk).update(
                count=F("count") + 1, last_at=timezone.now()
            )
            row.refresh_from_db()
    if row.count >= SOFT_BOUNCES_IN_A_ROW:
        suppression_add(
            workspace=workspace,
            address=address,
            reason="hard_bounce",
            source=f"{row.count} soft bounces in a row; {source}",
        )
    return row.count


def soft_bounces_reset(*, workspace_id: int, addresses: list[str]) -> None:
    """A delivery went through: the counters of these addresses start again."""
    if addresses:
        SoftBounce.all_workspaces.filter(
            workspace_id=workspace_id, address__in=[normalise(a) for a in addresses], count__gt=0
        ).update(count=0)
