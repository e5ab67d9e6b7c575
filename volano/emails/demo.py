"""The demo workspace's email templates (the lead's `volano demo` calls this): the starter library,
and a draft newsletter with a block per product line, so one email reads differently to a
spare-parts customer, a machine buyer and everyone else."""

from __future__ import annotations

from volano.core.models import Workspace
from volano.emails.models import EmailTemplate
from volano.emails.templating.services import template_save
from volano.emails.templating.starters import STARTERS, starter_get


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
