"""`volano segment count|refresh` as an operator uses it."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from volano.contacts import services as contact_services
from volano.segments import services
from volano.segments.management.commands.segment import Command

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def definition(tmp_path, officina):
    for email, province in [("a@a.it", "MI"), ("b@b.it", "BG"), ("c@c.it", "RM")]:
        contact_services.contact_create(
            workspace=officina, actor=None, data={"email": email, "province": province}
        )
    path = tmp_path / "lombardi.json"
    path.write_text(json.dumps({"field": "region", "op": "eq", "value": "Lombardia"}))
    return path


def test_count_prints_json_and_agrees_with_the_api(definition, officina, api):
    out = run(
        "segment", "count", "--workspace", officina.slug, "--definition", str(definition), "--json"
    )
    assert json.loads(out) == {"count": 2}
    text = run("segment", "count", "--workspace", officina.slug, "--definition", str(definition))
    assert text.startswith("2\t")
    preview = api.post("/segments/preview", {"definition": json.loads(definition.read_text())})
    assert preview.json()["count"] == 2


def test_refresh_all_or_one(definition, officina, giulia):
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Lombardi",
        definition=json.loads(definition.read_text()),
    )
    contact_services.contact_create(
        workspace=officina, actor=None, data={"email": "d@d.it", "province": "BS"}
    )
    assert "lombardi: 3 members (+1 entered, -0 left)" in run(
        "segment", "refresh", "--workspace", officina.slug, "--segment", "lombardi"
    )
    assert "lombardi: 3 members (+0 entered, -0 left)" in run(
        "segment", "refresh", "--workspace", officina.slug
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"field": "citta", "op": "eq", "value": "x"}', "conditions.field: unknown field 'citta'"),
        ("{not json", "is not JSON"),
    ],
)
def test_errors_exit_2_with_a_clean_message(tmp_path, officina, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    command = Command()
    err = StringIO()
    command.stderr._out = err  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(
            ["volano", "segment", "count", "--workspace", officina.slug, "--definition", str(path)]
        )
    assert exit_info.value.code == 2
    assert message in err.getvalue()
