"""The response curves page as Giulia (marketer) uses it: fit the model from the page, read
what each channel returns, ask for a better split of the same budget and for a what-if, in
Italian amounts; bad input is answered next to the form."""

from __future__ import annotations

import datetime as dt

import pytest

from volano.budgets.simulation import DEFAULT_CHANNELS, simulate, simulation_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def two_years(officina):
    simulated = simulate(
        first_monday=dt.date(2024, 1, 1), weeks=104, channels=DEFAULT_CHANNELS[:3], noise=0.005
    )
    simulation_store(workspace=officina, simulated=simulated)
    return simulated


def test_the_page_fits_the_model_and_answers_the_optimiser_and_a_what_if(signed_in, two_years):
    empty = signed_in.get("/budgets/response/")
    assert empty.status_code == 200
    assert "No response model yet" in empty.content.decode()

    fitted = signed_in.post(
        "/budgets/response/", {"outcome": "revenue", "from": "2024-01-01", "to": "2025-12-28"}
    )
    assert fitted.status_code == 302
    page = signed_in.get("/budgets/response/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    for key in two_years.keys:
        assert f'<th scope="row">{key}</th>' in page
    assert 'id="response-chart"' in page and 'id="response-data"' in page
    # a slider beside each bound and each what-if change, paired with the field the form sends
    for key in two_years.keys:
        assert 'type="range" class="bound-slider"' in page and f'data-pair="lo-{key}"' in page
        assert f'data-pair="hi-{key}"' in page and f'data-pair="pct-{key}"' in page
    assert "€ " in page  # amounts in euro

    best = signed_in.post(
        "/budgets/response/optimise/",
        {"outcome": "revenue", "budget": "3.000,00", "lo-google_ads": "500", "hi-meta_ads": "400"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="it",
    )
    assert best.status_code == 200, best.content
    text = best.content.decode()
    assert 'data-testid="allocation"' in text and 'data-testid="gain"' in text
    assert "Recommended" in text or "Consigliato" in text

    scenario = signed_in.post(
        "/budgets/response/whatif/",
        {"outcome": "revenue", "pct-google_ads": "20", "pct-linkedin_ads": "-30"},
        HTTP_HX_REQUEST="true",
    )
    assert scenario.status_code == 200
    assert 'data-testid="figures"' in scenario.content.decode()

    too_small = signed_in.post(
        "/budgets/response/optimise/",
        {"outcome": "revenue", "budget": "100", "lo-google_ads": "500"},
        HTTP_HX_REQUEST="true",
    )
    assert too_small.status_code == 200  # HTMX swaps no 4xx: the refusal must be seen
    assert 'data-testid="figures-error"' in too_small.content.decode()
    assert "below the sum of the lowest amounts" in too_small.content.decode()
    italian = signed_in.post(
        "/budgets/response/optimise/",
        {"outcome": "revenue", "budget": "1.000", "lo-google_ads": "1.500"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="it",
    )
    assert "€ 1.000,00" in italian.content.decode() and "€ 1.500,00" in italian.content.decode()

    not_a_number = signed_in.post(
        "/budgets/response/whatif/", {"outcome": "revenue", "pct-meta_ads": "tanto"}
    )
    assert not_a_number.status_code == 422
    assert "“tanto” is not a percentage" in not_a_number.content.decode()


def test_a_fit_the_data_cannot_support_says_why_on_the_page(signed_in, two_years):
    reply = signed_in.post("/budgets/response/", {"from": "2024-01-01", "to": "2024-02-25"})
    assert reply.status_code == 422
    assert "8 whole weeks" in reply.content.decode()
