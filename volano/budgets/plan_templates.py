"""Templates to start a yearly plan from (seed 003 §12): three Italian SMEs, with believable
amounts for their size, scaled to the budget the marketer gives.

- **B2B manufacturer** (a machinery or parts maker, ~€84k a year): a fair, search ads, the
  marketing manager's hours, an agency, a CRM. Its split is **80/15/5**, the usual drift of a
  company that keeps doing what worked: rebalancing it toward 70/20/10 is the first exercise.
- **B2C shop** (an online and physical shop, ~€60k): social and shopping ads weighted toward
  Black Friday and Christmas, at 70/20/10.
- **Professional services** (a firm of accountants or engineers, ~€29.5k): the partner's time,
  local search, the website, a client event, at 85/10/5.

Each line: (name, kind, item, channel, maturity, team, amount, months pattern, people), where
people is (role, hours, hourly rate, activities) for people's time (amount = hours × rate)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.utils.translation import gettext_lazy as _

EVEN = (1,) * 12
B2B_SEASON = (1.1, 1.1, 1.2, 1.1, 1.0, 0.9, 0.7, 0.3, 1.1, 1.2, 1.1, 0.8)
B2C_SEASON = (0.8, 0.6, 0.8, 0.9, 1.0, 0.8, 0.8, 0.5, 0.8, 1.0, 2.0, 1.8)
FAIR_AUTUMN = (0, 0, 0, 0, 0, 0, 0, 0, 0.2, 0.8, 0, 0)
SPRING_AUTUMN = (0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0)
QUARTERLY = (1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0)
FIRST_MONTHS = (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
JANUARY = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
JUNE_DECEMBER = (0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1)
SECOND_HALF = (0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1)


@dataclass(frozen=True)
class TemplateLine:
    name: str
    kind: str
    item: str
    channel: str
    maturity: str
    team: str
    amount: int
    pattern: tuple
    role: str = ""
    hours: int = 0
    rate: int = 0
    activities: str = ""


@dataclass(frozen=True)
class Template:
    key: str
    title: object
    description: object
    lines: tuple[TemplateLine, ...]

    @property
    def total(self) -> Decimal:
        return Decimal(sum(line.amount for line in self.lines))


L = TemplateLine

B2B_MANUFACTURER = Template(
    key="b2b_manufacturer",
    title=_("B2B manufacturer"),
    description=_(
        "A maker of machinery or parts selling to dealers and companies: a trade fair, search "
        "ads, the marketing manager's hours, an agency. Split 80/15/5: most of it on what "
        "already worked."
    ),
    lines=(
        L(
            "Google Ads – ricerca prodotti e ricambi",
            "media",
            "search",
            "paid_search",
            "proven",
            "marketing",
            15600,
            B2B_SEASON,
        ),
        L(
            "Fiera di settore – stand, allestimento, trasferte",
            "training",
            "event",
            "offline",
            "proven",
            "shared",
            21000,
            FAIR_AUTUMN,
        ),
        L(
            "Cataloghi e materiale stampato",
            "media",
            "other_media",
            "offline",
            "proven",
            "shared",
            4000,
            SPRING_AUTUMN,
        ),
        L("CRM e newsletter – licenza", "tools", "licence", "", "proven", "shared", 3000, EVEN),
        L(
            "Responsabile marketing",
            "people",
            "",
            "",
            "proven",
            "marketing",
            14400,
            EVEN,
            role="Responsabile marketing",
            hours=360,
            rate=40,
            activities="campagne, fiera, contenuti tecnici, rapporti con l'agenzia",
        ),
        L(
            "Agenzia – grafica e sito",
            "agency",
            "agency",
            "",
            "proven",
            "marketing",
            6000,
            QUARTERLY,
        ),
        L(
            "LinkedIn Ads – aziende obiettivo (ABM)",
            "media",
            "social",
            "paid_social",
            "new",
            "shared",
            6000,
            B2B_SEASON,
        ),
        L(
            "Webinar tecnici per rivenditori",
            "training",
            "event",
            "",
            "new",
            "shared",
            2500,
            SPRING_AUTUMN,
        ),
        L(
            "Commerciali – richiamo dei partecipanti ai webinar",
            "people",
            "",
            "",
            "new",
            "sales",
            3500,
            SPRING_AUTUMN,
            role="Commerciale",
            hours=100,
            rate=35,
            activities="telefonate e offerte ai partecipanti dei webinar",
        ),
        L(
            "Video prodotto su YouTube",
            "media",
            "display",
            "display",
            "experiment",
            "marketing",
            2500,
            SECOND_HALF,
        ),
        L(
            "Marketing automation – licenza di prova",
            "tools",
            "licence",
            "",
            "experiment",
            "marketing",
            900,
            SECOND_HALF,
        ),
        L(
            "Marketing automation – configurazione",
            "tools",
            "implementation",
            "",
            "experiment",
            "marketing",
            600,
            (0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0),
        ),
        L(
            "Riserva per imprevisti e opportunità",
            "reserve",
            "",
            "",
            "proven",
            "marketing",
            4000,
            EVEN,
        ),
    ),
)

B2C_SHOP = Template(
    key="b2c_shop",
    title=_("B2C shop"),
    description=_(
        "An online and physical shop: social and shopping ads weighted toward Black Friday and "
        "Christmas, the e-commerce manager's hours, photos, a little influencer marketing. "
        "Split 70/20/10."
    ),
    lines=(
        L(
            "Meta Ads – nuovi clienti",
            "media",
            "social",
            "paid_social",
            "proven",
            "marketing",
            14000,
            B2C_SEASON,
        ),
        L(
            "Google Shopping",
            "media",
            "search",
            "paid_search",
            "proven",
            "marketing",
            12100,
            B2C_SEASON,
        ),
        L("Newsletter – licenza", "tools", "licence", "email", "proven", "marketing", 1800, EVEN),
        L(
            "Responsabile e-commerce",
            "people",
            "",
            "",
            "proven",
            "marketing",
            9000,
            EVEN,
            role="Responsabile e-commerce",
            hours=300,
            rate=30,
            activities="campagne, newsletter, schede prodotto, promozioni",
        ),
        L(
            "Foto prodotto – freelance",
            "agency",
            "freelance",
            "",
            "proven",
            "marketing",
            3000,
            QUARTERLY,
        ),
        L("TikTok Ads", "media", "social", "paid_social", "new", "marketing", 5000, B2C_SEASON),
        L(
            "Micro-influencer",
            "agency",
            "freelance",
            "paid_social",
            "new",
            "marketing",
            4400,
            SECOND_HALF,
        ),
        L(
            "Corso di social advertising",
            "training",
            "course",
            "",
            "new",
            "marketing",
            2000,
            FIRST_MONTHS,
        ),
        L(
            "Pinterest Ads",
            "media",
            "social",
            "paid_social",
            "experiment",
            "marketing",
            2200,
            B2C_SEASON,
        ),
        L(
            "Retargeting display",
            "media",
            "display",
            "display",
            "experiment",
            "marketing",
            2000,
            B2C_SEASON,
        ),
        L(
            "Chatbot per il sito – licenza",
            "tools",
            "licence",
            "",
            "experiment",
            "marketing",
            900,
            SECOND_HALF,
        ),
        L(
            "Chatbot per il sito – integrazione col negozio",
            "tools",
            "integration",
            "",
            "experiment",
            "marketing",
            600,
            (0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0),
        ),
        L("Riserva", "reserve", "", "", "proven", "marketing", 3000, EVEN),
    ),
)

PROFESSIONAL_SERVICES = Template(
    key="professional_services",
    title=_("Professional services"),
    description=_(
        "A firm of accountants, lawyers or engineers: the partner's time, local search, the "
        "website and its SEO, a client event. Split 85/10/5."
    ),
    lines=(
        L(
            "Google Ads – servizi in zona",
            "media",
            "search",
            "paid_search",
            "proven",
            "marketing",
            6000,
            EVEN,
        ),
        L(
            "Sito e SEO – agenzia",
            "agency",
            "agency",
            "organic_search",
            "proven",
            "marketing",
            4800,
            QUARTERLY,
        ),
        L("CRM – licenza", "tools", "licence", "", "proven", "shared", 1200, EVEN),
        L(
            "CRM – attivazione e importazione dei clienti",
            "tools",
            "implementation",
            "",
            "proven",
            "shared",
            800,
            JANUARY,
        ),
        L(
            "Socio – tempo per marketing e relazioni",
            "people",
            "",
            "",
            "proven",
            "shared",
            7200,
            EVEN,
            role="Socio",
            hours=120,
            rate=60,
            activities="articoli, incontri con i clienti, evento",
        ),
        L(
            "Evento per i clienti",
            "training",
            "event",
            "offline",
            "proven",
            "shared",
            3800,
            JUNE_DECEMBER,
        ),
        L(
            "Consulente di contenuti LinkedIn – freelance",
            "agency",
            "freelance",
            "organic_social",
            "new",
            "marketing",
            2800,
            EVEN,
        ),
        L(
            "LinkedIn Ads – lead generation",
            "media",
            "social",
            "paid_social",
            "experiment",
            "marketing",
            1400,
            SECOND_HALF,
        ),
        L("Riserva", "reserve", "", "", "proven", "marketing", 1500, EVEN),
    ),
)

TEMPLATES = {t.key: t for t in (B2B_MANUFACTURER, B2C_SHOP, PROFESSIONAL_SERVICES)}


def spread(total: Decimal, pattern: tuple) -> list[Decimal]:
    """`total` split over twelve months in proportion to `pattern` (to the euro when the total
    is whole, else to the cent). Each month is rounded down and the units left over go to the
    months with the largest remainders, so the months add up to the total exactly and none is
    negative (a small total, €9 over twelve even months, is 1 euro in nine of them)."""
    # a total in whole euros is split in whole euros, as a plan is written
    cents = Decimal(1) if total == total.to_integral_value() else Decimal("0.01")
    weights = [Decimal(str(w)) for w in pattern]
    weight = sum(weights)
    if weight <= 0:
        weights, weight = [Decimal(1)] * 12, Decimal(12)
    exact = [total * w / weight for w in weights]
    months = [e.quantize(cents, rounding=ROUND_FLOOR) for e in exact]
    left = int((total - sum(months)) / cents)
    # the largest remainders first; a tie goes to the heavier month, then the earlier
    order = sorted(range(12), key=lambda i: (-(exact[i] - months[i]), -weights[i], i))
    for i in order[: max(left, 0)]:
        months[i] += cents
    return months
