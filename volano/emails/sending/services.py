"""Sending services: create a mailing's outbox for an audience (one INSERT … SELECT), start it,
and the worker's claim-and-send loop.

Exactly once (docs/emails.md, "Sending"): a row is claimed in a transaction that also checks
consent, suppression and the address (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
IMMEDIATE transactions serialise claims), under a token of its own (`claimed_by`, new at each
claim), then sent; "sent" is written, in its own statement, right after the server accepted the
message, and only while no one else holds the row. A worker killed after claiming leaves rows
"claimed": after the claim lease they go back to "queued" and are sent by another worker. A
live worker keeps the claims it holds (`Claims.keep`, every quarter of the lease), so a slow
server never lets its rows go back to the queue while it still has them; a row it finds gone
back all the same is never handed to SMTP by it. The one message that can be sent twice is the
one whose server acceptance and "sent" write a crash fell between (at most one per killed
worker); it is sent again with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import secrets
import smtplib
import socket
import time
import uuid
from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.contacts.models import Contact, email_marketing_granted
from volano.core.activity import activity_record
from volano.core.db import db_now, json_object_sql
from volano.core.errors import ApplicationError
from volano.core.facts import EventsAppended
from volano.core.mail import workspace_headers
from volano.core.models import Workspace
from volano.core.reactions import announce
from volano.emails import tracking
from volano.emails.models import (
    MARKETING_KINDS,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingKind,
    MailingStatus,
    SkipReason,
    Suppression,
)
from volano.emails.policy import email_policy_get, policy_quiet_until
from volano.emails.sending.renderers import renderer_get
from volano.emails.sending.transport import (
    Outcome,
    Prepared,
    SmtpChild,
    Transport,
    child_errors,
    classify,
    connection_lost,
)
from volano.emails.suppression import suppression_add
from volano.events.models import Channel, Event, EventType
from volano.events.services import system_events_insert_select

logger = logging.getLogger(__name__)

# rows per claim: small, so a consent revoked during a send is seen within a second (each claim
# checks consent, suppression and the cap again), large enough that a claim's own statements,
# loading and rendering its contacts and writing its events are a small part of each message
BATCH = 100
# messages handed to the SMTP process and not yet answered: two batches, so the process sends
# one while the worker claims, renders and builds the next (it never waits for the worker)
AHEAD = 2 * BATCH
MAX_ATTEMPTS = 8


def claim_lease() -> dt.timedelta:
    """How long a claimed row belongs to its worker before it is deemed dead."""
    return dt.timedelta(seconds=float(os.environ.get("VOLANO_EMAIL_CLAIM_LEASE", "300")))


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff after a 4xx or a connection error: base × 2^(attempts-1), ≤ 1 h."""
    base = float(os.environ.get("VOLANO_EMAIL_BACKOFF_BASE", "30"))
    return dt.timedelta(seconds=min(3600.0, base * 2 ** max(0, attempts - 1)))


# Called with a mailing's id once it has finished (every row sent, skipped, bounced or failed),
# by the worker that finished it; the broadcasts register theirs (a broadcast whose mailings
# have all finished becomes "sent"). A hook that raises is logged, never the worker's failure;
# the sweeper's pass catches what a crashed worker left undone.
_FINISHED_HOOKS: list[Callable[[int], object]] = []


def on_mailing_finished(fn: Callable[[int], object]) -> Callable[[int], object]:
    """Register `fn(mailing_id)`, run after a mailing finished sending."""
    if fn not in _FINISHED_HOOKS:
        _FINISHED_HOOKS.append(fn)
    return fn


def _mailing_finished(mailing_id: int) -> None:
    for hook in _FINISHED_HOOKS:
        try:
            hook(mailing_id)
        except Exception:
            logger.exception("mailing %s: a finished hook failed", mailing_id)


def queue_of(kind: str) -> str:
    """Marketing mail on the `email` queue; the rest on `transactional`, never behind it."""
    return "email" if kind in MARKETING_KINDS else "transactional"


# -- creating and starting ----------------------------------------------------------------------


def mailing_create(
    *,
    workspace: Workspace,
    actor,
    kind: str,
    renderer: str,
    params: dict | None = None,
    audience_queryset: QuerySet[Contact],
    name: str = "",
    campaign: str = "",
    from_email: str = "",
    mailer: str = "default",
) -> Mailing:
    """A mailing and its outbox: one Delivery per contact of `audience_queryset` (a segment's
    or a list's contacts, or any Contact queryset), written by one INSERT … SELECT. Contacts of
    another workspace in the queryset are left out. Nothing is sent until `mailing_send`.

    `audience_queryset` may also be rows of a workspace-scoped model that name **one contact
    each** (`contact` foreign key; a segment's current memberships, a list's memberships): their
    contact ids are read without joining the contacts, the fastest way to a large outbox. A
    contact named twice is refused (the outbox is unique per mailing and contact)."""
    if kind not in MailingKind.values:
        raise ApplicationError(
            _("unknown mailing kind %(kind)s") % {"kind": repr(kind)}, field="kind"
        )
    if renderer_get(renderer) is None:
        raise ApplicationError(
            _("unknown renderer %(renderer)s") % {"renderer": repr(renderer)}, field="renderer"
        )
    if mailer not in getattr(settings, "MAILERS", {}):
        raise ApplicationError(
            _("unknown mailer %(mailer)s") % {"mailer": repr(mailer)}, field="mailer"
        )
    now = timezone.now()
    if kind in MARKETING_KINDS:
        # the workspace's policy exists from its first marketing mailing on, made here (by the
        # web process) rather than by whichever worker claims first
        email_policy_get(workspace=workspace)
    with transaction.atomic():
        mailing = Mailing.objects.create(
            workspace=workspace,
            kind=kind,
            name=name,
            campaign=campaign or name,
            renderer=renderer,
            params=params or {},
            from_email=from_email,
            mailer=mailer,
            created_by=actor,
        )
        count = _deliveries_insert(workspace, mailing, audience_queryset, now, fresh=True)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="mailing.create",
            obj=mailing,
            changes={"kind": kind, "renderer": renderer, "recipients": count},
        )
    return mailing


