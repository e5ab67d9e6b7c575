"""What notifications does when something happens elsewhere (see volano.core.reactions): the rep
a lead is handed to is told (in the app and by email, with the lead's context), and the
administrators are told of a lead nobody could take. After commit, so nobody hears of a change
that rolled back; each notification has a dedup key, so a reaction that runs twice notifies once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.facts import LeadAssigned, LeadUnassigned
from volano.core.models import Role, User, Workspace
from volano.core.reactions import reacts_to, workspace_of
from volano.deals.models import ProductLine
from volano.events.models import Channel, EventType
from volano.notifications.services import base_url, language_of, notify
from volano.scoring import selectors as scoring_selectors

LAST_INTERACTIONS = 5


def _contact_name(contact: Contact) -> str:
    return contact.full_name or contact.email or f"#{contact.pk}"


def _line_name(workspace: Workspace, slug: str) -> str:
    if not slug:
        return ""
    found = ProductLine.objects.for_workspace(workspace).filter(slug=slug).first()
    return found.name if found else slug


def _interactions(contact: Contact) -> list[dict]:
    """The contact's last few interactions, newest first (Volano's own events are not)."""
    labels = dict(EventType.choices)
    rows = []
    for event in contact.events.exclude(channel=Channel.SYSTEM).order_by("-occurred_at", "-pk")[
        :LAST_INTERACTIONS
    ]:
        props = event.properties or {}
        detail = next(
            (str(props[k]) for k in ("title", "url", "subject", "form", "name") if props.get(k)),
            event.content or event.campaign or "",
        )
        rows.append(
            {
                "occurred_at": event.occurred_at,
                "label": labels.get(event.type, event.type),
                "detail": detail,
            }
        )
    return rows


@reacts_to(LeadAssigned, phase="after_commit")
def lead_assigned_notify(fact: LeadAssigned) -> None:
    """The rep hears of the lead: a notification in the app, and an email with who the lead is,
    why it qualified, its score explained and its last interactions."""
    if fact.assignment_id is None or fact.rep_id is None:
        return
    workspace = workspace_of(fact)
    if workspace is None:
        return
    rep = User.objects.filter(pk=fact.rep_id).first()
    contact = Contact.objects.for_workspace(workspace).filter(pk__in=fact.contact_ids).first()
    if rep is None or contact is None:
        return
    previous = (
        User.objects.filter(pk=fact.previous_rep_id).first() if fact.previous_rep_id else None
    )
    line = _line_name(workspace, fact.product_line)
    language = language_of(rep, workspace)
    link = reverse("contacts:detail", args=[contact.pk])
    due_at = dt.datetime.fromisoformat(fact.due_at) if fact.due_at else None
    with translation.override(language), timezone.override(ZoneInfo(workspace.time_zone)):
        name = _contact_name(contact)
        if fact.escalated:
            title = _("Lead escalated to you: %(name)s") % {"name": name}
        else:
            title = _("New qualified lead: %(name)s") % {"name": name}
        if line:
            title = f"{title} ({line})"
        lines = [fact.why] if fact.why else []
        if previous is not None:
            lines.append(
                _("%(rep)s did not accept it within %(hours)s working hours.")
                % {"rep": previous, "hours": fact.sla_hours}
            )
        lines.append(_("Accept it within %(hours)s working hours.") % {"hours": fact.sla_hours})
        email_text = render_to_string(
            "notifications/email/lead_assigned.txt",
            {
                "user": rep,
                "contact": contact,
                "escalated": fact.escalated,
                "why": fact.why,
                "due_at": due_at,
                "line": line,
                "scores": scoring_selectors.score_explanations(
                    workspace=workspace, contact=contact, language=language
                ),
                "interactions": _interactions(contact),
                "link": f"{base_url()}{link}",
            },
        )
    notify(
        workspace=workspace,
        recipients=[rep],
        kind="lead_assigned",
        title=title,
        body="\n".join(lines),
        link=link,
        email_text=email_text,
        object_type="assignment",
        object_id=fact.assignment_id,
        dedup_key=f"lead_assigned:{fact.assignment_id}",
    )


@reacts_to(LeadUnassigned, phase="after_commit")
def lead_unassigned_notify(fact: LeadUnassigned) -> None:
    """Every administrator hears of a lead nobody could take, and why, in their language."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    contact = Contact.objects.for_workspace(workspace).filter(pk=fact.contact_id).first()
    if contact is None:
        return
    admins = User.objects.filter(
        memberships__workspace=workspace, memberships__role=Role.ADMIN, is_active=True
    )
    where = " / ".join(p for p in (contact.region, contact.province, contact.postal_code) if p)
    link = reverse("contacts:detail", args=[contact.pk])
    # one key per lead and moment it was left without an owner: the same when the reaction runs
    # again on the same outbox row
    key = f"lead_unassigned:{contact.pk}:{fact.reason}:{fact.at}"
    for admin in admins:
        with translation.override(language_of(admin, workspace)):
            title = _("Lead could not be assigned: %(name)s") % {"name": _contact_name(contact)}
            if fact.reason == "no_rule":
                reason = _(
                    "No active assignment rule covers %(where)s for product line “%(line)s”."
                ) % {"where": where or _("an unknown place"), "line": fact.product_line or "—"}
            elif fact.reason == "no_rep":
                reason = _(
                    "Rule “%(rule)s” matches, but none of its reps can take the lead "
                    "(away, at capacity or no longer in the team)."
                ) % {"rule": fact.rule_name}
            else:
                reason = _("Nobody accepted it in time and there is no one to escalate it to.")
            body = f"{reason} " + _(
                "Set a fallback owner in the hand-off settings, or assign it by hand."
            )
        notify(
            workspace=workspace,
            recipients=[admin],
            kind="lead_unassigned",
            title=title,
            body=body,
            link=link,
            obj=contact,
            dedup_key=key,
        )
