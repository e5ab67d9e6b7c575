"""The demo workspace's email (the lead's `volano demo` calls this): the starter library, a draft
newsletter with a block per product line, so one email reads differently to a spare-parts
customer, a machine buyer and everyone else, and broadcasts: two past ones with their results
and a draft of the newsletter."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Lower

from volano.contacts.models import Contact, email_marketing_granted
from volano.core.db import json_object_sql
from volano.core.models import Workspace
from volano.emails.broadcasts.services import ab_bucket
from volano.emails.models import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    DeliveryStatus,
    EmailTemplate,
    Mailing,
    MailingKind,
    MailingStatus,
    SkipReason,
    Suppression,
)
from volano.emails.rendering import template_mailing_params
from volano.emails.sending.services import mailing_create
from volano.emails.templating.services import template_save
from volano.emails.templating.starters import STARTERS, starter_get
from volano.events.models import Channel, Event, EventType


def _bought(line: str) -> dict:
    return {"event": "order", "where": {"product_line": line}, "count": {"gte": 1}}


NEWSLETTER_BLOCKS = [
    {
        "key": "linea",
        "variants": [
            {
                "when": _bought("ricambi"),
                "html": "<p><strong>Ricambi originali, spediti in 24 ore.</strong> Lame, cinghie "
                "e filtri per la stagione: ordina entro venerdì e la spedizione è gratuita.</p>",
            },
            {
                "when": _bought("macchine"),
                "html": "<p><strong>La tua macchina merita un tagliando.</strong> Prenota il "
                "controllo di fine stagione con i nostri tecnici, {{ contact.first_name|"
                "default('cliente') }}: ti aspettiamo in officina.</p>",
            },
            {
                "when": _bought("assistenza"),
                "html": "<p><strong>Il tuo contratto di assistenza:</strong> ricorda che include "
                "due interventi l'anno senza costi di uscita.</p>",
            },
            {
                "html": "<p><strong>Scopri la gamma 2026:</strong> trinciaerba, motocoltivatori e "
                "ricambi per ogni marca. Chiedi un preventivo senza impegno.</p>"
            },
        ],
    }
]


def demo_email_templates_create(*, workspace: Workspace) -> int:
    """Create the templates once (an existing slug is left as it is); returns how many."""
    existing = set(EmailTemplate.objects.for_workspace(workspace).values_list("slug", flat=True))
    created = 0
    for starter in STARTERS:
        if starter.slug in existing:
            continue
        template_save(
            workspace=workspace, actor=None, slug=starter.slug, name=str(starter.name),
            subject=starter.subject, mjml=starter.mjml, blocks=list(starter.blocks),
        )  # fmt: skip
        created += 1
    if "newsletter-linee-prodotto" not in existing:
        base = starter_get("newsletter")
        assert base is not None
        template_save(
            workspace=workspace,
            actor=None,
            slug="newsletter-linee-prodotto",
            name="Newsletter di stagione (bozza) — un blocco per linea di prodotto",
            subject="{{ contact.first_name|default('Ciao') }}, le novità di stagione per te",
            mjml=base.mjml.replace("{{ blocks.intro }}", "{{ blocks.linea }}"),
            blocks=NEWSLETTER_BLOCKS,
        )
        created += 1
    return created


# -- broadcasts (session bcast) -------------------------------------------------------------------

# (slug, name, template, audience segment, days ago, A/B subject B or None, open %, click %)
PAST_BROADCASTS = (
    ("ricambi-primavera", "Ricambi di primavera", "novita-prodotto", "clienti-ricambi-12-mesi",
     21, None, 38, 9),
    ("webinar-manutenzione", "Invito al webinar sulla manutenzione", "invito-webinar",
     "clienti-ricambi-12-mesi", 9,
     "{{ contact.first_name|default('Ciao') }}, 45 minuti per allungare la vita alla tua macchina",
     31, 7),
)  # fmt: skip


def _email_events_insert(
    *, mailing: Mailing, type: str, at_column: str, label: str, url: str = ""
) -> int:
    """One INSERT … SELECT of the `type` events of a past mailing's deliveries, each at its own
    `at_column` time, linked to the delivery as the tracking views link them (a click with the
    link's `url`, so the report's click map counts it)."""
    properties = json_object_sql(
        "delivery", "d.id", "mailing", "d.mailing_id",
        *(("label", "%s") if label else ()), *(("url", "%s") if url else ()),
    )  # fmt: skip
    values: dict[str, Any] = {
        "workspace_id": mailing.workspace_id,
        "type": type,
        "channel": Channel.EMAIL,
        "source": "volano",
        "campaign": mailing.campaign[:100],
    }
    columns: list[str] = []
    expressions: list[str] = []
    constants: list[Any] = []
    q = connection.ops.quote_name
    for column in Event._meta.concrete_fields:
        if column.primary_key or column.generated:
            continue
        columns.append(q(str(column.column)))
        if column.attname == "contact_id":
            expressions.append("d.contact_id")
        elif column.attname in ("occurred_at", "received_at"):
            expressions.append(f"d.{q(at_column)}")
        elif column.attname == "properties":
            expressions.append(properties)
            constants.extend([label] if label else [])
            constants.extend([url] if url else [])
        elif column.attname in values:
            expressions.append("%s")
            constants.append(column.get_db_prep_save(values[column.attname], connection))
        elif column.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            constants.append(column.get_db_prep_save(column.get_default(), connection))
    statement = (
        f"INSERT INTO {Event._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM {Delivery._meta.db_table} d "
        f"WHERE d.mailing_id = %s AND d.{q(at_column)} IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*constants, mailing.pk])
        return cursor.rowcount


def _past_mailing(
    *, workspace: Workspace, broadcast: Broadcast, label: str, audience, params: dict,
    sent_at: dt.datetime, opens: int, clicks: int,
) -> Mailing:  # fmt: skip
    """A mailing as if it had gone out at `sent_at`: its outbox written by the sending core
    (never sent now), then set-based UPDATEs give each row its outcome — skipped for no
    address or no consent, sent, and a share opened and clicked (chosen by a hash of the
    delivery id), as the claim would have skipped the unconsented and the suppressed — and
    one INSERT … SELECT per event type writes the timelines."""
    mailing = mailing_create(
        workspace=workspace, actor=None, kind=MailingKind.BROADCAST, renderer="template",
        params=params, audience_queryset=audience,
        name=f"{broadcast.name} — {label}" if label else broadcast.name, campaign=broadcast.slug,
    )  # fmt: skip
    Mailing.objects.for_workspace(workspace).filter(pk=mailing.pk).update(
        status=MailingStatus.SENT, created_at=sent_at - dt.timedelta(minutes=2),
        started_at=sent_at, heartbeat_at=sent_at, finished_at=sent_at + dt.timedelta(minutes=12),
    )  # fmt: skip
    rows = Delivery.objects.for_workspace(workspace).filter(mailing=mailing)
    rows.filter(contact__email="").update(status=DeliveryStatus.SKIPPED, reason=SkipReason.NO_EMAIL)
    rows.filter(status=DeliveryStatus.QUEUED).filter(~email_marketing_granted("contact_id")).update(
        status=DeliveryStatus.SKIPPED, reason=SkipReason.NO_CONSENT
    )
    suppressed = Suppression.objects.for_workspace(workspace).filter(
        address=Lower(OuterRef("contact__email"))
    )
    rows.filter(status=DeliveryStatus.QUEUED).filter(Exists(suppressed)).update(
        status=DeliveryStatus.SKIPPED, reason=SkipReason.SUPPRESSED
    )
    email = Contact.objects.for_workspace(workspace).filter(pk=OuterRef("contact_id"))
    rows.filter(status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SENT, sent_at=sent_at, attempts=1,
        address=Subquery(email.values("email")[:1]),
    )  # fmt: skip
    sent = rows.filter(status=DeliveryStatus.SENT).annotate(bucket=ab_bucket(mailing.pk))
    sent.filter(bucket__lt=opens * 5).update(opened_at=sent_at + dt.timedelta(minutes=25))
    sent.filter(bucket__gte=opens * 5, bucket__lt=opens * 10).update(
        opened_at=sent_at + dt.timedelta(hours=5)
    )
    sent.filter(bucket__lt=clicks * 10).update(clicked_at=F("opened_at") + dt.timedelta(minutes=2))
    _email_events_insert(mailing=mailing, type=EventType.EMAIL_SENT, at_column="sent_at", label="")
    _email_events_insert(
        mailing=mailing, type=EventType.EMAIL_OPENED, at_column="opened_at", label="human"
    )
    link = re.search(r'href="(https?://[^"]+)"', broadcast.template.compiled.get("html", ""))
    _email_events_insert(
        mailing=mailing, type=EventType.EMAIL_CLICKED, at_column="clicked_at", label="human",
        url=unescape(link.group(1)) if link else "",
    )  # fmt: skip
    return mailing


def _bounce_and_unsubscribe(*, workspace: Workspace, mailing: Mailing, at: dt.datetime) -> None:
    """One hard bounce (its address suppressed) and one unsubscribe, through the services that
    record them for real mail, moved to the broadcast's day."""
    from volano.emails.suppression import suppression_add
    from volano.emails.unsubscribe import delivery_unsubscribe

    sent = Delivery.objects.for_workspace(workspace).filter(
        mailing=mailing, status=DeliveryStatus.SENT, opened_at__isnull=True
    )
    bounced = sent.order_by("pk").first()
    if bounced is not None:
        sent.filter(pk=bounced.pk).update(
            status=DeliveryStatus.BOUNCED, bounce_kind="hard", bounced_at=at,
            error="550 5.1.1 utente sconosciuto",
        )  # fmt: skip
        suppression_add(
            workspace=workspace, address=bounced.address, reason="hard_bounce",
            source=f"demo: DSN for mailing {mailing.pk}",
        )  # fmt: skip
    leaving = (
        Delivery.objects.for_workspace(workspace)
        .filter(mailing=mailing, status=DeliveryStatus.SENT, opened_at__isnull=False)
        .select_related("mailing__workspace")
        .order_by("-pk")
        .first()
    )
    if leaving is not None:
        delivery_unsubscribe(delivery=leaving, ip="192.0.2.10", how="one-click")
        Event.objects.for_workspace(workspace).filter(
            type=EventType.EMAIL_UNSUBSCRIBED, properties__delivery=leaving.pk
        ).update(occurred_at=at + dt.timedelta(hours=6), received_at=at + dt.timedelta(hours=6))


