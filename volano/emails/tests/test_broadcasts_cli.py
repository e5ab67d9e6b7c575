"""`volano email send` (pinned): creates and sends a broadcast; the worker delivers it."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from volano.conftest import worker_run_once
from volano.emails.models import Broadcast
from volano.emails.tests.broadcast_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_email_send_to_a_segment_prints_json_and_the_worker_delivers(
    officina,
    people,
    milano,
    newsletter,
    smtp,
):
    out, _err = run(
        "email", "send", "--workspace", officina.slug, "--template", "novita",
        "--segment", "milano", "--json",
    )  # fmt: skip
    result = json.loads(out)
    broadcast = Broadcast.objects.for_workspace(officina).get()
    assert result == {
        "id": broadcast.pk, "slug": broadcast.slug, "status": "sending", "recipients": 48,
        "warnings": [],
    }  # fmt: skip
    worker_run_once()
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == sorted(
        c.email for c in people["mi_yes"]
    )


def test_email_send_to_a_list_warns_and_sends(officina, people, smtp):
    from volano.contacts.models import Contact
    from volano.emails.templating.services import template_save
    from volano.segments import services as segment_services

    template_save(
        workspace=officina, actor=None, slug="uguale", name="Uguale", subject="Novità",
        html="<p>La gamma 2026.</p>",
    )  # fmt: skip
    fiera = segment_services.list_create(workspace=officina, actor=None, slug="fiera", name="Fiera")
    segment_services.list_add_contacts(
        workspace=officina, contact_list=fiera,
        contacts=Contact.objects.for_workspace(officina).filter(province="TO"),
    )  # fmt: skip
    out, err = run(
        "email", "send", "--workspace", officina.slug, "--template", "uguale", "--list", "fiera"
    )
    assert out.startswith("broadcast ") and "6 recipients" in out
    assert err.startswith("warning: ")
    worker_run_once()
    assert len(smtp.inbox.messages) == 6


def test_unknown_template_is_a_clean_error(officina, milano):
    from volano.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as error:
        run("email", "send", "--workspace", officina.slug, "--template", "x", "--segment", "milano")
    assert error.value.field == "template"
