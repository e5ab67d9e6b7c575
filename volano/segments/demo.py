"""The demo workspace's segments, list and buyer personas (the lead calls this from `volano demo`).

They are written for the generated manufacturer of agricultural machinery: Lombardy prospects
reading the price list, spare-parts customers, contacts to win back, the EIMA fair list, and three
personas built on job titles and company size.
"""

from __future__ import annotations

from typing import Any

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import contacts_matching
from volano.core.models import Workspace
from volano.segments import services
from volano.segments.models import ContactList, SegmentKind

FAIR_LIST = (
    "fiera-2025",
    "Fiera EIMA 2025",
    "Visitors of our stand at EIMA 2025 (tagged at the fair).",
)
FAIR_TAG = {"field": "tags", "op": "contains", "value": "fiera-eima-2025"}

SEGMENTS: tuple[tuple[str, str, str, Any], ...] = (
    (
        "lombardia-prezzi",
        "Lombardia — interessati ai prezzi",
        "Lombardy contacts who looked at the price list 3+ times in 30 days and have not "
        "clicked an email in 90: call them.",
        {
            "all": [
                {"field": "region", "op": "eq", "value": "Lombardia"},
                {
                    "event": "page_view",
                    "where": {"url": {"contains": "/prezzi"}},
                    "count": {"gte": 3},
                    "within_days": 30,
                },
                {"not": {"event": "email_clicked", "within_days": 90}},
            ]
        },
    ),
    (
        "clienti-ricambi-12-mesi",
        "Clienti ricambi ultimi 12 mesi",
        "Ordered spare parts in the last 12 months.",
        {"event": "order", "where": {"product_line": "ricambi"}, "within_days": 365},
    ),
    (
        "da-riattivare",
        "Da riattivare: nessun clic da 90 giorni",
        "Subscribed to the newsletter but no click in 90 days.",
        {
            "all": [
                {"field": "consent.email_marketing", "op": "eq", "value": "granted"},
                {"not": {"event": "email_clicked", "within_days": 90}},
            ]
        },
    ),
    (
        "grandi-clienti",
        "Grandi clienti: 5.000 € in 12 mesi",
        "Orders worth at least 5,000 € in the last 12 months.",
        {"event": "order", "sum": {"property": "total", "gte": 5000}, "within_days": 365},
    ),
    (
        "fiera-2025-visitatori",
        "Visitatori della fiera 2025",
        "Everyone on the EIMA 2025 list.",
        {"list": "fiera-2025"},
    ),
)

PERSONAS: tuple[tuple[str, str, Any, str, str, str, str], ...] = (
    (
        "responsabile-manutenzione",
        "Responsabile manutenzione",
        {
            "any": [
                {
                    "field": "job_title",
                    "op": "in",
                    "value": ["Manutentore", "Responsabile officina"],
                },
                {"field": "job_title", "op": "contains", "value": "manutenzione"},
            ]
        },
        "Keep the machines running through the season; spare parts on time; fewer breakdowns.",
        "A tractor or a mower stopped in June; parts that arrive in a week; unclear manuals.",
        "Email with spare-parts offers, phone with the dealer, WhatsApp, service webinars.",
        "Manutentore, Responsabile officina, Responsabile manutenzione, Capo officina",
    ),
    (
        "titolare-piccola-officina",
        "Titolare di piccola officina",
        {
            "all": [
                {"field": "job_title", "op": "in", "value": ["Titolare", "Socio"]},
                {"field": "company.size_band", "op": "eq", "value": "1-9"},
            ]
        },
        "Grow the workshop; a reliable supplier who answers; margins on parts.",
        "Little time to read; cash flow; competing with the big dealers.",
        "Phone, the sales rep's visit, fairs, short emails with prices.",
        "Titolare, Socio, Contoterzista",
    ),
    (
        "buyer-grande-azienda",
        "Buyer della grande azienda agricola",
        {
            "all": [
                {
                    "field": "job_title",
                    "op": "in",
                    "value": ["Responsabile acquisti", "Direttore generale", "Amministrazione"],
                },
                {"field": "company.size_band", "op": "in", "value": ["50-249", "250+"]},
            ]
        },
        "Total cost of ownership; framework agreements; one supplier for the whole fleet.",
        "Comparing quotes; approvals that take months; downtime of a large fleet.",
        "Email with documents, tenders, LinkedIn, meetings at fairs.",
        "Responsabile acquisti, Buyer, Direttore generale, Ufficio amministrativo",
    ),
)


def demo_segments_create(*, workspace: Workspace) -> dict[str, int]:
    """Create (or update) the demo list, segments and personas; returns {slug: size}."""
    slug, name, description = FAIR_LIST
    fair = ContactList.objects.for_workspace(workspace).filter(slug=slug).first()
    if fair is None:
        fair = services.list_create(
            workspace=workspace, actor=None, slug=slug, name=name, description=description
        )
    services.list_add_contacts(
        workspace=workspace,
        contact_list=fair,
        contacts=contacts_matching(
            workspace=workspace, condition=condition_parse(FAIR_TAG, workspace=workspace)
        ),
        source="import",
    )
    sizes = {}
    for slug, name, description, definition in SEGMENTS:
        segment = services.segment_save(
            workspace=workspace,
            actor=None,
            slug=slug,
            name=name,
            description=description,
            definition=definition,
        )
        sizes[slug] = segment.size
    for slug, name, definition, goals, pains, channels, job_titles in PERSONAS:
        segment = services.segment_save(
            workspace=workspace,
            actor=None,
            slug=slug,
            name=name,
            kind=SegmentKind.PERSONA,
            definition=definition,
            goals=goals,
            pains=pains,
            channels=channels,
            job_titles=job_titles,
        )
        sizes[slug] = segment.size
    sizes["list:" + fair.slug] = fair.memberships.count()
    return sizes
