"""The demo's templates: the starters and a draft newsletter with a block per product line,
chosen per contact from their orders (set-based, SQLite and PostgreSQL)."""

from django.utils import timezone

from volano.contacts.models import Contact
from volano.emails.demo import demo_email_templates_create
from volano.emails.models import EmailTemplate
from volano.emails.rendering import render_for_contact, variants_for
from volano.events.services import event_append


def test_demo_newsletter_reads_differently_per_product_line(officina):
    assert demo_email_templates_create(workspace=officina) == 7
    assert demo_email_templates_create(workspace=officina) == 0
    newsletter = EmailTemplate.objects.for_workspace(officina).get(slug="newsletter-linee-prodotto")
    assert newsletter.sendable
    people = {}
    for name, line in (("Rita", "ricambi"), ("Mario", "macchine"), ("Nadia", None)):
        contact = Contact.objects.create(workspace=officina, first_name=name, email=f"{name}@x.it")
        if line:
            event_append(
                workspace=officina, type="order", contact_id=contact.pk,
                occurred_at=timezone.now(), properties={"product_lines": [line], "total": 100},
            )  # fmt: skip
        people[name] = contact
    chosen = variants_for(newsletter, [c.pk for c in people.values()])
    assert [chosen[people[n].pk]["linea"] for n in ("Rita", "Mario", "Nadia")] == [0, 1, 3]
    texts = {n: render_for_contact(newsletter, c).text for n, c in people.items()}
    assert "Ricambi originali" in texts["Rita"]
    assert "tagliando" in texts["Mario"] and "Mario" in texts["Mario"]
    assert "gamma 2026" in texts["Nadia"]