def _names_contacts(model: type) -> bool:
    """A workspace-scoped model whose rows each name a contact (`contact` foreign key)."""
    try:
        field = model._meta.get_field("contact")  # type: ignore[attr-defined]
        model._meta.get_field("workspace")  # type: ignore[attr-defined]
    except Exception:
        return False
    return getattr(field, "related_model", None) is Contact and not field.null


def _deliveries_insert(
    workspace: Workspace,
    mailing: Mailing,
    audience_queryset: QuerySet[Contact],
    now: dt.datetime,
    *,
    fresh: bool = False,
) -> int:
    """One INSERT … SELECT of a queued Delivery per contact of the audience (of this workspace)
    that the mailing does not write to yet; returns how many rows were added. `fresh`: the
    mailing was made in this transaction, so it writes to nobody yet and no other transaction
    can add to it: the insert goes without ON CONFLICT (its speculative insertion per row was
    a third of writing a 900,000-row outbox)."""
    if audience_queryset.model is Contact and not audience_queryset.query.combinator:
        # the audience's own statement, kept to this workspace: no second pass over contacts
        audience = audience_queryset.filter(workspace_id=workspace.pk).order_by().values("pk")
        if len(audience.query.alias_map) > 1:  # a join may repeat a contact
            audience = audience.distinct()
    elif _names_contacts(audience_queryset.model):
        # rows that name one contact each (a segment's current memberships, a list's): their
        # contact ids read as they are, not joined to the contacts (for a 900,000-member
        # segment the join cost 6 s of PostgreSQL's time, docs/benchmarks.md)
        audience = (
            audience_queryset.filter(workspace_id=workspace.pk)
            .order_by()
            .values(pk=F("contact_id"))
        )
    else:
        audience = (
            Contact.objects.for_workspace(workspace)
            .filter(pk__in=audience_queryset.values("pk"))
            .values("pk")
        )
    sql, audience_params = audience.query.sql_with_params()
    table = Delivery._meta.db_table
    q = connection.ops.quote_name
    columns = [
        "workspace_id", "mailing_id", "contact_id", "status", "reason", "address", "attempts",
        "next_attempt_at", "claimed_by", "message_id", "provider_message_id", "bounce_kind",
        "error",
    ]  # fmt: skip
    next_at = db_now(now)
    statement = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
        f"SELECT %s, %s, a.{q('pk')}, %s, '', '', 0, %s, '', '', '', '', '' "
        f"FROM ({sql}) a WHERE 1 = 1"  # WHERE: SQLite needs it before ON CONFLICT
        + ("" if fresh else " ON CONFLICT DO NOTHING")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [workspace.pk, mailing.pk, DeliveryStatus.QUEUED, next_at, *audience_params],
        )
        count = cursor.rowcount
    return count


def mailing_add_audience(
    *, workspace: Workspace, actor, mailing: Mailing, audience_queryset: QuerySet[Contact]
) -> int:
    """Append the contacts of `audience_queryset` to a mailing's outbox (one INSERT … SELECT;
    a contact it already writes to is left alone) and have them sent: a mailing that had
    finished sends again, its worker task enqueued after commit. A workflow's send step keeps
    one mailing and appends each batch of contacts that reach it. Returns how many were added."""
    from volano.core.tenancy import ensure_in_workspace

    ensure_in_workspace(mailing, workspace)
    if mailing.status == MailingStatus.CANCELLED:
        raise ApplicationError(_("This mailing was cancelled."), field="mailing")
    now = timezone.now()
    with transaction.atomic():
        count = _deliveries_insert(workspace, mailing, audience_queryset, now)
        if count:
            Mailing.all_workspaces.filter(pk=mailing.pk).update(
                status=MailingStatus.SENDING,
                started_at=mailing.started_at or now,
                finished_at=None,
                heartbeat_at=now,
            )
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="mailing.add_audience",
                obj=mailing,
                changes={"recipients": count},
            )
            transaction.on_commit(lambda: mailing_enqueue(mailing))
    return count


def mailing_send(*, workspace: Workspace, actor, mailing: Mailing) -> Mailing:
    """Start (or resume) a mailing: its worker task is enqueued after commit on the mailing's
    queue. Sending it again while it sends is harmless (claims never overlap)."""
    from volano.core.tenancy import ensure_in_workspace

    ensure_in_workspace(mailing, workspace)
    if mailing.status == MailingStatus.CANCELLED:
        raise ApplicationError(_("This mailing was cancelled."), field="mailing")
    with transaction.atomic():
        Mailing.all_workspaces.filter(pk=mailing.pk).exclude(status=MailingStatus.SENT).update(
            status=MailingStatus.SENDING, started_at=timezone.now(), heartbeat_at=timezone.now()
        )
        activity_record(workspace=workspace, actor=actor, verb="mailing.send", obj=mailing)
        transaction.on_commit(lambda: mailing_enqueue(mailing))
    mailing.refresh_from_db()
    return mailing


