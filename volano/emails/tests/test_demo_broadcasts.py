"""The demo's broadcasts: two past ones with results a marketer would believe (opens, clicks,
an unsubscribe, a bounce, on the contacts' timelines) and a draft newsletter."""

from __future__ import annotations

import pytest
from django.utils import timezone

from volano.contacts.models import Consent
from volano.emails.broadcasts.selectors import broadcast_mailings, broadcast_report
from volano.emails.demo import demo_broadcasts_create, demo_email_templates_create
from volano.emails.models import Broadcast, Delivery, Suppression
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403
from volano.events.models import Event
from volano.segments import services as segment_services

pytestmark = pytest.mark.django_db


def test_two_past_broadcasts_and_a_draft(officina, people):
    demo_email_templates_create(workspace=officina)
    segment_services.segment_save(
        workspace=officina, actor=None, slug="clienti-ricambi-12-mesi", name="Clienti ricambi",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )  # fmt: skip
    assert demo_broadcasts_create(workspace=officina, now=timezone.now()) == 3
    assert demo_broadcasts_create(workspace=officina, now=timezone.now()) == 0

    broadcasts = {b.slug: b for b in Broadcast.objects.for_workspace(officina)}
    assert broadcasts["newsletter-stagione"].status == "draft"
    assert broadcasts["newsletter-stagione"].template.slug == "newsletter-linee-prodotto"
    # the second went out after the first's unsubscribe and bounce: those two are skipped
    for slug, skipped in (
        ("ricambi-primavera", {"no_consent": 12, "suppressed": 0}),
        ("webinar-manutenzione", {"no_consent": 13, "suppressed": 1}),
    ):
        broadcast = broadcasts[slug]
        assert broadcast.status == "sent" and broadcast.finished_at < timezone.now()
        report = broadcast_report(workspace=officina, broadcast=broadcast)
        assert report["sent"] > report["delivered"] > report["opened"] > report["clicked"] > 0
        # the clicks are on the email's own link, so the report's click map counts them
        from volano.emails.reports import mailing_click_map

        clicks = mailing_click_map(
            workspace=officina, mailings=broadcast_mailings(workspace=officina, broadcast=broadcast)
        )
        assert sum(row["total"] for row in clicks) == report["clicked"]
        assert (report["bounced"], report["unsubscribed"]) == (1, 1)
        assert {k: report["skipped"][k] for k in skipped} == skipped
    ab = broadcasts["webinar-manutenzione"]
    assert ab.winner == "b" and ab.mailing_b and ab.mailing_rest
    contacts = Delivery.objects.for_workspace(officina).filter(mailing_id__in=ab.mailing_ids())
    ids = list(contacts.values_list("contact_id", flat=True))
    assert len(ids) == len(set(ids)) == 48  # nobody in two mailings of the test

    events = Event.objects.for_workspace(officina)
    sent = Delivery.objects.for_workspace(officina).filter(sent_at__isnull=False).count()
    assert events.filter(type="email_sent").count() == sent
    opened = events.filter(type="email_opened").first()
    assert opened.properties["label"] == "human" and opened.campaign in broadcasts
    assert opened.occurred_at < timezone.now()
    assert Suppression.objects.for_workspace(officina).filter(reason="hard_bounce").count() == 2
    assert Consent.objects.for_workspace(officina).filter(status="revoked").count() == 2
