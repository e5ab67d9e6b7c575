"""The starter library: six responsive MJML templates in Italian a workspace starts from."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


def _layout(title: str, body: str, footer: str = "") -> str:
    return f"""<mjml>
  <mj-head>
    <mj-title>{title}</mj-title>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif"></mj-all>
      <mj-text font-size="15px" line-height="1.5" color="#1f2933"></mj-text>
      <mj-button background-color="#0b5cad" color="#ffffff" font-size="15px"></mj-button>
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f5f7">
    <mj-section background-color="#0b5cad" padding="16px">
      <mj-column>
        <mj-text color="#ffffff" font-size="20px" font-weight="bold">{title}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="24px 12px">
      <mj-column>
{body}
      </mj-column>
    </mj-section>
    <mj-section padding="12px">
      <mj-column>
        <mj-text font-size="12px" color="#6b7785">{footer or "Ricevi questa email perché hai acconsentito alle comunicazioni di {{ company.name|default('la nostra azienda') }}."}</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


@dataclass(frozen=True)
class Starter:
    slug: str
    name: object
    subject: str
    mjml: str
    blocks: tuple = ()


HELLO = '<mj-text>Gentile {{ contact.first_name|default("cliente") }},</mj-text>'

STARTERS: tuple[Starter, ...] = (
    Starter(
        "newsletter",
        _("Newsletter"),
        "Le novità del mese per {{ contact.first_name|default('te') }}",
        _layout(
            "Newsletter",
            f"""        {HELLO}
        <mj-text>ecco cosa è successo questo mese in officina e nel settore.</mj-text>
        <mj-text>{{{{ blocks.intro }}}}</mj-text>
        <mj-divider border-color="#d9e2ec"></mj-divider>
        <mj-text font-weight="bold">Dal nostro blog</mj-text>
        <mj-text>Tre consigli pratici per la manutenzione di fine stagione.</mj-text>
        <mj-button href="https://www.example.it/blog">Leggi l'articolo</mj-button>""",
        ),
        (
            {
                "key": "intro",
                "variants": [{"html": "<p>Le notizie più lette dai nostri clienti.</p>"}],
            },
        ),
    ),
    Starter(
        "novita-prodotto",
        _("Product news"),
        "Novità: scopri il nuovo prodotto",
        _layout(
            "Novità di prodotto",
            f"""        {HELLO}
        <mj-text>abbiamo appena lanciato una novità pensata per chi lavora come te.</mj-text>
        <mj-image src="https://www.example.it/img/prodotto.jpg" alt="Il nuovo prodotto"></mj-image>
        <mj-text>Più efficienza, meno fermi macchina, assistenza inclusa il primo anno.</mj-text>
        <mj-button href="https://www.example.it/prodotti/novita">Scopri di più</mj-button>""",
        ),
    ),
    Starter(
        "invito-webinar",
        _("Webinar invitation"),
        "Sei invitato al nostro webinar",
        _layout(
            "Invito al webinar",
            f"""        {HELLO}
        <mj-text>ti invitiamo al nostro prossimo webinar gratuito: un'ora con i nostri tecnici, con domande e risposte dal vivo.</mj-text>
        <mj-text font-weight="bold">Giovedì alle 11:00 · online · 45 minuti</mj-text>
        <mj-button href="https://www.example.it/webinar">Mi iscrivo</mj-button>
        <mj-text font-size="13px">Non puoi partecipare? Iscriviti lo stesso: ti mandiamo la registrazione.</mj-text>""",
        ),
    ),
    Starter(
        "follow-up-fiera",
        _("Event or fair follow-up"),
        "Grazie per essere passato al nostro stand",
        _layout(
            "Grazie della visita",
            f"""        {HELLO}
        <mj-text>è stato un piacere conoscerti in fiera. Come promesso, ecco i materiali di cui abbiamo parlato.</mj-text>
        <mj-button href="https://www.example.it/materiali-fiera">Scarica i materiali</mj-button>
        <mj-text>Se vuoi approfondire, {{{{ owner.full_name|default("un nostro consulente") }}}} è a tua disposizione{{% if owner.email %}}: scrivi a {{{{ owner.email }}}}{{% endif %}}.</mj-text>""",
        ),
    ),
    Starter(
        "promemoria-rinnovo",
        _("Renewal reminder"),
        "Il tuo contratto di assistenza è in scadenza",
        _layout(
            "Promemoria di rinnovo",
            f"""        {HELLO}
        <mj-text>il contratto di assistenza di {{{{ company.name|default("della tua azienda") }}}} sta per scadere. Rinnovandolo ora mantieni le stesse condizioni e nessun fermo del servizio.</mj-text>
        <mj-button href="https://www.example.it/rinnovo">Rinnova ora</mj-button>
        <mj-text font-size="13px">Hai domande sul rinnovo? Rispondi a questa email.</mj-text>""",
        ),
    ),
    Starter(
        "grazie-materiale",
        _("Thank you, with material"),
        "Grazie! Ecco il materiale che hai richiesto",
        _layout(
            "Grazie!",
            f"""        {HELLO}
        <mj-text>grazie per il tuo interesse. Ecco il materiale che hai richiesto:</mj-text>
        <mj-button href="https://www.example.it/download">Scarica il PDF</mj-button>
        <mj-text>{{{{ blocks.approfondimento }}}}</mj-text>""",
        ),
        (
            {
                "key": "approfondimento",
                "variants": [
                    {"html": "<p>Ti potrebbe interessare anche la nostra guida completa.</p>"}
                ],
            },
        ),
    ),
)


def starter_get(slug: str) -> Starter | None:
    return next((s for s in STARTERS if s.slug == slug), None)
