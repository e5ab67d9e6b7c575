"""Broadcast reads: one, the list, the whole-list warning and the report."""

from __future__ import annotations

import re

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.emails.models import Broadcast, Delivery, DeliveryStatus, EmailTemplate, Mailing
from volano.emails.reports import mailings_report

# a section of the audience covering this share of the emailable contacts counts as "the whole
# list" for the warning (seed 004: generic messages to everyone get unsubscribes and spam flags)
WHOLE_LIST_SHARE = 0.8
PERSONAL = re.compile(r"\{[{%][^}]*\b(contact|company|owner)\.")


def broadcast_get(*, workspace: Workspace, broadcast_id: int | str) -> Broadcast:
    found = None
    if str(broadcast_id).isdigit() and len(str(broadcast_id)) < 19:
        found = (
            Broadcast.objects.for_workspace(workspace)
            .select_related("template", "segment", "contact_list", "ab_template_b")
            .filter(pk=int(broadcast_id))
            .first()
        )
    if found is None:
        raise NotFound(_("no such broadcast"), field="id")
    return found


def broadcast_list(*, workspace: Workspace) -> QuerySet[Broadcast]:
    return (
        Broadcast.objects.for_workspace(workspace)
        .select_related("template", "segment", "contact_list")
        .order_by("-created_at", "-pk")
    )


def template_is_generic(template: EmailTemplate) -> bool:
    """No block chosen by a condition and no personal variable anywhere: the same email to all."""
    for block in template.blocks or []:
        if any(variant.get("when") for variant in block.get("variants", [])):
            return False
    sources = [template.subject, template.mjml, template.html]
    sources += [
        variant.get("html", "")
        for block in template.blocks or []
        for variant in block.get("variants", [])
    ]
    return not any(PERSONAL.search(source or "") for source in sources)


def broadcast_warnings(*, workspace: Workspace, broadcast: Broadcast) -> list[dict]:
    """[{"code", "message"}]: the warning seed 004 asks for, before the same unpersonalised
    content goes to a whole list (or to a segment of ≥ 80% of the emailable contacts)."""
    templates = [broadcast.template]
    if broadcast.ab_template_b is not None:
        templates.append(broadcast.ab_template_b)
    if not all(template_is_generic(t) for t in templates):
        return []
    if broadcast.contact_list_id:
        whole = True
    elif not broadcast.segment_id:
        return []  # its audience was deleted: it cannot be sent at all
    else:
        from volano.emails.broadcasts.services import broadcast_audience

        emailable = Contact.objects.for_workspace(workspace).emailable()
        total = emailable.count()
        audience = broadcast_audience(workspace=workspace, broadcast=broadcast)
        covered = emailable.filter(pk__in=audience.values("pk")).count()
        whole = total > 0 and covered >= WHOLE_LIST_SHARE * total
    if not whole:
        return []
    return [
        {
            "code": "generic_to_whole_list",
            "message": _(
                "Everyone in this audience would receive the same email: the template has no "
                "block chosen per contact and no personal variable, and the audience is a whole "
                "list. Generic messages to a whole list make people unsubscribe or mark them as "
                "spam. Add a block with variants for your segments, or choose a segment."
            ),
        }
    ]


def broadcast_mailings(*, workspace: Workspace, broadcast: Broadcast) -> QuerySet[Mailing]:
    return Mailing.objects.for_workspace(workspace).filter(pk__in=broadcast.mailing_ids())


def broadcast_report(*, workspace: Workspace, broadcast: Broadcast) -> dict:
    return mailings_report(
        workspace=workspace, mailings=broadcast_mailings(workspace=workspace, broadcast=broadcast)
    )


def broadcasts_figures(*, workspace: Workspace, broadcasts: list[Broadcast]) -> dict[int, dict]:
    """The list page's figures of many broadcasts — {broadcast id: {"recipients", "sent",
    "delivered", "opened", "clicked"}} — in one grouped query over their mailings' outbox (the
    same definitions as `mailings_report`: opened and clicked are contacts with a human open or
    click; a broadcast's mailings never share a contact, so their counts add up)."""
    owner: dict[int, int] = {}
    for broadcast in broadcasts:
        for mailing_id in broadcast.mailing_ids():
            owner[mailing_id] = broadcast.pk
    keys = ("recipients", "sent", "delivered", "opened", "clicked")
    figures = {b.pk: dict.fromkeys(keys, 0) for b in broadcasts}
    if not owner:
        return figures
    sent = Q(sent_at__isnull=False)
    rows = (
        Delivery.objects.for_workspace(workspace)
        .filter(mailing_id__in=list(owner))
        .values("mailing_id")
        .annotate(
            recipients=Count("id"),
            sent=Count("id", filter=sent),
            delivered=Count("id", filter=sent & ~Q(status=DeliveryStatus.BOUNCED)),
            opened=Count("contact_id", filter=Q(opened_at__isnull=False), distinct=True),
            clicked=Count("contact_id", filter=Q(clicked_at__isnull=False), distinct=True),
        )
        .order_by()
    )
    for row in rows:  # one row per mailing: at most three per broadcast
        total = figures[owner[row["mailing_id"]]]
        for key in keys:
            total[key] += row[key]
    return figures


def broadcast_recipients(*, workspace: Workspace, broadcast: Broadcast) -> int:
    """Everyone the broadcast's mailings were written for (sent, skipped, waiting or failed)."""
    return (
        Delivery.objects.for_workspace(workspace)
        .filter(mailing_id__in=broadcast.mailing_ids())
        .count()
    )


def broadcast_variant_reports(*, workspace: Workspace, broadcast: Broadcast) -> list[dict]:
    """The A/B test's figures per mailing: [{"variant", "mailing", "report"}]."""
    rows = []
    for variant, mailing_id in (
        ("A", broadcast.mailing_a_id),
        ("B", broadcast.mailing_b_id),
        ("rest", broadcast.mailing_rest_id),
    ):
        if mailing_id:
            mailings = Mailing.objects.for_workspace(workspace).filter(pk=mailing_id)
            rows.append(
                {
                    "variant": variant,
                    "mailing_id": mailing_id,
                    "report": mailings_report(workspace=workspace, mailings=mailings),
                }
            )
    return rows
