"""The editor's pages through HTTP: a broken draft is kept and named, the preview frame's policy."""

import pytest

from volano.contacts.models import Contact
from volano.emails.models import EmailTemplate
from volano.emails.templating.services import template_save


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def draft(officina, giulia):
    return template_save(
        workspace=officina, actor=giulia, slug="bozza", name="Bozza",
        html="<p>Ciao {{ contact.first_name }}</p>",
    )  # fmt: skip


def test_a_broken_save_is_kept_as_a_draft_with_line_and_column(signed_in, draft, officina):
    reply = signed_in.post(
        "/email/templates/bozza/",
        {
            "name": "Bozza",
            "subject": "Ciao",
            "source": "html",
            "code": "<p>uno</p>\n<p>{{ contact.nome }}</p>",
            "block-0-key": "intro",
            "block-0-0-when": '{"all": []}',
            "block-0-0-html": "<p>per tutti</p>",
        },
    )
    assert reply.status_code == 422
    assert "line 2, column 7: unknown variable “contact.nome”" in reply.content.decode()
    saved = EmailTemplate.objects.for_workspace(officina).get(slug="bozza")
    assert not saved.sendable and saved.html.endswith("{{ contact.nome }}</p>")
    # an empty condition builder is the default variant, not a condition
    assert saved.blocks == [{"key": "intro", "variants": [{"html": "<p>per tutti</p>"}]}]


def test_a_starter_becomes_a_template(signed_in, officina):
    reply = signed_in.post("/email/templates/from-starter/", {"starter": "invito-webinar"})
    template = EmailTemplate.objects.for_workspace(officina).get()
    assert reply.status_code == 302 and reply["Location"].endswith(f"/{template.slug}/")
    assert template.sendable and "webinar" in template.mjml


def test_the_preview_frame_runs_no_script(signed_in, draft, officina):
    anna = Contact.objects.create(workspace=officina, first_name="Anna")
    reply = signed_in.get(f"/email/templates/bozza/preview/frame/?contact={anna.pk}")
    assert reply.status_code == 200 and "Ciao Anna" in reply.content.decode()
    policy = reply["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy
    editor = signed_in.get("/email/templates/bozza/")["Content-Security-Policy"]
    assert (
        "script-src 'self'" in editor
        and "'unsafe-inline'" not in editor.split("script-src")[1].split(";")[0]
    )
