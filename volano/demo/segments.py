"""The demo workspace's segments, list and buyer personas (`volano demo` calls this from load.py).

They are written for the generated manufacturer of agricultural machinery: Lombardy prospects
reading the price list, spare-parts customers, contacts to win back, the EIMA fair list, and three
personas built on job titles and company size.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import contacts_matching
from volano.core.models import Workspace
from volano.demo.generator import fair_edition
from volano.segments import services
from volano.segments.models import ContactList, SegmentKind


def fair_list(now: dt.datetime) -> tuple[str, str, str, dict]:
    """The list of the last EIMA (slug, name, description, tag condition): its year is the
    year of the edition the generator tagged the contacts met there with."""
    key, _title, opening = fair_edition("eima", now)
    year = opening.year
    return (
        f"fiera-{year}",
        f"Fiera EIMA {year}",
        f"Chi è passato dal nostro stand a EIMA {year} (taggato in fiera).",
        {"field": "tags", "op": "contains", "value": f"fiera-{key}"},
    )


SEGMENTS: tuple[tuple[str, str, str, Any], ...] = (
    (
        "lombardia-prezzi",
        "Lombardia — interessati ai prezzi",
        "Contatti lombardi che hanno guardato il listino almeno 3 volte in 30 giorni e non "
        "hanno cliccato un'email in 90: da chiamare.",
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
        "Hanno ordinato ricambi negli ultimi 12 mesi.",
        {"event": "order", "where": {"product_line": "ricambi"}, "within_days": 365},
    ),
    (
        "da-riattivare",
        "Da riattivare: nessun clic da 90 giorni",
        "Iscritti alla newsletter, ma nessun clic da 90 giorni.",
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
        "Ordini per almeno 5.000 € negli ultimi 12 mesi.",
        {"event": "order", "sum": {"property": "total", "gte": 5000}, "within_days": 365},
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
        "Macchine sempre in funzione per tutta la stagione; ricambi puntuali; meno fermi.",
        "Un trattore o un tosaerba fermo a giugno; ricambi che arrivano dopo una settimana; manuali poco chiari.",
        "Email con offerte ricambi, telefono con il rivenditore, WhatsApp, webinar di assistenza.",
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
        "Far crescere l'officina; un fornitore affidabile che risponde; margini sui ricambi.",
        "Poco tempo per leggere; liquidità; la concorrenza dei grandi rivenditori.",
        "Telefono, visita del commerciale, fiere, email brevi con i prezzi.",
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
        "Costo totale di possesso; accordi quadro; un solo fornitore per tutto il parco macchine.",
        "Confrontare preventivi; approvazioni che durano mesi; i fermi di un grande parco macchine.",
        "Email con documentazione, gare, LinkedIn, incontri in fiera.",
        "Responsabile acquisti, Buyer, Direttore generale, Ufficio amministrativo",
    ),
)


def demo_segments_create(*, workspace: Workspace, now: dt.datetime | None = None) -> dict[str, int]:
    """Create (or update) the demo list, segments and personas; returns {slug: size}."""
    slug, name, description, fair_tag = fair_list(now or timezone.now())
    fair = ContactList.objects.for_workspace(workspace).filter(slug=slug).first()
    if fair is None:
        fair = services.list_create(
            workspace=workspace, actor=None, slug=slug, name=name, description=description
        )
    services.list_add_contacts(
        workspace=workspace,
        contact_list=fair,
        contacts=contacts_matching(
            workspace=workspace, condition=condition_parse(fair_tag, workspace=workspace)
        ),
        source="import",
    )
    year = slug.removeprefix("fiera-")
    fair_segment = (
        f"fiera-{year}-visitatori",
        f"Visitatori della fiera {year}",
        f"Tutti i contatti della lista EIMA {year}.",
        {"list": slug},
    )
    sizes = {}
    for slug, name, description, definition in (*SEGMENTS, fair_segment):
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
