"""Costs through the API and the command line, as an integration or a cron job uses them."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from volano.campaigns.models import CostEntry

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
WEEKLY = b"week;channel;spend\n2026-01-05;Paid Social;70.00\n2026-01-12;Paid Social;140.00\n"


def cli(*args):
    out = StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_the_cli_imports_a_cost_file_with_the_foundations_report(officina, tmp_path):
    report = json.loads(
        cli("costs", str(FIXTURES / "google_ads_en.csv"), "--workspace", officina.slug, "--json")
    )
    assert report["created"] == 4 and report["rows"] == 5  # one day cost nothing ("--")
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(7, "Currency code")]
    text = cli("costs", str(FIXTURES / "google_ads_en.csv"), "--workspace", officina.slug)
    assert "0 created" in text and "row 7" in text and "Google Ads" in text


def test_the_cli_reads_weekly_spend_with_platform_generic_and_dry_runs(officina, tmp_path):
    path = tmp_path / "spesa.csv"
    path.write_bytes(WEEKLY)
    args = ("costs", str(path), "--workspace", officina.slug, "--platform", "generic")
    report = json.loads(cli(*args, "--dry-run", "--json"))
    assert report["dry_run"] and report["created"] == 14
    assert not CostEntry.objects.for_workspace(officina).exists()
    cli(*args)
    assert CostEntry.objects.for_workspace(officina).count() == 14


def test_the_cli_names_an_unknown_layout_and_a_bad_platform(officina):
    with pytest.raises(CommandError) as error:
        cli("costs", str(FIXTURES / "unknown.csv"), "--workspace", officina.slug)
    assert "'Name'" in str(error.value) and error.value.returncode == 2
    with pytest.raises(CommandError):
        cli("costs", str(FIXTURES / "meta_it.csv"), "--workspace", officina.slug, "--platform", "x")
    with pytest.raises(CommandError):
        cli(
            "contacts",
            str(FIXTURES / "meta_it.csv"),
            "--workspace",
            officina.slug,
            "--platform",
            "meta",
        )


def test_the_api_imports_then_groups_costs(client, api, giulia_token, officina):
    headers = {"Authorization": f"Bearer {giulia_token}"}
    with (FIXTURES / "meta_it.csv").open("rb") as upload:
        preview = client.post(
            "/api/v1/costs/import", {"file": upload, "dry_run": "true"}, headers=headers
        )
    assert preview.status_code == 200, preview.content
    assert preview.json()["dry_run"] and preview.json()["created"] == 93
    assert not CostEntry.objects.for_workspace(officina).exists()
    with (FIXTURES / "meta_it.csv").open("rb") as upload:
        done = client.post("/api/v1/costs/import", {"file": upload}, headers=headers)
    assert done.json()["created"] == 93
    january = api.get("/costs", **{"from": "2026-01-01", "to": "2026-01-31", "group": "platform"})
    assert january.json()["total"] == 1644.55
    assert january.json()["rows"] == [{"key": "meta", "label": "Meta Ads", "cost": 1644.55}]
    first_week = api.get("/costs", **{"from": "2026-01-01", "to": "2026-01-07", "group": "day"})
    assert len(first_week.json()["rows"]) == 7
    assert api.get("/costs", group="colour").status_code == 400
    with (FIXTURES / "unknown.csv").open("rb") as upload:
        unknown = client.post("/api/v1/costs/import", {"file": upload}, headers=headers)
    assert unknown.status_code == 400 and "'Name'" in unknown.content.decode()


def test_weekly_spend_per_channel_through_the_api(client, api, giulia_token, officina, tmp_path):
    path = tmp_path / "spesa.csv"
    path.write_bytes(WEEKLY)
    with path.open("rb") as upload:
        client.post(
            "/api/v1/costs/import",
            {"file": upload, "platform": "generic"},
            headers={"Authorization": f"Bearer {giulia_token}"},
        )
    body = api.get("/costs", group="channel").json()
    assert body["rows"] == [{"key": "Paid Social", "label": "Paid Social", "cost": 210.0}]


def test_manual_costs_round_trip(api, officina):
    created = api.post("/costs/manual", {"day": "2026-03-10", "amount": 4500, "kind": "fair"})
    assert created.status_code == 201, created.content
    cost = created.json()
    assert cost["channel"] == "offline" and cost["currency"] == "EUR"
    changed = api.put(f"/costs/manual/{cost['id']}", {"day": "2026-03-11", "amount": 4800.5})
    assert changed.json()["amount"] == 4800.5
    assert api.get("/costs").json()["total"] == 4800.5
    assert (
        api.post("/costs/manual", {"day": "2026-03-10", "amount": 1, "kind": "x"}).status_code
        == 400
    )
    assert api.delete(f"/costs/manual/{cost['id']}").status_code == 204
    assert api.get("/costs").json()["total"] == 0
