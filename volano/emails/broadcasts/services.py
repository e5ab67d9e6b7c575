"""Broadcast services: create, change (draft only), schedule, send, cancel; the due work (a
scheduled send, the A/B winner) run by a task at its time and by the sweeper.

A broadcast sends through the sending core (`volano.emails.sending.services`): one Mailing per
A/B variant and one for the rest, kind "broadcast", renderer "template", campaign = the
broadcast's slug; exactly once, consent, suppression and tracking are the core's. The A/B split
is a hash of the contact id in SQL (`ab_bucket`), so variant A and B are disjoint by
construction, and the rest is the audience minus everyone already in a variant mailing, in one
INSERT … SELECT: nobody gets two messages of the same broadcast.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, QuerySet, Value
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.core.tenancy import ensure_in_workspace
from volano.emails.models import (
    AbMetric,
    AbWhich,
    Broadcast,
    BroadcastStatus,
    Delivery,
    EmailTemplate,
    Mailing,
    MailingKind,
    MailingStatus,
)
from volano.emails.rendering import (
    TemplateBroken,
    template_ensure_sendable,
    template_mailing_params,
)
from volano.emails.sending.services import (
    mailing_cancel,
    mailing_create,
    mailing_send,
    on_mailing_finished,
)
from volano.segments.models import ContactList, ListMembership, Segment, SegmentMembership
from volano.segments.selectors import list_members, segment_members

BUCKETS = 1000  # the split's resolution: per mille
MAX_AB_HOURS = 24 * 14


class BroadcastInvalid(ApplicationError):
    status_code = 422


# -- the A/B split ------------------------------------------------------------------------------


def ab_bucket(broadcast_id: int) -> ExpressionWrapper:
    """The contact's bucket (0 … BUCKETS-1) for this broadcast: the high bits of a
    multiplicative hash of the contact id (Knuth's 2654435761), salted with the broadcast, so
    each broadcast splits its audience differently. Integer arithmetic, same on SQLite and
    PostgreSQL (64-bit: ids up to 3·10⁹)."""
    mixed = (F("pk") * Value(2654435761) + Value(broadcast_id * 40503)) % Value(2**32)
    return ExpressionWrapper(mixed * Value(BUCKETS) / Value(2**32), output_field=BigIntegerField())


def ab_bucket_python(contact_id: int, broadcast_id: int) -> int:
    """The same bucket computed in Python (the tests' oracle, never used to send)."""
    return ((contact_id * 2654435761 + broadcast_id * 40503) % 2**32) * BUCKETS // 2**32


def ab_ranges(split: int) -> tuple[range, range]:
    """Buckets of variant A and of variant B: `split`% of the audience, half each."""
    half = split * BUCKETS // 200
    return range(0, half), range(half, 2 * half)


# -- audience -----------------------------------------------------------------------------------


def broadcast_audience(*, workspace: Workspace, broadcast: Broadcast) -> QuerySet[Contact]:
    """The audience as it is now (resolved at send time): the segment's members or the list's."""
    if broadcast.segment is not None:
        return segment_members(workspace=workspace, segment=broadcast.segment)
    if broadcast.contact_list is not None:
        return list_members(workspace=workspace, contact_list=broadcast.contact_list)
    raise BroadcastInvalid(_("choose a segment or a list"), field="segment")


def broadcast_audience_rows(*, workspace: Workspace, broadcast: Broadcast) -> QuerySet:
    """The same audience as `broadcast_audience`, as membership rows (one per contact: the
    segment's current memberships, or the list's), which the outbox insert reads without
    joining the contacts (docs/emails.md, "Outbox")."""
    if broadcast.segment is not None:
        return SegmentMembership.objects.for_workspace(workspace).filter(
            segment=broadcast.segment,
            left_at__isnull=True,  # segment_members' definition
        )
    if broadcast.contact_list is not None:
        return ListMembership.objects.for_workspace(workspace).filter(list=broadcast.contact_list)
    raise BroadcastInvalid(_("choose a segment or a list"), field="segment")


# -- checking input -----------------------------------------------------------------------------


def _audience_clean(segment: Segment | None, contact_list: ContactList | None) -> None:
    if segment is not None and contact_list is not None:
        raise BroadcastInvalid(_("choose a segment or a list, not both"), field="list")
    if segment is None and contact_list is None:
        raise BroadcastInvalid(_("choose a segment or a list"), field="segment")


def _send_at_clean(send_at: dt.datetime | None, now: dt.datetime) -> None:
    if send_at is None:
        return
    if timezone.is_naive(send_at):
        raise BroadcastInvalid(_("give the send time with its time zone"), field="send_at")
    if send_at <= now:
        raise BroadcastInvalid(_("the send time is in the past"), field="send_at")


def _template_clean(template: EmailTemplate, field: str) -> None:
    try:
        template_ensure_sendable(template)
    except TemplateBroken as error:
        raise BroadcastInvalid(error.message, field=field) from error


def _ab_clean(ab: dict | None, template: EmailTemplate) -> dict:
    """The broadcast's A/B fields from `ab` = {"which": "subject"|"content", "subject_b",
    "template_b" (an EmailTemplate), "split" (2–100 %), "metric": "opens"|"clicks", "hours"}."""
    if not ab:
        return {"ab_which": "", "ab_subject_b": "", "ab_template_b": None}
    which = ab.get("which")
    if which not in (AbWhich.SUBJECT, AbWhich.CONTENT):
        raise BroadcastInvalid(_("ab.which must be “subject” or “content”"), field="ab.which")
    fields: dict[str, Any] = {"ab_which": which, "ab_subject_b": "", "ab_template_b": None}
    if which == AbWhich.SUBJECT:
        subject_b = (ab.get("subject_b") or "").strip()
        if not subject_b or "\n" in subject_b or len(subject_b) > 300:
            raise BroadcastInvalid(
                _("give subject B, one line of at most 300 characters"), field="ab.subject_b"
            )
        fields["ab_subject_b"] = subject_b
    else:
        template_b = ab.get("template_b")
        if not isinstance(template_b, EmailTemplate):
            raise BroadcastInvalid(_("choose template B"), field="ab.template_b")
        if template_b.workspace_id != template.workspace_id:
            raise BroadcastInvalid(_("no such template B"), field="ab.template_b")
        if template_b.pk == template.pk:
            raise BroadcastInvalid(
                _("template B must differ from template A"), field="ab.template_b"
            )
        _template_clean(template_b, "ab.template_b")
        fields["ab_template_b"] = template_b
    split = ab.get("split", 20)
    if not isinstance(split, int) or isinstance(split, bool) or not 2 <= split <= 100:
        raise BroadcastInvalid(
            _("the A/B split is a whole percentage from 2 to 100"), field="ab.split"
        )
    metric = ab.get("metric", AbMetric.OPENS)
    if metric not in AbMetric.values:
        raise BroadcastInvalid(_("ab.metric must be “opens” or “clicks”"), field="ab.metric")
    hours = ab.get("hours", 4)
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_AB_HOURS:
        raise BroadcastInvalid(
            _("the winner is chosen after 1 to %(max)s hours") % {"max": MAX_AB_HOURS},
            field="ab.hours",
        )
    fields.update(ab_split=split, ab_metric=metric, ab_hours=hours)
    return fields


def _slug_free(workspace: Workspace, base: str) -> str:
    base = slugify(base)[:80] or "broadcast"
    taken = set(
        Broadcast.objects.for_workspace(workspace)
        .filter(slug__startswith=base)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


# -- writes -------------------------------------------------------------------------------------


def broadcast_create(
    *,
    workspace: Workspace,
    actor,
    template: EmailTemplate,
    segment: Segment | None = None,
    contact_list: ContactList | None = None,
    name: str = "",
    slug: str = "",
    send_at: dt.datetime | None = None,
    ab: dict | None = None,
) -> Broadcast:
    """A draft broadcast. Nothing is sent until `broadcast_send`."""
    for obj in (template, segment, contact_list):
        ensure_in_workspace(obj, workspace)
    _audience_clean(segment, contact_list)
    _template_clean(template, "template")
    _send_at_clean(send_at, timezone.now())
    ab_fields = _ab_clean(ab, template)
    name = (name or "").strip()[:200] or template.name
    if slug:
        slug = slugify(slug)[:100]
        if not slug:
            raise BroadcastInvalid(_("the campaign name needs letters or digits"), field="slug")
        if Broadcast.objects.for_workspace(workspace).filter(slug=slug).exists():
            raise BroadcastInvalid(
                _("a broadcast with campaign “%(slug)s” exists already") % {"slug": slug},
                field="slug",
            )
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            workspace=workspace,
            name=name,
            slug=slug or _slug_free(workspace, name),
            template=template,
            segment=segment,
            contact_list=contact_list,
            send_at=send_at,
            created_by=actor,
            **ab_fields,
        )
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="broadcast.create",
            obj=broadcast,
            changes={"template": template.slug, "ab": broadcast.ab_which or None},
        )
    return broadcast


def broadcast_update(
    *,
    workspace: Workspace,
    actor,
    broadcast: Broadcast,
    template: EmailTemplate,
    segment: Segment | None = None,
    contact_list: ContactList | None = None,
    name: str = "",
    send_at: dt.datetime | None = None,
    ab: dict | None = None,
) -> Broadcast:
    """Change a draft (a scheduled broadcast is cancelled first, or changed by sending it)."""
    for obj in (broadcast, template, segment, contact_list):
        ensure_in_workspace(obj, workspace)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise BroadcastInvalid(_("only a draft broadcast can be changed"), field="status")
    _audience_clean(segment, contact_list)
    _template_clean(template, "template")
    _send_at_clean(send_at, timezone.now())
    fields = {
        "template": template,
        "segment": segment,
        "contact_list": contact_list,
        "name": (name or "").strip()[:200] or broadcast.name,
        "send_at": send_at,
        **_ab_clean(ab, template),
    }
    with transaction.atomic():
        for key, value in fields.items():
            setattr(broadcast, key, value)
        broadcast.updated_at = timezone.now()
        broadcast.error = ""
        broadcast.save()
        activity_record(
            workspace=workspace, actor=actor, verb="broadcast.update", obj=broadcast,
            changes={"template": template.slug, "ab": broadcast.ab_which or None},
        )  # fmt: skip
    return broadcast


def _due_enqueue(broadcast_id: int, at: dt.datetime) -> None:
    """A task at the due time, so the work starts on time; should it be lost, the sweeper
    finds the due row (`broadcasts_due_run`)."""
    from volano.emails.tasks import broadcast_due_task

    broadcast_due_task.using(run_after=at).enqueue(broadcast_id)


def broadcast_send(*, workspace: Workspace, actor, broadcast: Broadcast) -> Broadcast:
    """Go: a draft with a future `send_at` is scheduled (a due row and a task at that time);
    otherwise, and for a scheduled one, it starts now. The audience is resolved when it starts."""
    ensure_in_workspace(broadcast, workspace)
    now = timezone.now()
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise BroadcastInvalid(
            _("this broadcast is %(status)s already") % {"status": broadcast.get_status_display()},
            field="status",
        )
    _template_clean(broadcast.template, "template")
    if broadcast.ab_template_b is not None:
        _template_clean(broadcast.ab_template_b, "ab.template_b")
    if (
        broadcast.status == BroadcastStatus.DRAFT
        and broadcast.send_at is not None
        and broadcast.send_at > now
    ):
        with transaction.atomic():
            changed = (
                Broadcast.objects.for_workspace(workspace)
                .filter(pk=broadcast.pk, status=BroadcastStatus.DRAFT)
                .update(
                    status=BroadcastStatus.SCHEDULED,
                    due_at=broadcast.send_at,
                    updated_at=now,
                    error="",
                )
            )
            if changed:
                activity_record(
                    workspace=workspace, actor=actor, verb="broadcast.schedule", obj=broadcast,
                    changes={"send_at": broadcast.send_at.isoformat()},
                )  # fmt: skip
                transaction.on_commit(
                    functools.partial(_due_enqueue, broadcast.pk, broadcast.send_at)
                )
        broadcast.refresh_from_db()
        return broadcast
    with transaction.atomic():
        claimed = (
            Broadcast.objects.for_workspace(workspace)
            .filter(pk=broadcast.pk, status__in=[BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED])
            .update(status=BroadcastStatus.SENDING, due_at=None, started_at=now, updated_at=now)
        )
        if claimed:
            broadcast.refresh_from_db()
            _start(workspace=workspace, actor=actor, broadcast=broadcast, now=now)
    broadcast.refresh_from_db()
    return broadcast


def _params(broadcast: Broadcast, variant: str) -> dict:
    if variant == "b" and broadcast.ab_which == AbWhich.SUBJECT:
        return template_mailing_params(broadcast.template, subject=broadcast.ab_subject_b)
    if variant == "b" and broadcast.ab_which == AbWhich.CONTENT:
        assert broadcast.ab_template_b is not None
        return template_mailing_params(broadcast.ab_template_b)
    return template_mailing_params(broadcast.template)


def _mailing(
    *, workspace: Workspace, actor, broadcast: Broadcast, variant: str, label: str, audience
) -> Mailing:
    mailing = mailing_create(
        workspace=workspace,
        actor=actor,
        kind=MailingKind.BROADCAST,
        renderer="template",
        params=_params(broadcast, variant),
        audience_queryset=audience,
        name=f"{broadcast.name} — {label}" if label else broadcast.name,
        campaign=broadcast.slug,
    )
    mailing_send(workspace=workspace, actor=actor, mailing=mailing)
    return mailing


def _start(*, workspace: Workspace, actor, broadcast: Broadcast, now: dt.datetime) -> None:
    """Inside the claiming transaction: the mailings of the send (or of the A/B test)."""
    audience = broadcast_audience(workspace=workspace, broadcast=broadcast)
    if not broadcast.is_ab:
        broadcast.mailing_a = _mailing(
            workspace=workspace, actor=actor, broadcast=broadcast, variant="a", label="",
            audience=broadcast_audience_rows(workspace=workspace, broadcast=broadcast),
        )  # fmt: skip
        broadcast.save(update_fields=["mailing_a"])
        activity_record(workspace=workspace, actor=actor, verb="broadcast.send", obj=broadcast)
        return
    a_range, b_range = ab_ranges(broadcast.ab_split)
    bucketed = audience.annotate(ab_bucket=ab_bucket(broadcast.pk))
    broadcast.mailing_a = _mailing(
        workspace=workspace, actor=actor, broadcast=broadcast, variant="a", label="A",
        audience=bucketed.filter(ab_bucket__gte=a_range.start, ab_bucket__lt=a_range.stop),
    )  # fmt: skip
    broadcast.mailing_b = _mailing(
        workspace=workspace, actor=actor, broadcast=broadcast, variant="b", label="B",
        audience=bucketed.filter(ab_bucket__gte=b_range.start, ab_bucket__lt=b_range.stop),
    )  # fmt: skip
    broadcast.due_at = now + dt.timedelta(hours=broadcast.ab_hours)
    broadcast.save(update_fields=["mailing_a", "mailing_b", "due_at"])
    activity_record(
        workspace=workspace, actor=actor, verb="broadcast.send", obj=broadcast,
        changes={"ab": broadcast.ab_which, "split": broadcast.ab_split,
                 "winner_due_at": broadcast.due_at.isoformat()},
    )  # fmt: skip
    transaction.on_commit(functools.partial(_due_enqueue, broadcast.pk, broadcast.due_at))


def ab_scores(*, broadcast: Broadcast) -> dict[str, int]:
    """{"a": n, "b": n}: contacts with a human open (or click) of each variant's mailing."""
    field = "clicked_at" if broadcast.ab_metric == AbMetric.CLICKS else "opened_at"
    scores = {"a": 0, "b": 0}
    for variant, mailing_id in (("a", broadcast.mailing_a_id), ("b", broadcast.mailing_b_id)):
        if mailing_id:
            scores[variant] = (
                Delivery.objects.for_workspace(broadcast.workspace_id)
                .filter(mailing_id=mailing_id, **{f"{field}__isnull": False})
                .count()
            )
    return scores


def _winner_choose(*, workspace: Workspace, broadcast: Broadcast, now: dt.datetime) -> None:
    """Inside the claiming transaction: the variant with the higher score wins (a tie: A), and
    the rest of the audience — everyone not already in a variant mailing — gets it."""
    scores = ab_scores(broadcast=broadcast)
    winner = "b" if scores["b"] > scores["a"] else "a"
    already = Delivery.objects.for_workspace(workspace).filter(
        mailing_id__in=[broadcast.mailing_a_id, broadcast.mailing_b_id]
    )
    audience = broadcast_audience(workspace=workspace, broadcast=broadcast)
    rest = audience.exclude(pk__in=already.values("contact_id"))
    broadcast.winner, broadcast.winner_at = winner, now
    broadcast.mailing_rest = _mailing(
        workspace=workspace, actor=None, broadcast=broadcast, variant=winner,
        label=_("winner %(variant)s") % {"variant": winner.upper()}, audience=rest,
    )  # fmt: skip
    broadcast.save(update_fields=["winner", "winner_at", "mailing_rest"])
    activity_record(
        workspace=workspace, actor=None, verb="broadcast.winner", obj=broadcast,
        changes={"winner": winner, "scores": scores, "metric": broadcast.ab_metric},
    )  # fmt: skip


def broadcast_cancel(*, workspace: Workspace, actor, broadcast: Broadcast) -> Broadcast:
    """Stop it: a draft or scheduled one never sends; a sending one stops where it is (what
    left is not sent, and no winner is sent to the rest)."""
    ensure_in_workspace(broadcast, workspace)
    if broadcast.status in (BroadcastStatus.SENT, BroadcastStatus.CANCELLED):
        raise BroadcastInvalid(
            _("this broadcast is %(status)s already") % {"status": broadcast.get_status_display()},
            field="status",
        )
    with transaction.atomic():
        changed = (
            Broadcast.objects.for_workspace(workspace)
            .filter(pk=broadcast.pk, status=broadcast.status)
            .update(status=BroadcastStatus.CANCELLED, due_at=None, updated_at=timezone.now())
        )
        if changed:
            mailings = Mailing.objects.for_workspace(workspace).filter(
                pk__in=broadcast.mailing_ids(), status=MailingStatus.SENDING
            )
            for mailing in mailings:
                mailing_cancel(workspace=workspace, actor=actor, mailing=mailing)
            activity_record(
                workspace=workspace, actor=actor, verb="broadcast.cancel", obj=broadcast
            )
    broadcast.refresh_from_db()
    return broadcast


# -- due work and progress ------------------------------------------------------------------------


def broadcasts_due_run(*, now: dt.datetime | None = None, broadcast_id: int | None = None) -> int:
    """Run the due work: start the scheduled broadcasts whose time has come, and choose the
    winner of the A/B tests whose hours are up. Each row is claimed by one UPDATE on its
    (id, due_at), so a task and the sweeper racing on it run it once. Returns how many ran."""
    now = now or timezone.now()
    due = Broadcast.all_workspaces.filter(due_at__isnull=False, due_at__lte=now).filter(
        status__in=[BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]
    )
    if broadcast_id is not None:
        due = due.filter(pk=broadcast_id)
    ran = 0
    for row in list(due.values("pk", "due_at", "status")[:100]):
        with transaction.atomic():
            claimed = Broadcast.all_workspaces.filter(
                pk=row["pk"], due_at=row["due_at"], status=row["status"]
            ).update(due_at=None)
            if not claimed:
                continue
            broadcast = Broadcast.all_workspaces.select_related("workspace").get(pk=row["pk"])
            workspace = broadcast.workspace
            if row["status"] == BroadcastStatus.SCHEDULED:
                ran += _scheduled_start(workspace=workspace, broadcast=broadcast, now=now)
            elif broadcast.is_ab and not broadcast.winner:
                _winner_choose(workspace=workspace, broadcast=broadcast, now=now)
                ran += 1
    broadcasts_progress_sync(now=now)
    return ran


def _scheduled_start(*, workspace: Workspace, broadcast: Broadcast, now: dt.datetime) -> int:
    """A scheduled send whose time has come; a template broken since sends back to draft with
    the reason (nothing broken is sent, the marketer fixes it and sends again)."""
    try:
        _template_clean(broadcast.template, "template")
        if broadcast.ab_template_b is not None:
            _template_clean(broadcast.ab_template_b, "ab.template_b")
        if not broadcast.segment_id and not broadcast.contact_list_id:
            raise BroadcastInvalid(
                _("its segment or list was deleted: choose another audience"), field="segment"
            )
    except BroadcastInvalid as error:
        Broadcast.all_workspaces.filter(pk=broadcast.pk).update(
            status=BroadcastStatus.DRAFT, error=error.message, updated_at=now
        )
        activity_record(
            workspace=workspace, actor=None, verb="broadcast.schedule_failed", obj=broadcast,
            changes={"error": error.message},
        )  # fmt: skip
        return 0
    Broadcast.all_workspaces.filter(pk=broadcast.pk).update(
        status=BroadcastStatus.SENDING, started_at=now, updated_at=now
    )
    broadcast.status = BroadcastStatus.SENDING
    _start(workspace=workspace, actor=None, broadcast=broadcast, now=now)
    return 1


def broadcasts_progress_sync(
    *, now: dt.datetime | None = None, broadcast: Broadcast | None = None
) -> int:
    """Sending broadcasts whose every mailing has finished (and whose A/B winner, if any, went
    out) become "sent". Called by the worker that finishes one of a broadcast's mailings
    (`on_mailing_finished`) and by the sweeper's due-work pass (a crashed worker's leftover);
    never by a read: a GET changes nothing."""
    now = now or timezone.now()
    sending = Broadcast.all_workspaces.filter(status=BroadcastStatus.SENDING, due_at__isnull=True)
    if broadcast is not None:
        sending = sending.filter(pk=broadcast.pk)
    done = 0
    for row in sending.values("pk", "ab_which", "mailing_a_id", "mailing_b_id", "mailing_rest_id")[
        :500
    ]:
        if row["ab_which"] and not row["mailing_rest_id"]:
            continue
        ids = [row[k] for k in ("mailing_a_id", "mailing_b_id", "mailing_rest_id") if row[k]]
        if (
            not ids
            or Mailing.all_workspaces.filter(pk__in=ids, status=MailingStatus.SENDING).exists()
        ):
            continue
        done += Broadcast.all_workspaces.filter(
            pk=row["pk"], status=BroadcastStatus.SENDING
        ).update(status=BroadcastStatus.SENT, finished_at=now, updated_at=now)
    return done


@on_mailing_finished
def _broadcast_mailing_finished(mailing_id: int) -> None:
    """One of a broadcast's mailings finished: the broadcast is "sent" once all of them are."""
    broadcast = (
        Broadcast.all_workspaces.filter(
            Q(mailing_a_id=mailing_id) | Q(mailing_b_id=mailing_id) | Q(mailing_rest_id=mailing_id)
        )
        .only("pk")
        .first()
    )
    if broadcast is not None:
        broadcasts_progress_sync(broadcast=broadcast)
