"""A deterministic generator of Officina Rossi's customer base and its last 12 months.

The same seed gives the same people, companies and stories (dates are relative to `now`). Rows come
out as tuples in chunks of contacts, ready for `writer.TableWriter`; nothing here touches the
database, so the same code fills a demo (2,000 contacts) or a benchmark (1,000,000 contacts).

Each contact lives a small story: how they arrived (web form, fair, shop checkout, the ERP),
their consent, web sessions (some before they identified themselves), the newsletters they got and
what they did with them, downloads, webinars, fairs, orders with their lines, a survey after a
purchase, support tickets and, for B2B prospects, a deal. Rates are plausible for an Italian SME.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from stdnum import luhn

from volano.core import geography
from volano.demo import catalog

DAY = dt.timedelta(days=1)
YEAR = 365 * DAY

COMPANY_COLUMNS = (
    "id",
    "workspace_id",
    "name",
    "vat_number",
    "tax_code",
    "ateco_code",
    "sector",
    "size_band",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "website",
    "phone",
    "custom",
    "source",
    "created_at",
    "updated_at",
)
CONTACT_COLUMNS = (
    "id",
    "workspace_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "company_id",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "language",
    "owner_id",
    "tags",
    "source",
    "custom",
    "created_at",
    "updated_at",
)
CONSENT_COLUMNS = (
    "workspace_id",
    "contact_id",
    "purpose",
    "status",
    "source",
    "recorded_at",
    "ip",
    "form",
    "proof",
    "confirmed_at",
)
VISITOR_COLUMNS = ("workspace_id", "anonymous_id", "contact_id", "first_seen_at", "identified_at")
ORDER_COLUMNS = (
    "id",
    "workspace_id",
    "number",
    "contact_id",
    "company_id",
    "ordered_at",
    "status",
    "channel",
    "currency",
    "total",
    "created_at",
)
ORDER_LINE_COLUMNS = (
    "workspace_id",
    "order_id",
    "sku",
    "product_name",
    "product_line",
    "quantity",
    "unit_price",
    "amount",
)


@dataclass(frozen=True)
class Size:
    contacts: int
    companies: int
    activity: float  # scales sessions and newsletter reach, so the events per contact fit the size
    anonymous_visitors: int


SIZES = {
    "small": Size(contacts=2_000, companies=450, activity=1.0, anonymous_visitors=600),
    "medium": Size(contacts=50_000, companies=9_000, activity=0.6, anonymous_visitors=12_000),
    "1m": Size(contacts=1_000_000, companies=150_000, activity=0.27, anonymous_visitors=150_000),
}

# Sales territories of the demo's four reps: (name, email, regions).
TERRITORIES = (
    (
        "Marco Neri",
        "marco.neri@officinarossi.it",
        "Nord-Ovest",
        ("Piemonte", "Liguria", "Lombardia", "Valle d'Aosta/Vallée d'Aoste"),
    ),
    (
        "Elena Galli",
        "elena.galli@officinarossi.it",
        "Nord-Est",
        ("Veneto", "Friuli-Venezia Giulia", "Trentino-Alto Adige/Südtirol", "Emilia-Romagna"),
    ),
    (
        "Luca Conti",
        "luca.conti@officinarossi.it",
        "Centro",
        ("Toscana", "Umbria", "Marche", "Lazio"),
    ),
    (
        "Sara Esposito",
        "sara.esposito@officinarossi.it",
        "Sud e Isole",
        (
            "Abruzzo",
            "Molise",
            "Campania",
            "Puglia",
            "Basilicata",
            "Calabria",
            "Sicilia",
            "Sardegna",
        ),
    ),
)

STREETS = (
    "Via Roma",
    "Via Garibaldi",
    "Via Mazzini",
    "Via Dante",
    "Via Verdi",
    "Via Marconi",
    "Corso Italia",
    "Via XX Settembre",
    "Via Cavour",
    "Via della Repubblica",
    "Via San Martino",
    "Via dei Mille",
    "Piazza della Libertà",
)
INDUSTRIAL_STREETS = (
    "Via dell'Industria",
    "Via dell'Artigianato",
    "Via del Lavoro",
    "Via dell'Agricoltura",
    "Strada Provinciale",
    "Via Emilia",
    "Via Nazionale",
)
AREA_CODES = ("02", "011", "010", "030", "035", "045", "049", "051", "055", "06", "0372", "081")
HOURS_B2B = (8, 9, 9, 10, 10, 11, 11, 12, 14, 15, 15, 16, 17, 18)
HOURS_B2C = (7, 8, 12, 13, 13, 18, 19, 20, 20, 21, 21, 22, 22, 23, 10, 15)


@dataclass
class Chunk:
    """The rows of a slice of contacts, in insertion order."""

    contacts: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    visitors: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    order_lines: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)


@dataclass
class CompanyInfo:
    id: int
    name: str
    domain: str
    province: str
    region: str
    city: str
    postal_code: str
    street: str
    dealer: bool
    customer: bool
    size_band: str
    contacts: int = 0


def vat_number(rng: random.Random) -> str:
    """A partita IVA with a valid office code and check digit."""
    base = f"{rng.randint(1, 9_999_999):07d}{rng.randint(1, 100):03d}"
    return base + luhn.calc_check_digit(base)


@cache
def _comuni_by_province() -> dict[str, list[tuple[str, str]]]:
    by_province: dict[str, list[tuple[str, str]]] = {}
    for _istat, name, province, caps in geography._data()["comuni"]:
        by_province.setdefault(province, []).append((name, caps[0]))
    return by_province


@cache
def _province_table() -> tuple[list[str], list[float]]:
    """Provinces weighted by their region's share of the customer base, split among the region's
    provinces by how many comuni each has (a fair stand-in for population)."""
    comuni = _comuni_by_province()
    by_region: dict[str, list[str]] = {}
    for code, province in geography.provinces().items():
        by_region.setdefault(province.region, []).append(code)
    codes, weights = [], []
    for region, region_codes in by_region.items():
        region_comuni = sum(len(comuni.get(code, ())) for code in region_codes) or 1
        for code in region_codes:
            if comuni.get(code):
                codes.append(code)
                share = len(comuni[code]) / region_comuni
                weights.append(catalog.REGION_WEIGHTS.get(region, 0.5) * share)
    return codes, weights


def fair_edition(slug: str, on_or_before: dt.datetime) -> tuple[str, str, dt.datetime]:
    """The last edition of a fair held on or before a moment: (key, title, opening at 9:00 Rome).

    The year in the key and the title is the year of the date, so "EIMA 2026" happens in 2026.
    """
    _slug, name, city, month, day, _weight = next(f for f in catalog.FAIRS if f[0] == slug)
    year = on_or_before.year
    opening = dt.datetime(year, month, day, 8, 0, tzinfo=dt.UTC)
    if opening > on_or_before:
        year -= 1
        opening = opening.replace(year=year)
    return f"{slug}-{year}", f"{name} {year} - {city}", opening


def _weighted(options: tuple) -> tuple[list, list[float]]:
    return [o[0] for o in options], [float(o[-1]) for o in options]


def _slug(text: str) -> str:
    keep = "".join(ch for ch in text.lower() if ch.isalnum())
    return (
        keep.replace("à", "a")
        .replace("è", "e")
        .replace("é", "e")
        .replace("ì", "i")
        .replace("ò", "o")
        .replace("ù", "u")
    )


class DemoGenerator:
    """Generates one workspace's rows. `owners` maps a region name to the rep's user id."""

    def __init__(
        self,
        *,
        workspace_id: int,
        size: Size,
        now: dt.datetime,
        owners: dict[str, int] | None = None,
        seed: int = 2026,
    ):
        self.ws = workspace_id
        self.size = size
        self.now = now.astimezone(dt.UTC).replace(microsecond=0)
        self.start = self.now - YEAR
        self.owners = owners or {}
        self.rng = random.Random(seed)
        self.companies: list[CompanyInfo] = []
        self._emails: set[str] = set()
        self._order_seq = 0
        self._order_ids = itertools.count(1)
        self._province_codes, self._province_weights = _province_table()
        self._domains, self._domain_weights = _weighted(catalog.CONSUMER_DOMAINS)
        self._titles, self._title_weights = _weighted(catalog.JOB_TITLES_B2B)
        self._pages = catalog.PAGES
        self._page_weights = [float(p[2]) for p in catalog.PAGES]
        self._referrers, self._referrer_weights = _weighted(catalog.REFERRERS)
        self._forms, self._form_weights = _weighted(catalog.FORMS)
        self._shop_products = [p for p in catalog.PRODUCTS if p[4]]
        self._newsletters = self._newsletter_schedule()
        self._fair_slugs, self._fair_weights = _weighted(catalog.FAIRS)
        # the editions held in the last twelve months, one per fair
        self._fairs_in_year = [
            edition
            for edition in (fair_edition(slug, self.now) for slug in self._fair_slugs)
            if edition[2] >= self.start
        ]

    # ---- places, names, numbers -------------------------------------------------------------

    def _place(self, province: str | None = None) -> tuple[str, str, str, str]:
        """(comune, CAP, province code, region) weighted toward the North."""
        rng = self.rng
        if province is None:
            province = rng.choices(self._province_codes, self._province_weights)[0]
        comuni = _comuni_by_province()[province]
        capoluogo = geography.provinces()[province].name.split("/")[0]
        name, cap = comuni[rng.randrange(len(comuni))]
        if rng.random() < 0.3:
            for comune_name, comune_cap in comuni:
                if comune_name == capoluogo:
                    name, cap = comune_name, comune_cap
                    break
        return name, cap, province, geography.provinces()[province].region

    def _mobile(self) -> str:
        rng = self.rng
        return f"+39{rng.choice(catalog.MOBILE_PREFIXES)}{rng.randint(0, 9_999_999):07d}"

    def _landline(self) -> str:
        rng = self.rng
        area = rng.choice(AREA_CODES)
        return f"+39{area}{rng.randint(0, 10 ** (10 - len(area)) - 1):0{10 - len(area)}d}"

    def _person(self) -> tuple[str, str]:
        rng = self.rng
        names = catalog.FIRST_NAMES_F if rng.random() < 0.38 else catalog.FIRST_NAMES_M
        return rng.choice(names), rng.choice(catalog.LAST_NAMES)

    def _unique_email(self, local: str, domain: str) -> str:
        local = _slug(local.replace(".", "dot")).replace("dot", ".").strip(".") or "info"
        email = f"{local}@{domain}"
        while email in self._emails:
            email = f"{local}{self.rng.randint(1, 9999)}@{domain}"
        self._emails.add(email)
        return email

    def _when(
        self, after: dt.datetime, b2b: bool, before: dt.datetime | None = None
    ) -> dt.datetime:
        """A plausible moment between `after` and `before` (default now): office hours for B2B."""
        rng = self.rng
        end = before or self.now
        span = max((end - after).total_seconds(), 3600.0)
        moment = after + dt.timedelta(seconds=rng.random() * span)
        hour = rng.choice(HOURS_B2B if b2b else HOURS_B2C) - 1  # Rome is UTC+1/+2
        moment = moment.replace(hour=hour % 24, minute=rng.randrange(60), second=rng.randrange(60))
        if b2b and moment.weekday() >= 5:
            moment -= (moment.weekday() - 4) * DAY
        return min(max(moment, after), self.now)

    def _newsletter_schedule(self) -> list[tuple[str, str, dt.datetime]]:
        sends = []
        for k in range(24):
            day = self.start + dt.timedelta(days=7 + k * 15)
            sent_at = day.replace(hour=8, minute=30, second=0)
            key = f"nl-{sent_at:%Y-%m}-{'a' if sent_at.day <= 15 else 'b'}"
            subject = catalog.EMAIL_SUBJECTS[k % len(catalog.EMAIL_SUBJECTS)].format(
                year=sent_at.year
            )
            sends.append((key, subject, sent_at))
        return sends

    # ---- companies --------------------------------------------------------------------------

    def companies_generate(self, first_id: int) -> list[tuple]:
        """All companies, with ids from `first_id`; kept in `self.companies` for the contacts."""
        rng = self.rng
        rows = []
        vats: set[str] = set()
        domains: set[str] = set()
        forms, form_weights = _weighted(catalog.COMPANY_FORMS)
        sector_weights = [s[2] for s in catalog.SECTORS]
        for n in range(self.size.companies):
            ateco, sector, _w, bands, dealer = rng.choices(catalog.SECTORS, sector_weights)[0]
            last, last2 = rng.choice(catalog.LAST_NAMES), rng.choice(catalog.LAST_NAMES)
            city, cap, province, region = self._place()
            pattern = rng.choice(catalog.COMPANY_PATTERNS)
            base = pattern.format(
                trade=rng.choice(catalog.TRADES),
                last=last,
                last2=last2,
                place=city.split("/")[0],
            )
            if "Azienda Agricola" in base:
                name = base
            else:
                name = f"{base} {rng.choices(forms, form_weights)[0]}"
            vat = vat_number(rng)
            while vat in vats:
                vat = vat_number(rng)
            vats.add(vat)
            domain = _slug(base)[:30] + ".it"
            if domain in domains:
                domain = f"{_slug(base)[:26]}{n % 1000}.it"
            domains.add(domain)
            size_band = rng.choice(bands)
            customer = rng.random() < 0.42
            revenue = {"1-9": 450_000, "10-49": 3_500_000, "50-249": 22_000_000, "250+": 90_000_000}
            custom: dict[str, Any] = {}
            if rng.random() < 0.7:
                custom["fatturato"] = round(revenue[size_band] * rng.uniform(0.4, 1.8), -3)
            if customer:
                custom["macchine_installate"] = rng.randint(1, 4 if size_band == "1-9" else 25)
            street = f"{rng.choice(INDUSTRIAL_STREETS)} {rng.randint(1, 120)}"
            created = self.now - dt.timedelta(days=rng.randint(30, 4 * 365))
            company_id = first_id + n
            self.companies.append(
                CompanyInfo(
                    company_id,
                    name,
                    domain,
                    province,
                    region,
                    city,
                    cap,
                    street,
                    dealer,
                    customer,
                    size_band,
                )
            )
            rows.append(
                (
                    company_id,
                    self.ws,
                    name,
                    vat,
                    vat,
                    ateco,
                    sector,
                    size_band,
                    street,
                    cap,
                    city,
                    province,
                    region,
                    "IT",
                    f"https://www.{domain}",
                    self._landline() if rng.random() < 0.8 else "",
                    custom,
                    rng.choice(("gestionale", "gestionale", "fiera", "import")),
                    created,
                    created,
                )
            )
        return rows

    # ---- contacts and their stories ---------------------------------------------------------

    def contact_chunks(
        self, first_id: int, first_order_id: int, chunk_size: int = 5_000
    ) -> Iterator[Chunk]:
        """Contacts with ids from `first_id` (orders from `first_order_id`) and their stories."""
        self._order_ids = itertools.count(first_order_id)
        contact_id = first_id
        remaining = self.size.contacts
        anonymous_left = self.size.anonymous_visitors
        while remaining > 0:
            chunk = Chunk()
            for _ in range(min(chunk_size, remaining)):
                self._contact(chunk, contact_id)
                contact_id += 1
            remaining -= min(chunk_size, remaining)
            share = round(self.size.anonymous_visitors * chunk_size / self.size.contacts)
            for _ in range(min(share, anonymous_left) if remaining else anonymous_left):
                self._anonymous_visitor(chunk)
                anonymous_left -= 1
            yield chunk

    def _contact(self, chunk: Chunk, contact_id: int) -> None:
        rng = self.rng
        b2b = rng.random() < 0.55 and bool(self.companies)
        company = None
        if b2b:
            # A few companies have many contacts; most have one or two.
            index = int(len(self.companies) * rng.random() ** 1.6)
            company = self.companies[index]
            company.contacts += 1
        first, last = self._person()
        if company:
            city, cap, province, region = (
                company.city,
                company.postal_code,
                company.province,
                company.region,
            )
            street = company.street if rng.random() < 0.5 else ""
        else:
            city, cap, province, region = self._place()
            street = f"{rng.choice(STREETS)} {rng.randint(1, 200)}" if rng.random() < 0.6 else ""

        # How they arrived, and when.
        if rng.random() < 0.7:
            created = self.start + dt.timedelta(seconds=rng.random() * YEAR.total_seconds())
        else:
            created = self.start - dt.timedelta(days=rng.randint(1, 3 * 365))
        if company:
            source = rng.choices(
                ("web", "fiera", "gestionale", "import", "api"), (35, 20, 25, 15, 5)
            )[0]
        else:
            source = rng.choices(("web", "shop", "import", "api"), (45, 40, 10, 5))[0]

        fair: tuple[str, str, dt.datetime] | None = None
        if source == "fiera":
            # met at the stand: the contact exists from the day of the fair
            slug = rng.choices(self._fair_slugs, self._fair_weights)[0]
            # this year's edition for a contact of this year, an older one for an older contact
            fair = fair_edition(slug, self.now if created >= self.start else created)
            created = min(
                fair[2] + dt.timedelta(hours=rng.randint(0, 8), minutes=rng.randrange(60)), self.now
            )

        # Identity, with the dirt a real database has.
        if company and rng.random() < 0.04:
            email = self._unique_email(
                rng.choice(("info", "acquisti", "amministrazione")), company.domain
            )
            first, last = ("", "") if rng.random() < 0.7 else (first, last)
        elif source == "fiera" and rng.random() < 0.2:
            email = ""  # a business card with a phone number only
        elif company:
            style = rng.random()
            local = (
                f"{first}.{last}"
                if style < 0.6
                else f"{first[0]}.{last}"
                if style < 0.85
                else f"{last}"
            )
            email = self._unique_email(local, company.domain)
        else:
            domain = rng.choices(self._domains, self._domain_weights)[0]
            style = rng.random()
            local = (
                f"{first}.{last}"
                if style < 0.5
                else f"{first}{last}{rng.randint(60, 99)}"
                if style < 0.8
                else f"{last}.{first}"
            )
            email = self._unique_email(local, domain)
        # The dirt a real database has: missing names (never names in the wrong case: the demo's
        # people are shown on every page, and an ERP export keeps the case it was given).
        dirt = rng.random()
        if dirt < 0.02:
            first = ""
        elif dirt < 0.03 and email:
            first, last = "", ""
        phone = ""
        if source in {"fiera", "gestionale", "shop"} or rng.random() < 0.3:
            phone = self._mobile() if rng.random() < 0.75 else self._landline()
        job_title = rng.choices(self._titles, self._title_weights)[0] if company else ""

        tags: list[str] = []
        customer = (company.customer if company else rng.random() < 0.3) or source == "shop"
        if company:
            tags.append("cliente" if customer else "prospect")
            if company.dealer:
                tags.append("rivenditore")
            if fair is not None:
                tags.append(f"fiera-{fair[0]}")
            if rng.random() < 0.03:
                tags.append("vip")
        else:
            tags.append("b2c")
            if source == "shop":
                tags.append("shop")
            if rng.random() < 0.2:
                tags.append("hobbista")
        custom: dict[str, Any] = {}
        if rng.random() < 0.6:
            custom["interesse"] = rng.choices(("macchine", "ricambi", "assistenza"), (4, 5, 2))[0]
        if customer and company and rng.random() < 0.25:
            expiry = self.now.date() + dt.timedelta(days=rng.randint(-60, 330))
            custom["scadenza_contratto"] = expiry.isoformat()
        owner_id = self.owners.get(region) if company else None
        updated = max(created, self.now - dt.timedelta(days=rng.randint(0, 120)))
        chunk.contacts.append(
            (
                contact_id,
                self.ws,
                email,
                first,
                last,
                phone,
                job_title,
                company.id if company else None,
                street,
                cap,
                city,
                province,
                region,
                "IT",
                "it" if rng.random() < 0.97 else "en",
                owner_id,
                tags,
                source,
                custom,
                created,
                updated,
            )
        )
        story = _Story(self, chunk, contact_id, email, created, company, customer, source)
        story.fair = fair
        story.tell()

    def _anonymous_visitor(self, chunk: Chunk) -> None:
        rng = self.rng
        anonymous_id = f"{rng.getrandbits(128):032x}"
        first_seen = self._when(self.start, rng.random() < 0.5)
        chunk.visitors.append((self.ws, anonymous_id, None, first_seen, None))
        for _ in range(1 + int(rng.random() ** 3 * 4)):
            at = self._when(first_seen, False)
            web_session(self, chunk.events, None, anonymous_id, at)

    def next_order_number(self, prefix: str, at: dt.datetime) -> str:
        self._order_seq += 1
        return f"{prefix}-{at:%Y}-{self._order_seq:07d}"


def event_row(
    gen: DemoGenerator,
    contact_id: int | None,
    type: str,
    at: dt.datetime,
    channel: str,
    properties: dict,
    *,
    anonymous_id: str | None = None,
    source: str = "",
    utm: tuple[str, str, str] | None = None,
    campaign: str = "",
    content: str = "",
) -> tuple:
    utm_source, utm_medium, utm_campaign = utm or ("", "", "")
    return (
        gen.ws,
        contact_id,
        anonymous_id,
        type,
        at,
        at + dt.timedelta(seconds=1),
        channel,
        source,
        utm_source,
        utm_medium,
        utm_campaign,
        "",
        "",
        campaign,
        content,
        properties,
        None,
    )


def web_session(
    gen: DemoGenerator,
    events: list[tuple],
    contact_id: int | None,
    anonymous_id: str | None,
    at: dt.datetime,
    *,
    interest: str = "",
) -> dt.datetime:
    """1-6 page views a few minutes apart; the first may carry a campaign's UTM."""
    rng = gen.rng
    utm = None
    campaign = ""
    referrer = rng.choices(gen._referrers, gen._referrer_weights)[0]
    if rng.random() < 0.3:
        campaign, utm_source, utm_medium, _channel = rng.choice(catalog.CAMPAIGNS)
        utm = (utm_source, utm_medium, campaign)
        referrer = ""
    pages = int(1 + rng.random() ** 2 * 6)
    for n in range(pages):
        path, title, _w = rng.choices(gen._pages, gen._page_weights)[0]
        if interest == "ricambi" and rng.random() < 0.4:
            path, title = "/ricambi/", "Ricambi originali"
        dwell = int(5 + rng.random() ** 2 * 300)
        events.append(
            event_row(
                gen,
                contact_id,
                "page_view",
                at,
                "web",
                {
                    "url": catalog.SITE + path,
                    "title": title,
                    "dwell_seconds": dwell,
                    "referrer": referrer if n == 0 else catalog.SITE + "/",
                },
                anonymous_id=anonymous_id,
                source="tracking",
                utm=utm if n == 0 else None,
                campaign=campaign if n == 0 else "",
            )
        )
        at += dt.timedelta(seconds=dwell + rng.randint(1, 20))
        if at > gen.now:
            break
    return at