def mailing_enqueue(mailing: Mailing, run_after: dt.datetime | None = None) -> None:
    from volano.emails.tasks import mailing_deliver_task

    task = mailing_deliver_task.using(queue_name=queue_of(mailing.kind))
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(mailing.pk)


def mailing_cancel(*, workspace: Workspace, actor, mailing: Mailing) -> int:
    """Stop a mailing: its rows still queued are skipped no more, just never sent."""
    from volano.core.tenancy import ensure_in_workspace

    ensure_in_workspace(mailing, workspace)
    with transaction.atomic():
        Mailing.all_workspaces.filter(pk=mailing.pk).update(status=MailingStatus.CANCELLED)
        left = Delivery.all_workspaces.filter(mailing=mailing, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.FAILED, error="cancelled"
        )
        activity_record(workspace=workspace, actor=actor, verb="mailing.cancel", obj=mailing)
    return left


def mailing_counts(*, mailing: Mailing) -> dict:
    """Rows by status and skip reason, for reports and the broadcasts page."""
    counts: dict = {s: 0 for s in DeliveryStatus.values}
    skipped: dict = {r: 0 for r in SkipReason.values}
    for row in (
        Delivery.all_workspaces.filter(mailing=mailing)
        .values("status", "reason")
        .annotate(n=Count("id"))
    ):
        counts[row["status"]] += row["n"]
        if row["status"] == DeliveryStatus.SKIPPED:
            skipped[row["reason"]] = skipped.get(row["reason"], 0) + row["n"]
    counts["skipped_by"] = skipped
    counts["opened"] = Delivery.all_workspaces.filter(
        mailing=mailing, opened_at__isnull=False
    ).count()
    counts["clicked"] = Delivery.all_workspaces.filter(
        mailing=mailing, clicked_at__isnull=False
    ).count()
    return counts


# -- claiming -----------------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim_token(worker: str) -> str:
    """A claim's token (`claimed_by`): the worker's name and a part new at each claim, so a row
    that went back to the queue and was claimed again, even by the same worker, is told apart
    from an earlier copy of it still on its way to the server."""
    return f"{worker[:67]}#{secrets.token_hex(6)}"


def _held(rows: list[dict]) -> Q:
    """Those of `rows` still claimed under the claim each was given (`row["claim"]`)."""
    by_claim: dict[str, list[int]] = {}
    for row in rows:
        by_claim.setdefault(row["claim"], []).append(row["id"])
    held = Q(id__in=[])
    for claim, ids in by_claim.items():
        held |= Q(id__in=ids, claimed_by=claim)
    return Q(status=DeliveryStatus.CLAIMED) & held


class Claims:
    """The rows one run of `mailing_deliver` holds (claimed, not yet settled), kept its own
    while it holds them. The claim lease is how another worker tells a dead worker's rows from
    a live one's, so a live worker renews its claims (`claimed_at`) and the mailing's heartbeat
    every quarter of the lease, however long the server takes: with 16 messages in flight
    across batches, or a server that hangs, a row can be held for longer than the lease, and
    the sweeper used to put such rows back in the queue to be claimed and sent a second time
    (18 of 5,000 in test_crash.py with the SMTP process). A row found not held any more (the
    worker could not renew in time) is let go: this run never hands it to SMTP."""

    def __init__(self, mailing: Mailing, now: dt.datetime | None = None) -> None:
        self.mailing = mailing
        self.fixed = now  # the claims' clock in tests (mailing_deliver's `now`)
        self.held: dict[int, str] = {}  # delivery id -> its claim token
        self.every = claim_lease().total_seconds() / 4
        self.kept = time.monotonic()

    def hold(self, rows: list[dict]) -> None:
        for row in rows:
            self.held[row["id"]] = row["claim"]

    def done(self, rows) -> None:
        """`rows` settled (or let go): no longer held."""
        for row in rows:
            if self.held.get(row["id"]) == row["claim"]:
                del self.held[row["id"]]

    def holds(self, row: dict) -> bool:
        return self.held.get(row["id"]) == row["claim"]

    def keep(self, *, force: bool = False) -> None:
        """The held rows' claims renewed, at most every quarter of the lease (or now)."""
        if not force and time.monotonic() - self.kept < self.every:
            return
        self.kept = time.monotonic()
        if not self.held:
            return
        now = self.fixed or timezone.now()
        try:
            rows = Delivery.all_workspaces.filter(
                _held([{"id": ident, "claim": claim} for ident, claim in self.held.items()])
            )
            if rows.update(claimed_at=now) < len(self.held):
                # some were settled meanwhile (the SMTP process wrote them "sent") or, past
                # the lease, queued again: only those still claimed are held
                still = set(rows.values_list("id", flat=True))
                self.held = {ident: claim for ident, claim in self.held.items() if ident in still}
            Mailing.all_workspaces.filter(pk=self.mailing.pk).update(heartbeat_at=now)
        except DatabaseError:  # e.g. a deadlock with the sweeper's reclaim: renewed next time
            logger.warning("mailing %s: the claims could not be renewed", self.mailing.pk)


