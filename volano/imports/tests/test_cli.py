"""`volano import`: JSON on stdout, exit 0 when the file was processed, 2 when it is unusable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from volano.conftest import initialised_process_env
from volano.contacts.models import Contact


def run_import(*args):
    from io import StringIO

    out = StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_json_report(officina, write_csv):
    path = write_csv("Email;Nome;Note\nmario.rossi@;Mario;x\nanna@example.it;Anna;y\n")
    output = run_import("contacts", str(path), "--workspace", "officina-rossi", "--json")
    report = json.loads(output)
    assert {k: report[k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
    }
    assert report["errors"] == [
        {
            "row": 2,
            "column": "Email",
            "value": "mario.rossi@",
            "message": report["errors"][0]["message"],
        }
    ]
    assert report["errors"][0]["message"].startswith("not an email address")
    assert report["unmapped"] == ["Note"]
    assert output.count("\n") == 1


def test_mapping_file_and_dry_run(officina, write_csv, tmp_path):
    path = write_csv("Posta;Chi\nanna@example.it;Anna\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Posta": "email", "Chi": "first_name"}))
    report = json.loads(
        run_import(
            "contacts",
            str(path),
            "--workspace",
            "officina-rossi",
            "--mapping",
            str(mapping),
            "--dry-run",
            "--json",
        )
    )
    assert report["created"] == 1 and report["dry_run"] is True
    assert not Contact.objects.for_workspace(officina).exists()
    run_import("contacts", str(path), "--workspace", "officina-rossi", "--mapping", str(mapping))
    assert Contact.objects.for_workspace(officina).get().first_name == "Anna"


@pytest.mark.parametrize(
    ("setup", "message"),
    [("unknown-workspace", "no workspace"), ("binary", "binary"), ("no-email-column", "email")],
)
def test_unusable_input_exits_2_with_the_reason(officina, write_csv, tmp_path, setup, message):
    workspace = "officina-rossi"
    if setup == "unknown-workspace":
        path, workspace = write_csv("Email\na@example.it\n"), "nope"
    elif setup == "binary":
        path = tmp_path / "x.csv"
        path.write_bytes(b"\x00\x01garbage")
    else:
        path = write_csv("Nome;Cognome\nMario;Rossi\n")
    with pytest.raises(CommandError) as raised:
        run_import("contacts", str(path), "--workspace", workspace, "--json")
    assert raised.value.returncode == 2
    assert message in str(raised.value)


def test_the_volano_command_exit_codes(tmp_path, request):
    """The real console script in its own process, on its own SQLite data folder (made by
    `volano init`, once a run)."""
    env = initialised_process_env(request, tmp_path / "data")
    python = [sys.executable, "-m", "volano"]

    def run(*args):
        return subprocess.run(
            [*python, *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert run("migrate", "-v0").returncode == 0
    create = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'volano.settings'; import django;"
            " django.setup(); from volano.core.services import workspace_create;"
            " workspace_create(slug='officina-rossi', name='Officina Rossi')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert create.returncode == 0, create.stderr
    good = tmp_path / "good.csv"
    good.write_text("Email\nbad@\nok@example.it\n")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04broken")
    done = run("import", "contacts", str(good), "--workspace", "officina-rossi", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 1
    refused = run("import", "contacts", str(bad), "--workspace", "officina-rossi", "--json")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "Excel" in refused.stderr
    unknown = run("import", "contacts", str(good), "--workspace", "nope")
    assert unknown.returncode == 2 and "no workspace" in unknown.stderr