class _Story:
    """Everything one contact did, appended to the chunk."""

    def __init__(
        self,
        gen: DemoGenerator,
        chunk: Chunk,
        contact_id: int,
        email: str,
        created: dt.datetime,
        company: CompanyInfo | None,
        customer: bool,
        source: str,
    ):
        self.gen, self.rng, self.chunk = gen, gen.rng, chunk
        self.id, self.email, self.created = contact_id, email, created
        self.company, self.customer, self.source = company, customer, source
        self.b2b = company is not None
        self.since = max(created, gen.start)
        # Engagement: most people are quiet, a few are very active.
        self.engagement = self.rng.random() ** 2
        self.fair: tuple[str, str, dt.datetime] | None = None  # the fair where they were met

    def event(self, type: str, at: dt.datetime, channel: str, properties: dict, **kw: Any) -> None:
        if at > self.gen.now:
            return  # it has not happened yet
        self.chunk.events.append(event_row(self.gen, self.id, type, at, channel, properties, **kw))

    def tell(self) -> None:
        rng, gen = self.rng, self.gen
        interest = "ricambi" if rng.random() < 0.4 else ""
        if self.source in {"web", "shop"} and self.created >= gen.start:
            self._identified_visitor()
        consent_until = self._consents()
        if self.email and consent_until is not None:
            self._newsletters(consent_until)
        sessions = int(gen.size.activity * (1 + self.engagement * 14) * rng.random() * 2)
        for _ in range(sessions):
            web_session(
                gen,
                self.chunk.events,
                self.id,
                None,
                gen._when(self.since, self.b2b),
                interest=interest,
            )
        if self.b2b and rng.random() < 0.3 * gen.size.activity:
            self._price_shopping()
        if rng.random() < 0.12 * (0.5 + self.engagement):
            self._download()
        if rng.random() < 0.08:
            self._form(gen._when(self.since, self.b2b))
        if rng.random() < 0.07 * (0.5 + self.engagement):
            self._webinar()
        if self.b2b and (self.source == "fiera" or rng.random() < 0.04):
            self._fair()
        if self.customer:
            self._orders()
        if self.b2b and not self.customer and rng.random() < 0.06:
            self._deal()

    def _identified_visitor(self) -> None:
        """An anonymous visitor who later filled a form: earlier page views join the contact."""
        rng, gen = self.rng, self.gen
        anonymous_id = f"{rng.getrandbits(128):032x}"
        first_seen = max(gen.start, self.created - dt.timedelta(days=rng.randint(1, 40)))
        self.chunk.visitors.append((gen.ws, anonymous_id, self.id, first_seen, self.created))
        for _ in range(1 + int(rng.random() * 2)):
            at = gen._when(first_seen, self.b2b, before=self.created)
            web_session(gen, self.chunk.events, self.id, anonymous_id, at)
        form, url = ("newsletter", "/") if self.source == "shop" else rng.choice(catalog.FORMS)[:2]
        self._form(self.created, form=form, url=url)

    def _consents(self) -> dt.datetime | None:
        """Email-marketing consent with its proof; returns until when newsletters may be sent."""
        rng, gen = self.rng, self.gen
        if not self.email:
            return None
        roll = rng.random()
        source = {
            "web": "modulo-web",
            "shop": "checkout-shop",
            "fiera": "fiera",
            "gestionale": "gestionale",
        }.get(self.source, "import")
        granted_at = self.created
        if roll < 0.7:
            status = "granted"
        elif roll < 0.78:
            status = "revoked"
        elif roll < 0.81:
            status = "denied"
        else:
            return None
        web = source in {"modulo-web", "checkout-shop"}
        ip = (
            f"93.{rng.randint(32, 63)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" if web else None
        )
        form = "newsletter" if web else ""
        proof = {
            # the demo site's forms use double opt-in: confirmed_at is the click on the link
            "modulo-web": "Checkbox newsletter sul modulo, informativa privacy v3 (2025-01); "
            "confermato con il link dell'email di conferma (doppio opt-in)",
            "checkout-shop": "Checkbox nel checkout del web shop, informativa privacy v3",
            "fiera": "Modulo cartaceo firmato allo stand, archiviato in sede",
            "gestionale": "Consenso registrato nel gestionale al momento dell'ordine",
        }.get(source, "File di import con colonna consenso")
        confirmed = granted_at + dt.timedelta(minutes=rng.randint(1, 240)) if web else None
        if status == "denied":
            confirmed = None
        # One time for each consent everywhere: the row's recorded_at is the occurred_at of the
        # timeline event that tells the same change (a web consent counts from its confirmation).
        given_at = min(confirmed or granted_at, gen.now)
        until: dt.datetime | None = gen.now
        recorded = given_at
        if status == "revoked":
            recorded = max(gen._when(self.since, self.b2b), given_at)
            until = recorded
        self.chunk.consents.append(
            (
                gen.ws,
                self.id,
                "email_marketing",
                status,
                source,
                recorded,
                ip,
                form,
                proof,
                confirmed,
            )
        )
        if self.created >= gen.start:
            first = "denied" if status == "denied" else "granted"
            self.event(
                "consent_changed",
                given_at,
                "system",
                {"purpose": "email_marketing", "from": None, "to": first, "source": source},
                source="volano",
            )
        if status == "revoked" and recorded >= gen.start:
            self.event(
                "consent_changed",
                recorded,
                "system",
                {
                    "purpose": "email_marketing",
                    "from": "granted",
                    "to": "revoked",
                    "source": "unsubscribe",
                },
                source="volano",
            )
        if status == "granted" and rng.random() < 0.4:
            self.chunk.consents.append(
                (
                    gen.ws,
                    self.id,
                    "profiling",
                    "granted",
                    source,
                    recorded,
                    ip,
                    form,
                    proof,
                    confirmed,
                )
            )
            if self.created >= gen.start:
                self.event(
                    "consent_changed",
                    recorded,
                    "system",
                    {"purpose": "profiling", "from": None, "to": "granted", "source": source},
                    source="volano",
                )
        return until if status != "denied" else None

    def _newsletters(self, until: dt.datetime) -> None:
        rng, gen = self.rng, self.gen
        reach = gen.size.activity * (0.55 if self.b2b else 0.45)
        open_rate = 0.12 + 0.45 * self.engagement
        for key, subject, sent_at in gen._newsletters:
            if sent_at < self.created or sent_at > until or rng.random() > reach:
                continue
            base = {"message": key, "subject": subject}
            at = sent_at + dt.timedelta(seconds=rng.randint(0, 3600))
            self.event("email_sent", at, "email", base, campaign="newsletter")
            if rng.random() < 0.02:
                reason, kind = rng.choice(catalog.BOUNCE_REASONS)
                self.event(
                    "email_bounced",
                    at + dt.timedelta(seconds=30),
                    "email",
                    {"message": key, "reason": reason, "kind": kind},
                    campaign="newsletter",
                )
                if kind == "hard":
                    return
                continue
            self.event(
                "email_delivered",
                at + dt.timedelta(seconds=5),
                "email",
                base,
                campaign="newsletter",
            )
            if rng.random() > open_rate:
                continue
            opened = at + dt.timedelta(minutes=rng.randint(2, 60 * 48))
            self.event("email_opened", opened, "email", base, campaign="newsletter")
            if rng.random() < 0.002:
                self.event(
                    "email_complained", opened, "email", {"message": key}, campaign="newsletter"
                )
                return
            if rng.random() < 0.004:
                self.event(
                    "email_unsubscribed",
                    opened + dt.timedelta(seconds=20),
                    "email",
                    {"message": key},
                    campaign="newsletter",
                )
                return
            if rng.random() < 0.28:
                path, _title, _w = rng.choices(gen._pages, gen._page_weights)[0]
                url = f"{catalog.SITE}{path}?utm_source=newsletter&utm_medium=email&utm_campaign={key}"
                clicked = opened + dt.timedelta(seconds=rng.randint(5, 300))
                self.event(
                    "email_clicked",
                    clicked,
                    "email",
                    {**base, "url": url},
                    campaign="newsletter",
                )
                web_session(gen, self.chunk.events, self.id, None, min(clicked, gen.now))

    def _price_shopping(self) -> None:
        """A buyer comparing offers: back on the price list 3-5 times in the last 30 days."""
        gen = self.gen
        after = max(self.since, gen.now - 30 * DAY)
        for _ in range(self.rng.randint(3, 5)):
            at = gen._when(after, True)
            self.event(
                "page_view",
                at,
                "web",
                {
                    "url": catalog.SITE + "/prezzi",
                    "title": "Listino prezzi",
                    "dwell_seconds": self.rng.randint(40, 400),
                    "referrer": catalog.SITE + "/",
                },
                source="tracking",
            )

    def _form(self, at: dt.datetime, form: str = "", url: str = "") -> None:
        gen = self.gen
        if not form:
            form = self.rng.choices(gen._forms, gen._form_weights)[0]
            url = dict((f, u) for f, u, _w in catalog.FORMS)[form]
        fields = {"email": self.email} if self.email else {}
        if form in {"richiesta-preventivo", "contatti"}:
            fields["message"] = self.rng.choice(
                (
                    "Vorrei un preventivo per un trinciaerba",
                    "Chiedo disponibilità ricambi per MC 450",
                    "Potete richiamarmi?",
                    "Cerco un rivenditore in zona",
                )
            )
        self.event(
            "form_submitted", at, "web", {"form": form, "url": catalog.SITE + url, "fields": fields}
        )

    def _download(self) -> None:
        gen = self.gen
        key, title, url = self.rng.choice(catalog.CONTENTS)
        at = gen._when(self.since, self.b2b)
        self._form(at, form=f"download-{key}", url=url)
        self.event(
            "content_downloaded",
            at + dt.timedelta(seconds=3),
            "web",
            {"content": key, "title": title, "url": catalog.SITE + url},
            content=key,
        )

    def _webinar(self) -> None:
        rng, gen = self.rng, self.gen
        key, title = rng.choice(catalog.WEBINARS)
        at = gen._when(self.since, self.b2b)
        props = {"webinar": key, "title": title}
        self.event("webinar_registered", at, "web", props, content=key)
        held = at + dt.timedelta(days=rng.randint(2, 14))
        if held < gen.now and rng.random() < 0.55:
            self.event(
                "webinar_attended", held.replace(hour=15, minute=0), "event", props, content=key
            )

    def _fair(self) -> None:
        """A visit to a fair's stand: on the day of the edition, named after its year."""
        if self.fair is not None and self.created >= self.gen.start:
            key, title, _opening = self.fair
            at = self.created
        else:
            editions = [e for e in self.gen._fairs_in_year if e[2] >= self.since]
            if not editions:
                return
            key, title, opening = self.rng.choice(editions)
            at = opening + dt.timedelta(hours=self.rng.randint(0, 8))
        self.event(
            "event_attended",
            at,
            "event",
            {"event": key, "title": title},
            campaign="fiera-eima" if "eima" in key else "",
        )

    def _orders(self) -> None:
        rng, gen = self.rng, self.gen
        count = 1 + int(rng.random() ** 2 * (5 if self.b2b else 2))
        for _ in range(count):
            at = gen._when(self.since, self.b2b)
            self._order(at)

    def _order(self, at: dt.datetime) -> None:
        rng, gen, chunk = self.rng, self.gen, self.chunk
        if self.b2b:
            lines_count = 1 + int(rng.random() ** 2 * 6)
            products = rng.sample(catalog.PRODUCTS, lines_count)
            prefix, channel = "OR", "sales"
        else:
            lines_count = 1 + int(rng.random() ** 3 * 3)
            products = rng.sample(gen._shop_products, lines_count)
            prefix, channel = "WEB", "shop"
        number = gen.next_order_number(prefix, at)
        order_id = next(gen._order_ids)
        lines, total = [], Decimal("0.00")
        for sku, name, line, price, _shop in products:
            if line == "macchine":
                quantity = (
                    1
                    if not self.b2b
                    else 1
                    + int(rng.random() ** 3 * (6 if self.company and self.company.dealer else 2))
                )
            else:
                quantity = 1 + int(rng.random() ** 2 * (20 if self.b2b else 3))
            unit = Decimal(str(price))
            if self.b2b and self.company and self.company.dealer:
                unit = (unit * Decimal("0.75")).quantize(Decimal("0.01"))
            amount = (unit * quantity).quantize(Decimal("0.01"))
            total += amount
            lines.append((sku, name, line, quantity, unit, amount))
            chunk.order_lines.append(
                (gen.ws, order_id, sku, name, line, Decimal(quantity), unit, amount)
            )
        chunk.orders.append(
            (
                order_id,
                gen.ws,
                number,
                self.id,
                self.company.id if self.company else None,
                at,
                "completed",
                channel,
                "EUR",
                total,
                at,
            )
        )
        self.event(
            "order",
            at,
            channel,
            {
                "number": number,
                "total": float(total),
                "currency": "EUR",
                "product_lines": sorted({line[2] for line in lines}),
                "lines": [
                    {
                        "sku": sku,
                        "product_name": name,
                        "product_line": line,
                        "quantity": quantity,
                        "amount": float(amount),
                    }
                    for sku, name, line, quantity, _unit, amount in lines
                ],
            },
            source="gestionale" if self.b2b else "shop",
        )
        if rng.random() < 0.3:
            answered = at + dt.timedelta(days=rng.randint(7, 20))
            if answered < gen.now:
                score = rng.choices(range(11), (1, 1, 1, 2, 2, 4, 5, 8, 14, 16, 12))[0]
                group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
                self.event(
                    "survey_answered",
                    answered,
                    "email",
                    {
                        "survey": "nps-post-acquisto",
                        "kind": "nps",
                        "score": score,
                        "answer": rng.choice(catalog.SURVEY_ANSWERS[group]),
                    },
                )
        if rng.random() < 0.1:
            opened = at + dt.timedelta(days=rng.randint(3, 60))
            if opened < gen.now:
                ticket = f"T-{order_id:07d}"
                subject = rng.choice(catalog.TICKET_SUBJECTS)
                self.event(
                    "ticket",
                    opened,
                    "support",
                    {"ticket": ticket, "subject": subject, "status": "open"},
                )
                closed = opened + dt.timedelta(days=rng.randint(1, 10))
                if closed < gen.now:
                    self.event(
                        "ticket",
                        closed,
                        "support",
                        {"ticket": ticket, "subject": subject, "status": "closed"},
                    )
                    self._csat_answer(ticket, opened, closed)

    def _csat_answer(self, ticket: str, opened: dt.datetime, closed: dt.datetime) -> None:
        """Half the customers answer the CSAT survey (1–5) sent when their ticket is closed; a
        quick fix pleases, a slow one less. Its own random stream, seeded by the ticket, so the
        rest of the story (and every figure the demo's tests hold) stays as it was."""
        rng = random.Random(f"csat-{ticket}")
        if rng.random() >= 0.5:
            return
        days = (closed - opened).days
        weights = (
            (1, 1, 2, 8, 14) if days <= 3 else (2, 3, 5, 8, 5) if days <= 7 else (4, 5, 6, 4, 2)
        )
        score = rng.choices(range(1, 6), weights)[0]
        group = "satisfied" if score >= 4 else "neutral" if score == 3 else "dissatisfied"
        self.event(
            "survey_answered",
            closed + dt.timedelta(days=rng.randint(0, 4), hours=rng.randint(1, 20)),
            "email",
            {
                "survey": "csat-assistenza",
                "kind": "csat",
                "score": score,
                "answer": rng.choice(catalog.CSAT_ANSWERS[group]),
                "ticket": ticket,
            },
        )

    def _deal(self) -> None:
        rng, gen = self.rng, self.gen
        deal = f"D-{self.id:07d}"
        # An offer for one or two machines at list price, maybe with spare parts or a service
        # contract: the deal's amount is the sum of its lines.
        machines = [p for p in catalog.PRODUCTS if p[2] == "macchine" and not p[4]]
        others = [p for p in catalog.PRODUCTS if p[2] != "macchine"]
        machine = rng.choice(machines)
        products = [(machine, 1 + int(rng.random() ** 3 * 3))]
        if rng.random() < 0.4:
            products.append((rng.choice(others), 1 + int(rng.random() ** 2 * 4)))
        lines = [
            {"sku": p[0], "quantity": quantity, "unit_price": p[3]} for p, quantity in products
        ]
        amount = float(
            sum(
                (Decimal(str(p[3])) * quantity for p, quantity in products),
                Decimal("0.00"),
            ).quantize(Decimal("0.01"))
        )
        at = gen._when(self.since, True)
        for stage in ("offerta_inviata", "trattativa", rng.choice(("vinta", "persa", ""))):
            if not stage or at > gen.now:
                break
            self.event(
                "deal_changed",
                at,
                "sales",
                {"deal": deal, "stage": stage, "amount": amount, "lines": lines},
            )
            at += dt.timedelta(days=rng.randint(5, 30))