def deliveries_reclaim(*, mailing_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Rows claimed by a worker that died (claimed longer ago than the lease) go back to the
    queue; returns how many."""
    now = now or timezone.now()
    rows = Delivery.all_workspaces.filter(
        status=DeliveryStatus.CLAIMED, claimed_at__lt=now - claim_lease()
    )
    if mailing_id is not None:
        rows = rows.filter(mailing_id=mailing_id)
    return rows.update(status=DeliveryStatus.QUEUED, claimed_by="", next_attempt_at=now)


def _address_ok(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _recent_marketing(since: dt.datetime) -> Coalesce:
    """The number of marketing messages the row's contact was sent since `since`, plus those
    being sent to them right now (claimed by a worker of another mailing): the frequency cap's
    count, as a correlated subquery over the delivery_contact_sent index."""
    recent = (
        Delivery.all_workspaces.filter(
            Q(status=DeliveryStatus.SENT, sent_at__gte=since) | Q(status=DeliveryStatus.CLAIMED),
            contact_id=OuterRef("contact_id"),
            mailing__kind__in=list(MARKETING_KINDS),
        )
        .order_by()
        .values("contact_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(recent, output_field=IntegerField()), 0)


def claim_batch(
    *, mailing: Mailing, worker: str, size: int = BATCH, now: dt.datetime | None = None
) -> list[dict]:
    """Claim up to `size` due rows of the mailing, in one transaction that also skips (and
    counts) the rows whose contact has no email, a malformed one, a suppressed one or, for
    marketing mail, no granted email_marketing consent at this moment, or already the
    workspace's frequency cap of marketing messages in its window. During the workspace's quiet
    hours a marketing mailing claims nothing: its queued rows are held (one UPDATE) until the
    quiet hours end. Returns the claimed rows as {id, contact_id, address, claim}: `claim` is
    the batch's token in `claimed_by`, under which alone its rows are written (sent, bounced,
    queued again)."""
    now = now or timezone.now()
    policy = email_policy_get(workspace=mailing.workspace_id) if mailing.is_marketing else None
    if policy is not None:
        until = policy_quiet_until(policy, time_zone=mailing.workspace.time_zone, now=now)
        if until is not None:  # held, not dropped: due again when the quiet hours end
            with transaction.atomic():
                Delivery.all_workspaces.filter(
                    mailing_id=mailing.pk,
                    status=DeliveryStatus.QUEUED,
                    next_attempt_at__lt=until,
                ).update(next_attempt_at=until)
                Mailing.all_workspaces.filter(pk=mailing.pk).update(heartbeat_at=now)
            return []
    cap = policy.cap_messages if policy is not None and policy.cap_enabled else None
    # The consent half of contacts' one definition of "emailable" (ContactQuerySet.emailable),
    # as an annotation of this statement so each skipped row keeps its own reason.
    granted = email_marketing_granted("contact_id")
    suppressed = Exists(
        Suppression.all_workspaces.filter(
            workspace_id=mailing.workspace_id, address=Lower(OuterRef("contact__email"))
        )
    )
    annotations: dict = {"granted": granted, "suppressed": suppressed}
    if cap is not None and policy is not None:
        annotations["recent"] = _recent_marketing(now - dt.timedelta(days=policy.cap_days))
    token = claim_token(worker)
    with transaction.atomic():
        due = Delivery.all_workspaces.filter(
            mailing_id=mailing.pk, status=DeliveryStatus.QUEUED, next_attempt_at__lte=now
        ).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:size])
        if not ids:
            return []
        rows = list(
            Delivery.all_workspaces.filter(id__in=ids)
            .annotate(**annotations)
            .values("id", "contact_id", "contact__email", *annotations)
        )
        skip: dict[str, list[int]] = {}
        reason: str
        claimed: list[dict] = []
        # a row whose contact is gone (the outbox's keys are Django's, not the database's: a
        # raw delete could leave one) is skipped, never left queued for ever
        gone = set(ids).difference(row["id"] for row in rows)
        if gone:
            skip[SkipReason.NO_EMAIL] = sorted(gone)
        for row in rows:
            address = (row["contact__email"] or "").strip()
            if not address:
                reason = SkipReason.NO_EMAIL
            elif not _address_ok(address):
                reason = SkipReason.BAD_ADDRESS
            elif row["suppressed"]:
                reason = SkipReason.SUPPRESSED
            elif mailing.is_marketing and not row["granted"]:
                reason = SkipReason.NO_CONSENT
            elif cap is not None and row["recent"] >= cap:
                reason = SkipReason.CAPPED
            else:
                claimed.append(
                    {
                        "id": row["id"],
                        "contact_id": row["contact_id"],
                        "address": address,
                        "claim": token,
                    }
                )
                continue
            skip.setdefault(reason, []).append(row["id"])
        for reason, skip_ids in skip.items():
            Delivery.all_workspaces.filter(id__in=skip_ids).update(
                status=DeliveryStatus.SKIPPED, reason=reason
            )
        if claimed:
            Delivery.all_workspaces.filter(id__in=[r["id"] for r in claimed]).update(
                status=DeliveryStatus.CLAIMED,
                claimed_at=now,
                claimed_by=token,
                attempts=F("attempts") + 1,
            )
        Mailing.all_workspaces.filter(pk=mailing.pk).update(heartbeat_at=now)
    return claimed


# -- sending ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _domain_of(from_email: str) -> str:
    return parseaddr(from_email)[1].rpartition("@")[2] or "localhost"


def message_id_for(mailing: Mailing, delivery_id: int) -> str:
    """The same Message-ID every time this delivery is sent (a resend after a crash too)."""
    domain = _domain_of(mailing.from_email or settings.DEFAULT_FROM_EMAIL)
    return f"<volano.{mailing.pk}.{delivery_id}@{domain}>"


def build_message(
    *, mailing: Mailing, delivery_id: int, address: str, rendered
) -> EmailMultiAlternatives:
    headers = {
        **workspace_headers(mailing.workspace),
        "Message-ID": message_id_for(mailing, delivery_id),
        "X-Volano-Delivery": str(delivery_id),
    }
    html = rendered.html
    text = rendered.text
    if mailing.is_marketing:
        unsubscribe = tracking.unsubscribe_url(delivery_id)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        html = tracking.tracked_html(
            html, delivery_id=delivery_id, campaign=mailing.campaign, unsubscribe=unsubscribe
        )
        text = f"{text.rstrip()}\n\n-- \n{_('Unsubscribe')}: {unsubscribe}\n"
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=text,
        from_email=mailing.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    # an anymail provider sends these back with its webhooks (emails/webhooks.py finds the
    # delivery by them); other backends ignore the attributes
    message.metadata = {"volano_delivery": str(delivery_id)}  # type: ignore[attr-defined]
    message.tags = [str(mailing.kind)]  # type: ignore[attr-defined]
    return message


def _sent_last_hour(mailer: str) -> int:
    return Delivery.all_workspaces.filter(
        status=DeliveryStatus.SENT,
        sent_at__gte=timezone.now() - dt.timedelta(hours=1),
        mailing__mailer=mailer,
    ).count()


def _retry(rows: list[dict], error: str) -> None:
    """Back to the queue, due after the backoff of its attempts; failed after MAX_ATTEMPTS.
    Only rows still held under their claim (one another worker holds now is its own)."""
    if not rows:
        return
    now = timezone.now()
    claims = {row["id"]: row["claim"] for row in rows}
    for row in Delivery.all_workspaces.filter(_held(rows)).values("id", "attempts"):
        mine = Delivery.all_workspaces.filter(
            id=row["id"], status=DeliveryStatus.CLAIMED, claimed_by=claims[row["id"]]
        )
        if row["attempts"] >= MAX_ATTEMPTS:
            mine.update(status=DeliveryStatus.FAILED, error=error[:2000], claimed_by="")
        else:
            mine.update(
                status=DeliveryStatus.QUEUED,
                next_attempt_at=now + backoff(row["attempts"]),
                error=error[:2000],
                claimed_by="",
            )


def _hard_bounce(mailing: Mailing, row: dict, code: int | None, text: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not Delivery.all_workspaces.filter(_held([row])).update(
            status=DeliveryStatus.BOUNCED,
            bounce_kind="hard",
            bounced_at=now,
            address=row["address"],
            message_id=message_id_for(mailing, row["id"]),
            error=f"{code} {text}"[:2000],
        ):
            return  # another worker holds the row now: its send records its own outcome
        suppression_add(
            workspace=mailing.workspace,
            address=row["address"],
            reason="hard_bounce",
            source=f"SMTP {code} at send time, mailing {mailing.pk}",
        )
        Event.objects.create(
            workspace_id=mailing.workspace_id,
            contact_id=row["contact_id"],
            type=EventType.EMAIL_BOUNCED,
            occurred_at=now,
            channel=Channel.EMAIL,
            source="volano",
            campaign=mailing.campaign[:100],
            properties={"delivery": row["id"], "mailing": mailing.pk, "kind": "hard", "code": code},
        )
        announce(
            EventsAppended(
                workspace_id=mailing.workspace_id,
                contact_ids={row["contact_id"]},
                event_types={EventType.EMAIL_BOUNCED},
            )
        )


def _sent_events(mailing: Mailing, sent: list[dict], at: dt.datetime) -> None:
    """One email_sent event per message of the batch, in one INSERT … SELECT from the batch's
    deliveries (Django's bulk_create of the same rows was a sixth of the worker's time a
    message, docs/benchmarks.md)."""
    if not sent:
        return
    ids = [row["id"] for row in sent]
    with transaction.atomic():
        system_events_insert_select(
            workspace=mailing.workspace,
            type=EventType.EMAIL_SENT,
            at=at,
            channel=Channel.EMAIL,
            campaign=mailing.campaign[:100],
            select_sql=(
                f"SELECT d.contact_id, d.id FROM {Delivery._meta.db_table} d "
                f"WHERE d.workspace_id = %s AND d.id IN ({', '.join(['%s'] * len(ids))})"
            ),
            params=[mailing.workspace_id, *ids],
            properties_sql=json_object_sql("delivery", "s.id", "mailing", "%s"),
            properties_params=[mailing.pk],
        )
        announce(
            EventsAppended(
                workspace_id=mailing.workspace_id,
                contact_ids={row["contact_id"] for row in sent},
                event_types={EventType.EMAIL_SENT},
            )
        )


# "sent" is written for a row its sender still holds, or that went back to the queue while the
# server took the message (the lease ran out during a hang): the server has it, so it is sent,
# never claimed and sent again. A row another worker claimed meanwhile is left to that worker.
_SENT_WHERE = (
    f"id = {{mark}} AND ((status = '{DeliveryStatus.CLAIMED}' AND claimed_by = {{mark}}) "
    f"OR status = '{DeliveryStatus.QUEUED}')"
)


def _sent_sql() -> str:
    """The "sent" write of the SMTP process (its driver's placeholders: sent_at, address,
    message_id, id, claim), the same columns and condition as `_mark_sent`."""
    mark = "?" if connection.vendor == "sqlite" else "%s"
    return (
        f"UPDATE {Delivery._meta.db_table} SET status = '{DeliveryStatus.SENT}', "
        f"sent_at = {mark}, address = {mark}, message_id = {mark}, provider_message_id = '', "
        f"claimed_by = '', error = '' WHERE {_SENT_WHERE.format(mark=mark)}"
    )


def _held_sql() -> str:
    """The SMTP process's check before it starts a message (placeholders: id, claim): the row
    is still claimed under the claim the worker was given."""
    mark = "?" if connection.vendor == "sqlite" else "%s"
    return (
        f"SELECT 1 FROM {Delivery._meta.db_table} WHERE id = {mark} "
        f"AND status = '{DeliveryStatus.CLAIMED}' AND claimed_by = {mark}"
    )


def _mark_sent(mailing: Mailing, row: dict, provider_id: str) -> bool:
    """One row "sent", in its own autocommitted statement: the ORM's update compiled the same
    statement again for each message (~0.3 ms of a send's CPU), so it is written here once.
    False when another worker holds the row now (it was sent twice: logged)."""
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, address = %s, message_id = %s, "
            f"provider_message_id = %s, claimed_by = '', error = '' "
            f"WHERE {_SENT_WHERE.format(mark='%s')}",
            [
                DeliveryStatus.SENT,
                db_now(timezone.now()),
                row["address"],
                message_id_for(mailing, row["id"]),
                provider_id[:200],
                row["id"],
                row["claim"],
            ],
        )
        written = cursor.rowcount == 1
    if not written:
        logger.warning(
            "mailing %s: delivery %s was accepted by the server after another worker took it",
            mailing.pk,
            row["id"],
        )
    return written


def send_claimed(
    *,
    mailing: Mailing,
    claimed: list[dict],
    transport: Transport,
    session: ChildSend | None = None,
    claims: Claims | None = None,
) -> str:
    """Send the claimed rows. Returns "ok", or "paused" when the server went away or refused
    for now (the rest of the batch is back in the queue with its backoff). With `session` (a
    marketing mailing's run through the SMTP process) the batch's last messages may still be in
    flight on return: `session.finish()` settles them. `claims`: the run's held rows, renewed
    while they are sent (without it, a batch of its own)."""
    if claims is None:
        claims = Claims(mailing)
        claims.hold(claimed)
    via_child = session is not None and session.ready()
    try:
        return _send_claimed(mailing, claimed, transport, session if via_child else None, claims)
    finally:
        if not via_child:  # every row of the batch settled (or let go)
            claims.done(claimed)


def _send_claimed(
    mailing: Mailing,
    claimed: list[dict],
    transport: Transport,
    session: ChildSend | None,
    claims: Claims,
) -> str:
    render = renderer_get(mailing.renderer)
    contacts = Contact.all_workspaces.filter(
        workspace_id=mailing.workspace_id, id__in=[r["contact_id"] for r in claimed]
    ).select_related("company", "owner")
    try:
        rendered = render(mailing, contacts) if render else {}
    except Exception as error:  # a broken renderer fails the rows, never the worker
        logger.exception("mailing %s: the renderer failed", mailing.pk)
        Delivery.all_workspaces.filter(_held(claimed)).update(
            status=DeliveryStatus.FAILED, error=f"render: {error}"[:2000]
        )
        claims.done(claimed)
        return "ok"
    if session is not None:
        return session.send(claimed, rendered)
    sent: list[dict] = []
    # the row whose message `transport.begin` sent and whose final reply is still unread: the
    # next message is built while the server stores this one (at most one in flight, so a
    # crash can still send only this one twice)
    pending: tuple[int, dict] | None = None

    def failed(index: int, row: dict, error: Exception) -> bool:
        """A refused or lost message: True when the rest of the batch waits (paused)."""
        outcome, code, text = classify(error)
        if outcome == Outcome.PERMANENT:
            _hard_bounce(mailing, row, code, text)
            return False
        if connection_lost(error) or code == 421:
            transport.drop()
            _retry(claimed[index:], f"{code or ''} {text}".strip())
            return True
        _retry([row], f"{code or ''} {text}".strip())  # this recipient, later
        return False

    def settle() -> bool:
        """Read the pending message's answer and write its outcome; True when paused."""
        nonlocal pending
        if pending is None:
            return False
        index, row = pending
        pending = None
        try:
            provider_id = transport.finish()
        except Exception as error:
            return failed(index, row, error)
        # accepted: written at once, so a crash after this line never sends it again
        if _mark_sent(mailing, row, provider_id):
            sent.append(row)
        return False

    result = "ok"
    for index, row in enumerate(claimed):
        message_rendered = rendered.get(row["contact_id"])
        if message_rendered is None:
            Delivery.all_workspaces.filter(_held([row])).update(
                status=DeliveryStatus.FAILED, error="the renderer gave no message"
            )
            continue
        message = build_message(
            mailing=mailing,
            delivery_id=row["id"],
            address=row["address"],
            rendered=message_rendered,
        )
        try:
            prepared = transport.prepare(message)
        except Exception as error:  # the mailer could not be opened: the batch waits
            if settle() or failed(index, row, error):
                result = "paused"
                break
            continue
        if settle():
            result = "paused"
            break
        budget = transport.hour_budget()
        if budget is not None and budget <= 0:  # the hourly ceiling: wait, do not drop
            _requeue(claimed[index:])
            result = "paused"
            break
        claims.keep()
        if not claims.holds(row):  # queued again (the lease ran out): not this run's to send
            continue
        try:
            transport.begin(prepared)
        except Exception as error:
            if failed(index, row, error):
                result = "paused"
                break
            continue
        pending = (index, row)
    if settle():
        result = "paused"
    _sent_events(mailing, sent, timezone.now())
    return result


class ChildSend:
    """A mailing's marketing batches through the SMTP process (transport.SmtpChild), for one
    `mailing_deliver` run. Each batch is built while the process talks to the server about the
    previous one, and handed over in one write (up to AHEAD in flight), so the process never
    waits for the worker's claim, render and build between batches. The process writes "sent" as soon as the server accepts
    a message, under the message's claim. Outcomes as in the worker's own loop: a 5xx a hard
    bounce, a 4xx this row's retry, a lost connection or a 421 a pause, the rest of the batch
    back in the queue. While messages are in flight the worker keeps their claims (`Claims`),
    also while it waits for the server; the process checks each message's claim before it
    starts it and answers "released" for one no longer held (it is never sent)."""

    def __init__(self, mailing: Mailing, transport: Transport, claims: Claims) -> None:
        self.mailing = mailing
        self.transport = transport
        self.claims = claims
        self._child: SmtpChild | None = None
        self._tried = False
        self._seq = 0
        # in flight, by submission number (a row queued again and claimed again while an
        # earlier copy is still in flight is two submissions)
        self.rows: dict[int, dict] = {}
        self.sent: list[dict] = []  # accepted, their email_sent events not yet written
        self.paused = False
        self.again: list[dict] = []  # rows to queue again after a lost connection
        self.why = ""

    def ready(self) -> bool:
        """The process is running (started at the first batch), or cannot be used (the mailer
        is not plain SMTP, the database not one it can open): then the batch goes in-process."""
        if not self._tried:
            self._tried = True
            self._child = self.transport.child(sent_sql=_sent_sql(), held_sql=_held_sql())
        return self._child is not None

    @property
    def child(self) -> SmtpChild:
        assert self._child is not None
        return self._child

    def settle(self, answers: list[dict]) -> None:
        for answer in answers:
            row = self.rows.pop(answer["id"])
            self.claims.done([row])
            if answer["ok"]:  # the process wrote "sent" before it answered
                if answer.get("recorded") or _mark_sent(self.mailing, row, ""):
                    self.sent.append(row)
                continue
            if answer.get("exc") == "released":  # not held any more: never sent by this run
                continue
            error = child_errors(answer)
            outcome, code, text = classify(error)
            if outcome == Outcome.PERMANENT:
                _hard_bounce(self.mailing, row, code, text)
            elif connection_lost(error) or code == 421:
                self.paused = True
                self.again.append(row)
                if answer.get("exc") != "aborted":
                    self.why = f"{code or ''} {text}".strip()
            else:
                _retry([row], f"{code or ''} {text}".strip())  # this recipient, later

    def wait(self, *, below: int) -> None:
        """Answers settled until fewer than `below` messages are in flight, the claims kept
        meanwhile (a server that hangs must not let them go back to the queue)."""
        while self._child is not None and len(self.child.in_flight) >= below:
            self.claims.keep()
            self.settle(self.child.answers(block=True, timeout=self.claims.every))

    def drain(self) -> None:
        """Every message in flight answered and settled."""
        self.wait(below=1)

    def events(self) -> None:
        _sent_events(self.mailing, self.sent, timezone.now())
        self.sent = []

    def send(self, claimed: list[dict], rendered: dict) -> str:
        """Build a claimed batch and hand it to the process in one write, once at most
        AHEAD - len(batch) messages are in flight (the process still sends the previous batch
        while this one is claimed, rendered and built); "paused" when the server went away
        (everything in flight settled, the rest queued again with its backoff) or the hourly
        ceiling is reached."""
        mailing, transport, child, claims = self.mailing, self.transport, self.child, self.claims
        self.settle(child.answers(block=False))
        over = False
        budget = transport.hour_budget()
        if budget is not None:  # the hourly ceiling: wait, do not drop
            allowed = max(0, budget - len(child.in_flight))
            if allowed < len(claimed):
                _requeue(claimed[allowed:])
                claims.done(claimed[allowed:])
                claimed, over = claimed[:allowed], True
        frames: list[tuple[int, dict, Prepared, EmailMultiAlternatives]] = []
        stopped_at = len(claimed)  # claimed[stopped_at:] not looked at (a pause)
        for index, row in enumerate(claimed):
            if self.paused:
                stopped_at = index
                break
            message_rendered = rendered.get(row["contact_id"])
            if message_rendered is None:
                Delivery.all_workspaces.filter(_held([row])).update(
                    status=DeliveryStatus.FAILED, error="the renderer gave no message"
                )
                claims.done([row])
                continue
            claims.keep()
            if not claims.holds(row):  # queued again (the lease ran out): not this run's
                continue
            message = build_message(
                mailing=mailing,
                delivery_id=row["id"],
                address=row["address"],
                rendered=message_rendered,
            )
            prepared = transport.prepare_for_child(message)
            self._seq += 1
            if prepared.raw:
                frames.append((self._seq, row, prepared, message))
                continue
            # not the fast path (a non-ASCII address): sent in-process, after what is before it
            if not self.hand_over(frames):
                stopped_at = index
                break
            frames = []
            self.rows[self._seq] = row
            self.drain()
            try:
                transport.begin(transport.prepare(message))
                provider_id = transport.finish()
            except Exception as error:
                self.settle([_as_answer(self._seq, error)])
                continue
            del self.rows[self._seq]
            claims.done([row])
            if _mark_sent(mailing, row, provider_id):
                self.sent.append(row)
        else:
            if self.hand_over(frames):
                frames = []
        if self.paused:
            self.drain()
            waiting = {r["id"] for r in self.again}
            pending = [row for _seq, row, _prepared, _message in frames] + claimed[stopped_at:]
            self.again.extend(r for r in pending if r["id"] not in waiting)
            _retry(self.again, self.why or "the connection to the SMTP server was lost")
            claims.done(self.again)
            self.again = []
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                child.reset()
            self.events()
            return "paused"
        if over:
            self.drain()
            self.events()
            return "paused"
        self.events()
        return "ok"

    def hand_over(self, frames: list) -> bool:
        """`frames` written to the process at once, when there is room for them in flight;
        False (nothing written) when the server went away meanwhile."""
        if not frames:
            return not self.paused
        self.wait(below=max(1, AHEAD - len(frames) + 1))
        if self.paused:
            return False
        for seq, row, _prepared, _message in frames:
            self.rows[seq] = row
        try:
            self.child.submit_many(
                [
                    (
                        seq, prepared.sender, message.recipients(), prepared.raw, row["id"],
                        row["claim"], row["address"], message.extra_headers["Message-ID"],
                    )
                    for seq, row, prepared, message in frames
                ]
            )  # fmt: skip
        except smtplib.SMTPServerDisconnected:
            # the process is gone: what it had answered is read, the rest answered as lost
            self.drain()
        return True

    def finish(self) -> None:
        """The end of the run: what is in flight answered (a pause then queues nothing more)."""
        self.drain()
        if self.again:
            _retry(self.again, self.why or "the connection to the SMTP server was lost")
            self.claims.done(self.again)
            self.again = []
        self.events()


def _requeue(rows: list[dict]) -> None:
    """Held rows back in the queue in a minute, this attempt not counted (the hourly ceiling)."""
    if rows:
        Delivery.all_workspaces.filter(_held(rows)).update(
            status=DeliveryStatus.QUEUED,
            claimed_by="",
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + dt.timedelta(minutes=1),
        )


def _as_answer(ident: int, error: Exception) -> dict:
    """An in-process exception as the SMTP process would have answered it."""
    _outcome, code, text = classify(error)
    if connection_lost(error):
        return {"id": ident, "ok": False, "exc": "disconnected", "code": code, "text": text}
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = {a: [c, r.decode(errors="replace") if isinstance(r, bytes) else str(r)]
                   for a, (c, r) in error.recipients.items()}  # fmt: skip
        return {"id": ident, "ok": False, "exc": "recipients", "refused": refused}
    kind = "data" if isinstance(error, smtplib.SMTPDataError) else "response"
    return {"id": ident, "ok": False, "exc": kind, "code": code or 0, "text": text}


def mailing_deliver(
    *, mailing_id: int, worker: str | None = None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The worker's loop for one mailing: claim, send, until nothing is due. Returns when the
    mailing should be looked at again (a retry is due then, or the workspace's quiet hours
    end), or None when it is done. `now` fixes the claims' clock (tests; default: the time)."""
    mailing = Mailing.all_workspaces.select_related("workspace").filter(pk=mailing_id).first()
    if mailing is None or mailing.status != MailingStatus.SENDING:
        return None
    worker = worker or worker_name()
    deliveries_reclaim(mailing_id=mailing.pk, now=now)
    transport = Transport(mailing.mailer, sent_last_hour=_sent_last_hour)
    claims = Claims(mailing, now)
    session: ChildSend | None = None
    # marketing batches through the SMTP process; not inside a transaction of the caller's (the
    # process could not see its rows)
    if (
        mailing.is_marketing
        and not connection.in_atomic_block
        # on by default since test_crash.py passes with it on PostgreSQL (docs/emails.md)
        and os.environ.get("VOLANO_EMAIL_SMTP_PROCESS", "1") == "1"
    ):
        session = ChildSend(mailing, transport, claims)
    try:
        while True:
            if Mailing.all_workspaces.filter(pk=mailing.pk, status=MailingStatus.SENDING).exists():
                claimed = claim_batch(mailing=mailing, worker=worker, now=now)
            else:
                claimed = []
            if not claimed:
                break
            claims.hold(claimed)
            result = send_claimed(
                mailing=mailing,
                claimed=claimed,
                transport=transport,
                session=session,
                claims=claims,
            )
            if result == "paused":
                break
        if session is not None:
            session.finish()
    finally:
        transport.close()
    pending = Delivery.all_workspaces.filter(
        mailing_id=mailing.pk, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED]
    )
    if not pending.exists():
        if Mailing.all_workspaces.filter(pk=mailing.pk, status=MailingStatus.SENDING).update(
            status=MailingStatus.SENT, finished_at=timezone.now()
        ):
            _mailing_finished(mailing.pk)
        return None
    queued = pending.filter(status=DeliveryStatus.QUEUED).order_by("next_attempt_at").first()
    if queued is not None:
        return queued.next_attempt_at
    return timezone.now() + claim_lease()  # claimed by another worker: look again after its lease


def mailings_stalled_sweep(*, now: dt.datetime | None = None) -> int:
    """The sweeper's pass: sending mailings whose worker went quiet (no claim for a minute, a
    lost task or a killed worker) get their dead claims back and a task again."""
    now = now or timezone.now()
    count = 0
    for mailing in Mailing.all_workspaces.filter(
        status=MailingStatus.SENDING,
        heartbeat_at__lt=now - min(dt.timedelta(minutes=1), claim_lease()),
    ):
        deliveries_reclaim(mailing_id=mailing.pk, now=now)
        if Delivery.all_workspaces.filter(
            mailing_id=mailing.pk, status=DeliveryStatus.QUEUED, next_attempt_at__lte=now
        ).exists():
            Mailing.all_workspaces.filter(pk=mailing.pk).update(heartbeat_at=now)
            mailing_enqueue(mailing)
            count += 1
    return count
