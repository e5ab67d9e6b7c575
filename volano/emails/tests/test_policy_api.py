"""The sending policy through /api/v1/email-policy and `volano email policy`: read, change,
bad values named, and a cap set from the command line holding back a second broadcast."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from volano.conftest import worker_run_once
from volano.emails.broadcasts import selectors, services
from volano.emails.models import EmailPolicy
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_read_change_and_bad_values_through_the_api(api, officina):
    read = api.get("/email-policy")
    assert read.status_code == 200
    assert read.json()["time_zone"] == officina.time_zone
    changed = api.put("/email-policy", {"cap_enabled": True, "cap_messages": 2, "cap_days": 14})
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["cap_enabled"], body["cap_messages"], body["cap_days"]) == (True, 2, 14)
    assert body["quiet_start"] == read.json()["quiet_start"]  # left out: kept
    quiet = api.put("/email-policy", {"quiet_enabled": True, "quiet_start": "22:30"}).json()
    assert (quiet["quiet_enabled"], quiet["quiet_start"], quiet["cap_messages"]) == (
        True,
        "22:30",
        2,
    )

    bad = api.put("/email-policy", {"cap_messages": 0, "quiet_end": "25:99"})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["error"]["errors"]}
    assert fields == {"cap_messages", "quiet_end"}
    policy = EmailPolicy.objects.for_workspace(officina).get()
    assert policy.cap_messages == 2  # nothing saved
    assert api.put("/email-policy", {"cap": 3}).status_code == 422  # an unknown field is named


@pytest.mark.django_db(transaction=True)
def test_a_cap_set_on_the_command_line_holds_back_a_second_broadcast(
    officina, giulia, people, milano, newsletter, smtp
):
    shown = json.loads(
        run("email", "policy", "--workspace", officina.slug, "--cap", "1/7", "--quiet", "off",
            "--json")
    )  # fmt: skip
    assert (shown["cap_enabled"], shown["cap_messages"], shown["cap_days"]) == (True, 1, 7)
    assert shown["quiet_enabled"] is False and shown["quiet_now_until"] is None
    text = run("email", "policy", "--workspace", officina.slug)
    assert "at most 1 marketing emails per contact in 7 days" in text and "quiet hours: off" in text

    for name in ("Primo", "Secondo"):
        broadcast = services.broadcast_create(
            workspace=officina, actor=giulia, template=newsletter, segment=milano, name=name
        )
        services.broadcast_send(workspace=officina, actor=giulia, broadcast=broadcast)
        worker_run_once()
    assert len(smtp.inbox.messages) == 36  # each consented contact once, not twice
    report = selectors.broadcast_report(workspace=officina, broadcast=broadcast)
    assert report["sent"] == 0 and report["skipped"]["capped"] == 36


@pytest.mark.django_db
@pytest.mark.parametrize(
    "option, message",
    [
        (["--cap", "tre"], "cap: expected N/DAYS such as 3/7"),
        (["--cap", "0/7"], "cap_messages: expected a number from 1 to 100"),
        (["--quiet", "21:00-21:00"], "quiet_end: quiet hours must end at another time"),
    ],
)
def test_bad_cli_values_exit_2_naming_the_option(officina, option, message):
    from volano.emails.management.commands.email import Command

    command = Command()
    err = StringIO()
    command.stderr._out = err  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(["volano", "email", "policy", "--workspace", officina.slug, *option])
    assert exit_info.value.code == 2
    assert message in err.getvalue()
