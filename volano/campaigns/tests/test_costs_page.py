"""The costs page as Giulia uses it: upload a file, look at the preview and its row-level
problems, confirm, see the costs by campaign, channel and month; enter and delete a manual cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from volano.campaigns.models import CostEntry

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent.parent / "costs" / "samples"


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


def test_upload_preview_then_confirm(signed_in, officina):
    with (SAMPLES / "meta_it.csv").open("rb") as upload:
        preview = signed_in.post("/campaigns/costs/", {"action": "preview", "file": upload})
    text = preview.content.decode()
    assert preview.status_code == 200, text[:2000]
    assert 'data-testid="cost-preview"' in text and "Retargeting Sito" in text
    assert not CostEntry.objects.for_workspace(officina).exists()
    held = text.split('name="held" value="')[1].split('"')[0]
    done = signed_in.post(
        "/campaigns/costs/", {"action": "confirm", "held": held, "name": "meta_it.csv"}
    )
    assert done.status_code == 200
    assert CostEntry.objects.for_workspace(officina).count() == 93
    page = signed_in.get("/campaigns/costs/").content.decode()
    assert "1.644,55" in page or "1,644.55" in page
    assert 'id="costs-chart"' in page and "costs-by-month" in page
    again = signed_in.post("/campaigns/costs/", {"action": "confirm", "held": held})
    assert again.status_code == 302  # the held file is used once


def test_an_unknown_file_is_named_on_the_form(signed_in, officina):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("people.csv", b"Name,Email\nMario,m@example.it\n")
    reply = signed_in.post("/campaigns/costs/", {"action": "preview", "file": upload})
    assert reply.status_code == 422
    assert "&#x27;Name&#x27;" in reply.content.decode() or "'Name'" in reply.content.decode()


def test_a_manual_cost_is_added_and_deleted(signed_in, officina):
    reply = signed_in.post(
        "/campaigns/costs/",
        {
            "action": "manual",
            "day": "2026-05-12",
            "amount": "3200",
            "kind": "fair",
            "note": "Stand",
        },
    )
    assert reply.status_code == 302, reply.content.decode()[:2000]
    cost = CostEntry.objects.for_workspace(officina).get()
    assert cost.platform == "manual" and cost.channel == "offline"
    page = signed_in.get("/campaigns/costs/").content.decode()
    assert "Stand" in page
    signed_in.post("/campaigns/costs/", {"action": "delete", "cost": cost.pk})
    assert not CostEntry.objects.for_workspace(officina).exists()


def test_a_sample_file_downloads(signed_in):
    reply = signed_in.get("/campaigns/costs/samples/spesa_settimanale.csv")
    assert reply.status_code == 200 and b"settimana;canale;spesa" in reply.content
    assert signed_in.get("/campaigns/costs/samples/..%2Fsettings.py").status_code == 404


def test_a_manual_cost_is_edited_in_its_row(signed_in, officina, giulia):
    from volano.campaigns.costs import services

    cost = services.cost_create(
        workspace=officina,
        actor=giulia,
        data={"day": "2026-05-12", "amount": "3200", "kind": "fair", "note": "Stand"},
    )
    htmx = {"HTTP_HX_REQUEST": "true"}
    form = signed_in.get(f"/campaigns/costs/{cost.pk}/", **htmx).content.decode()
    assert f'name="cost-{cost.pk}-amount"' in form and 'value="3200.00"' in form
    # the day is filled in, in Italian too: a date field shows only an ISO date (12/05/2026,
    # Italian's own format, left it blank and the save without it was refused)
    italian = signed_in.get(f"/campaigns/costs/{cost.pk}/", HTTP_ACCEPT_LANGUAGE="it", **htmx)
    assert "Annulla" in italian.content.decode()  # the Italian form
    assert f'name="cost-{cost.pk}-day" value="2026-05-12"' in italian.content.decode()
    # a bad amount and day: the row comes back as the form, each error next to its field
    refused = signed_in.post(
        f"/campaigns/costs/{cost.pk}/",
        {
            f"cost-{cost.pk}-day": "2026-13-45",
            f"cost-{cost.pk}-amount": "-5",
            f"cost-{cost.pk}-kind": "fair",
        },
        **htmx,
    )
    text = refused.content.decode()
    assert refused.status_code == 200 and f'id="cost-{cost.pk}"' in text
    assert f'id="id_cost-{cost.pk}-day_error"' in text
    assert f'id="id_cost-{cost.pk}-amount_error"' in text
    assert "data valida" in text or "valid date" in text  # in the user's language
    cost.refresh_from_db()
    assert str(cost.amount) == "3200.00"
    saved = signed_in.post(
        f"/campaigns/costs/{cost.pk}/",
        {
            f"cost-{cost.pk}-day": "2026-05-13",
            f"cost-{cost.pk}-amount": "3450.50",
            f"cost-{cost.pk}-kind": "fair",
            f"cost-{cost.pk}-note": "Stand EMO",
        },
        **htmx,
    )
    assert saved.status_code == 200 and "Stand EMO" in saved.content.decode()
    cost.refresh_from_db()
    assert str(cost.amount) == "3450.50" and cost.day.isoformat() == "2026-05-13"
    # without htmx: the page opens with that row as a form; a save goes back to the page
    page = signed_in.get(f"/campaigns/costs/?edit={cost.pk}").content.decode()
    assert f'name="cost-{cost.pk}-note"' in page
    other = signed_in.post(f"/campaigns/costs/{cost.pk + 999}/", {})
    assert other.status_code == 404


def test_the_page_keeps_campaign_costs_and_channel_level_spend_apart(signed_in, officina):
    """A Meta export lands on its campaigns; a weekly spend file per channel is channel-level
    spend, listed as such (never as a campaign "not yet created"), and both add up per channel
    group."""
    from decimal import Decimal

    from volano.campaigns.costs.selectors import costs_overview
    from volano.campaigns.costs.services import costs_import

    costs_import(
        workspace=officina,
        actor=None,
        content=(SAMPLES / "meta_it.csv").read_bytes(),
        filename="meta_it.csv",
    )
    costs_import(
        workspace=officina,
        actor=None,
        content=b"settimana;canale;spesa\n2026-01-05;meta_ads;700,00\n2026-01-05;Fiere;1.000,00\n",
        filename="w.csv",
    )
    overview = costs_overview(workspace=officina)
    channel_level = {r["key"]: r for r in overview["channel_level"]["rows"]}
    assert set(channel_level) == {"meta_ads", "Fiere"}
    assert channel_level["meta_ads"]["group"] == "paid_social"
    assert channel_level["Fiere"]["group"] == "offline"
    assert overview["channel_level"]["total"] == Decimal("1700.00")
    assert not any(
        "meta_ads" in r["key"] or "Fiere" in r["key"] for r in overview["campaigns"]["rows"]
    )
    groups = {r["key"]: r for r in overview["by_group"]}
    meta_total = overview["campaigns"]["total"]
    assert groups["paid_social"]["campaigns"] == meta_total
    assert groups["paid_social"]["channel_level"] == Decimal("700.00")
    assert groups["paid_social"]["cost"] == meta_total + Decimal("700.00")
    assert overview["total"] == meta_total + Decimal("1700.00")
    assert sum(m["campaigns"] + m["channel_level"] for m in overview["months"]) == overview["total"]
    html = signed_in.get("/campaigns/costs/").content.decode()
    level = html.split('data-testid="costs-channel-level"')[1].split("</table>")[0]
    assert "meta_ads" in level and "Paid Social" in level
    by_campaign = html.split('data-testid="costs-by-campaign"')[1].split("</table>")[0]
    assert "meta_ads" not in by_campaign and "Fiere" not in by_campaign
    assert "Channel-level spend" in html


def test_the_simulated_weekly_spend_is_channel_level_like_an_import(officina):
    """The budgets demo's series (`simulation_store`) are keyed as the weekly import keys them,
    so the costs page shows them as channel-level spend."""
    import datetime as dt

    from volano.budgets.simulation import ChannelTruth, simulate, simulation_store
    from volano.campaigns.costs.selectors import costs_overview

    simulated = simulate(
        first_monday=dt.date(2025, 1, 6),
        weeks=8,
        channels=(ChannelTruth("google_ads", 1000.0, 0.2, 1.0, 0.1),),
        base_level=10_000.0,
        noise=0.0,
        seed=1,
    )
    simulation_store(workspace=officina, simulated=simulated)
    overview = costs_overview(workspace=officina)
    assert [r["key"] for r in overview["channel_level"]["rows"]] == ["google_ads"]
    assert overview["campaigns"]["rows"] == []
    assert {r["key"] for r in overview["by_group"]} == {"paid_search"}
    # the response model reads the spend per `channel`, which stays the series' key
    assert set(
        CostEntry.objects.for_workspace(officina).values_list("channel", "campaign_key")
    ) == {("google_ads", "channel:google_ads")}
