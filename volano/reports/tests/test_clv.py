"""Customer lifetime value on the CDNOW sample (Fader, Hardie & Lee 2005): the orders go in through
the real import, the fit comes back through the API, and both models' parameters match the
published ones within 1%.

`data/CDNOW_sample.txt` is the 1/10th CDNOW sample (2,357 customers who first bought in the first
quarter of 1997), as distributed with the `lifetimes` package (MIT) and by Bruce Hardie: customer id,
sample id, date, CDs bought, dollars. The papers calibrate on the 39 weeks to 1997-09-30."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from volano.contacts.models import Contact
from volano.core.models import Activity
from volano.imports.services import import_file
from volano.orders.models import Order
from volano.reports import clv, selectors, services
from volano.reports.models import ValueModel

DATA = Path(__file__).parent / "data" / "CDNOW_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30)
# Fader, Hardie & Lee (2005) "Counting your customers the easy way", table of estimates; and
# "RFM and CLV: using iso-value curves", the Gamma-Gamma estimates on the same sample
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _close(found: dict, published: dict) -> None:
    for key, value in published.items():
        assert found[key] == pytest.approx(value, rel=0.01), (key, found[key], value)


@pytest.fixture
def cdnow(officina, tmp_path):
    """The CDNOW sample imported as contacts (one per sample id) and orders (one per line)."""
    lines = [line.split() for line in DATA.read_text().splitlines() if line.strip()]
    contacts = tmp_path / "clienti.csv"
    contacts.write_text(
        "Email;Nome\n"
        + "".join(
            f"cd{sample}@example.it;Cliente {sample}\n"
            for sample in sorted({line[1] for line in lines})
        )
    )
    orders = tmp_path / "ordini.csv"
    orders.write_text(
        "Numero ordine;Data;Email;Prodotto;Quantità;Importo\n"
        + "".join(
            f"CD-{n};{d[6:]}/{d[4:6]}/{d[:4]};cd{sample}@example.it;CD;{qty};{amount.replace('.', ',')}\n"
            for n, (_cid, sample, d, qty, amount) in enumerate(lines)
        )
    )
    report = import_file(workspace=officina, actor=None, kind="contacts", path=contacts)
    assert report.created == 2357, report.errors[:3]
    report = import_file(workspace=officina, actor=None, kind="orders", path=orders)
    assert not report.errors, report.errors[:3]
    assert Order.objects.for_workspace(officina).count() == len(lines)
    return officina


def test_the_cdnow_fit_matches_the_published_parameters(cdnow, api, giulia):
    # one test over one import (the import is the slow part)
    response = api.get("/reports/clv", as_of="1997-09-30", horizon_months=12)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customers"] == 2357
    assert body["repeat_customers"] == 946  # the papers' count of customers with a repeat
    _close(body["bgnbd"], BGNBD)
    _close(body["gamma_gamma"], GAMMA_GAMMA)
    assert body["clv_total"] > 0 and body["note"] == ""

    # Customer 0001: two repeat purchases, the last at week 30.43, observed for 38.86 weeks; the
    # BG/NBD paper expects 1.226 purchases of them in the next 39 weeks
    contact = Contact.objects.for_workspace(cdnow).get(email="cd0001@example.it")
    summary = clv.customer_summary(cdnow, as_of=CALIBRATION_END, contact_id=contact.pk)
    assert (summary.x[0], round(summary.t_x[0], 2), round(summary.T[0], 2)) == (2, 30.43, 38.86)
    fit = selectors.value_fit_as_of(cdnow, as_of=CALIBRATION_END)
    expected = fit.bgnbd.expected_purchases(39, summary.x, summary.t_x, summary.T)[0]
    assert expected == pytest.approx(1.226, abs=0.005)

    body = api.get(f"/contacts/{contact.pk}/value", as_of="1997-09-30").json()
    assert 0 < body["p_alive"] <= 1
    assert body["expected_purchases"] > 0 and body["expected_spend"] > 0 and body["clv"] > 0
    assert body["purchases"] == 3 and body["currency"] == "EUR"

    # the fit is kept, read back, and refitting the same date replaces it
    model = services.value_model_fit(workspace=cdnow, as_of=CALIBRATION_END, actor=giulia)
    _close(vars(model), BGNBD)
    services.value_model_fit(workspace=cdnow, as_of=CALIBRATION_END, actor=giulia)
    assert ValueModel.objects.for_workspace(cdnow).count() == 1
    assert Activity.objects.for_workspace(cdnow).filter(verb="reports.value_model_fit").count() == 2
    assert selectors.value_fit_as_of(cdnow, as_of=CALIBRATION_END).bgnbd.r == model.r


def _order(workspace, contact, day: dt.date, total: str, **fields) -> None:
    Order.objects.create(
        workspace=workspace,
        contact=contact,
        number=f"N-{Order.objects.for_workspace(workspace).count()}",
        ordered_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))),
        total=Decimal(total),
        **fields,
    )


def test_a_day_is_one_purchase_and_other_currencies_and_cancellations_are_left_out(officina):
    from volano.contacts.services import contact_create

    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@example.it"})
    start = dt.date(2026, 1, 5)
    _order(officina, anna, start, "10")
    _order(officina, anna, start, "15")  # same day: one purchase of 25
    _order(officina, anna, start + dt.timedelta(days=14), "40")
    _order(officina, anna, start + dt.timedelta(days=21), "90", status="cancelled")
    _order(officina, anna, start + dt.timedelta(days=28), "70", currency="USD")
    summary = clv.customer_summary(officina, as_of=start + dt.timedelta(days=35))
    assert list(summary.x) == [1.0]
    assert list(summary.t_x) == [2.0] and list(summary.T) == [5.0]
    assert list(summary.m) == [40.0]  # the repeat day's value, the first day left out
    assert summary.other_currency_orders == 1


def test_too_few_customers_is_an_empty_state_not_an_error(officina, api):
    body = api.get("/reports/clv").json()
    assert body["bgnbd"] is None and body["gamma_gamma"] is None
    assert "at least 20 customers" in body["note"]
    assert body["customers"] == 0 and body["clv_total"] == 0


def test_a_contact_of_another_workspace_is_not_found(ferramenta, officina, api):
    from volano.contacts.services import contact_create

    other = contact_create(workspace=ferramenta, actor=None, data={"email": "altro@example.it"})
    assert api.get(f"/contacts/{other.pk}/value").status_code == 404


def test_a_contact_with_no_orders_has_no_value(officina, api):
    from volano.contacts.services import contact_create

    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@example.it"})
    body = api.get(f"/contacts/{anna.pk}/value").json()
    assert body["p_alive"] is None and body["clv"] is None and body["purchases"] == 0
