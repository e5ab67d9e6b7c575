"""The generated Italian SME is realistic and consistent, and the same seed gives the same data."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import phonenumbers
from stdnum.it import iva

from volano.contacts.cleaning import clean_email
from volano.core import geography
from volano.demo import catalog
from volano.demo.generator import SIZES, DemoGenerator, Size, fair_edition
from volano.events.services import EVENT_COLUMNS

NOW = dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC)
TINY = Size(contacts=600, companies=120, activity=1.0, anonymous_visitors=100)


def proper_case(name: str) -> bool:
    """Empty, or every word of a person's name capitalised and not shouted ("Dalla Valle",
    "D'Angelo", "De Luca")."""
    words = [w for w in re.split(r"[ '’-]", name) if w]
    return all(w[0].isupper() and (len(w) == 1 or not w.isupper()) for w in words)


def generate(seed=2026, size=TINY):
    gen = DemoGenerator(workspace_id=1, size=size, now=NOW, owners={"Lombardia": 7}, seed=seed)
    companies = gen.companies_generate(1)
    chunks = list(gen.contact_chunks(1, 1, chunk_size=250))
    return companies, chunks


def test_same_seed_same_data_and_another_seed_other_data():
    assert generate() == generate()
    assert generate()[1][0].contacts != generate(seed=7)[1][0].contacts


def test_companies_have_valid_partite_iva_and_italian_addresses():
    companies, _ = generate()
    vats = [row[3] for row in companies]
    assert len(set(vats)) == len(vats)
    assert all(iva.is_valid(vat) for vat in vats)
    for row in companies:
        assert geography.provinces()[row[11]].region == row[12]
        assert row[5] and row[6]  # ATECO code and sector
    names = " ".join(row[2] for row in companies)
    assert "S.r.l." in names and ("S.n.c." in names or "S.a.s." in names)


def test_contacts_are_clean_enough_to_import_and_dirty_enough_to_be_real():
    _, chunks = generate()
    contacts = [row for chunk in chunks for row in chunk.contacts]
    assert len(contacts) == TINY.contacts
    emails = [row[2] for row in contacts if row[2]]
    assert len(set(emails)) == len(emails)
    assert all(clean_email(email) == email for email in emails)
    assert len(emails) < len(contacts)  # some have no email (business cards from fairs)
    phones = [row[5] for row in contacts if row[5]]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert all(phone.startswith("+39") for phone in phones)
    assert any(not row[3] for row in contacts)  # missing first names
    assert all(proper_case(row[3]) and proper_case(row[4]) for row in contacts)
    regions = Counter(row[12] for row in contacts)
    north = sum(regions[r] for r in ("Lombardia", "Veneto", "Emilia-Romagna", "Piemonte"))
    assert north > len(contacts) * 0.4
    assert any(row[15] == 7 for row in contacts if row[12] == "Lombardia")  # the rep owns them


def test_events_follow_the_property_conventions_and_orders_match():
    _, chunks = generate()
    events = [dict(zip(EVENT_COLUMNS, row, strict=True)) for c in chunks for row in c.events]
    orders = {row[2]: row for c in chunks for row in c.orders}
    lines = Counter(row[1] for c in chunks for row in c.order_lines)
    types = Counter(e["type"] for e in events)
    for kind in (
        "page_view",
        "form_submitted",
        "content_downloaded",
        "email_sent",
        "email_opened",
        "email_clicked",
        "email_bounced",
        "webinar_registered",
        "order",
        "survey_answered",
        "ticket",
        "consent_changed",
    ):
        assert types[kind], kind
    assert types["email_opened"] < types["email_delivered"] < types["email_sent"] * 1.001
    assert types["email_clicked"] < types["email_opened"]
    assert all(NOW - dt.timedelta(days=366) <= e["occurred_at"] <= NOW for e in events)
    for e in events:
        props = e["properties"]
        if e["type"] == "page_view":
            assert set(props) == {"url", "title", "dwell_seconds", "referrer"}
        elif e["type"] == "order":
            order = orders[props["number"]]
            assert abs(float(order[9]) - props["total"]) < 0.01
            assert lines[order[0]] == len(props["lines"])
            assert set(props["lines"][0]) == {
                "sku",
                "product_name",
                "product_line",
                "quantity",
                "amount",
            }
        elif e["type"] == "email_bounced":
            assert props["kind"] in {"hard", "soft"}
    assert len(orders) == types["order"]
    anonymous = [e for e in events if e["contact_id"] is None]
    assert anonymous and all(e["anonymous_id"] for e in anonymous)
    utm = [e for e in events if e["utm_source"]]
    assert utm and all(e["utm_campaign"] == e["campaign"] for e in utm if e["type"] == "page_view")


def test_the_small_size_is_about_2000_contacts_and_60k_events():
    _, chunks = generate(size=SIZES["small"])
    contacts = sum(len(c.contacts) for c in chunks)
    events = sum(len(c.events) for c in chunks)
    assert contacts == 2_000
    assert 50_000 <= events <= 80_000


def test_deal_offers_add_up_their_lines_at_catalogue_prices():
    """The regression: the amount was picked from a list, unrelated to any product."""
    _, chunks = generate()
    prices = {sku: Decimal(str(price)) for sku, _n, _l, price, _s in catalog.PRODUCTS}
    deals = [
        dict(zip(EVENT_COLUMNS, row, strict=True))["properties"]
        for chunk in chunks
        for row in chunk.events
        if row[3] == "deal_changed"
    ]
    assert deals
    for props in deals:
        total = sum(prices[line["sku"]] * line["quantity"] for line in props["lines"])
        assert all(
            Decimal(str(line["unit_price"])) == prices[line["sku"]] for line in props["lines"]
        )
        assert Decimal(str(props["amount"])) == total.quantize(Decimal("0.01"))


def test_fairs_and_newsletters_are_named_after_the_year_they_happen():
    """The regression: "EIMA 2025" and "Fieragricola 2026" happened on any day of the year."""
    _, chunks = generate()
    events = [dict(zip(EVENT_COLUMNS, row, strict=True)) for c in chunks for row in c.events]
    fairs = [e for e in events if e["type"] == "event_attended"]
    assert len({e["properties"]["event"] for e in fairs}) >= 2
    for e in fairs:
        year = str(e["occurred_at"].year)
        assert e["properties"]["event"].endswith("-" + year), e
        assert re.findall(r"\b20\d\d\b", e["properties"]["title"]) == [year], e
    subjects = [e for e in events if e["type"] == "email_sent"]
    for e in subjects:
        for year in re.findall(r"\b20\d\d\b", e["properties"]["subject"]):
            assert year == str(e["occurred_at"].year), e
    # a contact met at a fair is tagged with the edition it was met at, and exists from that day
    contacts = [row for c in chunks for row in c.contacts]
    tagged = [(row[16], row[19]) for row in contacts if row[17] == "fiera"]
    assert tagged
    for tags, created in tagged:
        (tag,) = [t for t in tags if t.startswith("fiera-")]
        assert tag.endswith(str(created.year))
    assert fair_edition("eima", NOW)[:2] == ("eima-2025", "EIMA International 2025 - Bologna")
    assert fair_edition("eima", dt.datetime(2026, 11, 20, tzinfo=dt.UTC))[0] == "eima-2026"


def test_a_consent_has_one_time_in_its_row_and_on_the_timeline():
    """The regression: a web consent was recorded at its confirmation but shown at the form."""
    _, chunks = generate()
    events = [dict(zip(EVENT_COLUMNS, row, strict=True)) for c in chunks for row in c.events]
    told: dict[tuple, dt.datetime] = {}
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        if e["type"] == "consent_changed":
            p = e["properties"]
            told[(e["contact_id"], p["purpose"], p["to"])] = e["occurred_at"]
    checked = 0
    for chunk in chunks:
        for row in chunk.consents:
            _ws, contact_id, purpose, status, *_rest = row
            at = told.get((contact_id, purpose, status))
            if at is not None:
                assert at == row[5], row
                checked += 1
    assert checked > 100