def demo_broadcasts_create(*, workspace: Workspace, now: dt.datetime) -> int:
    """Two past broadcasts with their results (one with an A/B subject test won by B) and a
    draft of the block-per-product-line newsletter; call after the templates and segments.
    Returns how many broadcasts were created (0 when they exist already)."""
    from volano.emails.broadcasts.services import ab_ranges, broadcast_audience, broadcast_create
    from volano.segments.models import Segment

    if Broadcast.objects.for_workspace(workspace).exists():
        return 0
    templates = {t.slug: t for t in EmailTemplate.objects.for_workspace(workspace)}
    segments = {s.slug: s for s in Segment.objects.for_workspace(workspace)}
    created = 0
    for slug, name, template_slug, segment_slug, days, subject_b, opens, clicks in PAST_BROADCASTS:
        template, segment = templates.get(template_slug), segments.get(segment_slug)
        if template is None or segment is None:
            continue
        sent_at = (now - dt.timedelta(days=days)).replace(hour=9, minute=30, second=0)
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                workspace=workspace, name=name, slug=slug, template=template, segment=segment,
                status=BroadcastStatus.SENT, created_at=sent_at - dt.timedelta(days=1),
                updated_at=sent_at, started_at=sent_at,
                ab_which="subject" if subject_b else "", ab_subject_b=subject_b or "",
                ab_split=20, ab_hours=4,
            )  # fmt: skip
            audience = broadcast_audience(workspace=workspace, broadcast=broadcast)
            if subject_b is None:
                broadcast.mailing_a = _past_mailing(
                    workspace=workspace, broadcast=broadcast, label="", audience=audience,
                    params=template_mailing_params(template), sent_at=sent_at, opens=opens,
                    clicks=clicks,
                )  # fmt: skip
                broadcast.finished_at = sent_at + dt.timedelta(minutes=12)
            else:
                a_range, b_range = ab_ranges(broadcast.ab_split)
                bucketed = audience.annotate(ab_bucket=ab_bucket(broadcast.pk))
                broadcast.mailing_a = _past_mailing(
                    workspace=workspace, broadcast=broadcast, label="A",
                    audience=bucketed.filter(ab_bucket__lt=a_range.stop),
                    params=template_mailing_params(template), sent_at=sent_at,
                    opens=opens - 6, clicks=clicks - 2,
                )  # fmt: skip
                broadcast.mailing_b = _past_mailing(
                    workspace=workspace, broadcast=broadcast, label="B",
                    audience=bucketed.filter(
                        ab_bucket__gte=b_range.start, ab_bucket__lt=b_range.stop
                    ),
                    params=template_mailing_params(template, subject=subject_b),
                    sent_at=sent_at, opens=opens + 6, clicks=clicks + 2,
                )  # fmt: skip
                winner_at = sent_at + dt.timedelta(hours=4)
                already = Delivery.objects.for_workspace(workspace).filter(
                    mailing_id__in=[broadcast.mailing_a.pk, broadcast.mailing_b.pk]
                )
                broadcast.mailing_rest = _past_mailing(
                    workspace=workspace, broadcast=broadcast, label="vincitore B",
                    audience=audience.exclude(pk__in=already.values("contact_id")),
                    params=template_mailing_params(template, subject=subject_b),
                    sent_at=winner_at, opens=opens + 4, clicks=clicks + 1,
                )  # fmt: skip
                broadcast.winner, broadcast.winner_at = "b", winner_at
                broadcast.finished_at = winner_at + dt.timedelta(minutes=12)
            broadcast.save()
            _bounce_and_unsubscribe(
                workspace=workspace, mailing=broadcast.mailing_rest or broadcast.mailing_a,
                at=sent_at,
            )  # fmt: skip
        created += 1
    newsletter, everyone = (
        templates.get("newsletter-linee-prodotto"),
        segments.get("clienti-ricambi-12-mesi"),
    )
    if newsletter is not None and everyone is not None:
        broadcast_create(
            workspace=workspace, actor=None, template=newsletter, segment=everyone,
            name="Newsletter di stagione", slug="newsletter-stagione",
        )  # fmt: skip
        created += 1
    return created
