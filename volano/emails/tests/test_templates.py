"""Email templates: compile, personalise in the sandbox, blocks per contact, errors at save."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from volano.contacts.models import Company, Contact, CustomField
from volano.core.errors import ValidationFailed
from volano.emails.rendering import TemplateBroken, render_for_contact, variants_for
from volano.emails.templating.services import TemplateInvalid, template_save
from volano.emails.templating.starters import STARTERS

MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Ciao {{ contact.first_name|default("cliente") }} di {{ company.name|default("-") }}</mj-text>
        <mj-text>{{ blocks.intro }}</mj-text>
        <mj-text>Fatturato: {{ company.custom.fatturato|default("n/d") }}; {% if contact.province == "MI" %}milanese{% endif %}</mj-text>
        <mj-button href="https://www.example.it/?a=1&b=2">Vai</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""
BLOCKS = [
    {
        "key": "intro",
        "variants": [
            {
                "when": {"field": "province", "op": "eq", "value": "MI"},
                "html": "<p>Novità per la Lombardia, {{ contact.first_name }}</p>",
            },
            {"html": "<p>Novità per tutti <script>alert(1)</script></p>"},
        ],
    }
]


@pytest.fixture
def anna(officina):
    company = Company.objects.create(
        workspace=officina, name="Agri Nord", custom={"fatturato": 1200000}
    )
    return Contact.objects.create(
        workspace=officina, email="anna@agrinord.it", first_name="Anna", province="MI",
        company=company,
    )  # fmt: skip


@pytest.fixture
def luca(officina):
    return Contact.objects.create(workspace=officina, email="luca@example.it", province="BO")


@pytest.fixture
def newsletter(officina, giulia):
    CustomField.objects.create(
        workspace=officina, entity="company", key="fatturato", label="Fatturato", type="number"
    )
    return template_save(
        workspace=officina, actor=giulia, slug="newsletter", name="Newsletter",
        subject="Novità per {{ contact.first_name|default('te') }}", mjml=MJML, blocks=BLOCKS,
    )  # fmt: skip


def test_variables_fallbacks_and_blocks_per_contact(newsletter, anna, luca):
    anna_mail = render_for_contact(newsletter, anna)
    luca_mail = render_for_contact(newsletter, luca)
    assert anna_mail.subject == "Novità per Anna"
    assert luca_mail.subject == "Novità per te"
    assert "Ciao Anna di Agri Nord" in anna_mail.html
    assert "Ciao cliente di -" in luca_mail.html
    assert "Novità per la Lombardia, Anna" in anna_mail.html
    assert "Novità per tutti" in luca_mail.html and "Lombardia" not in luca_mail.html
    assert "1200000" in anna_mail.html and "n/d" in luca_mail.html
    assert "milanese" in anna_mail.html and "milanese" not in luca_mail.html
    assert "<script" not in luca_mail.html
    # the plain-text part says the same, without tags
    assert "Novità per la Lombardia, Anna" in anna_mail.text and "<" not in anna_mail.text
    assert "https://www.example.it/?a=1&b=2" in anna_mail.text
    assert anna_mail.html.startswith("<!doctype html>") and "@media" in anna_mail.html


def test_values_are_escaped(newsletter, officina):
    eve = Contact.objects.create(workspace=officina, first_name="<b>Eve</b>", province="MI")
    mail = render_for_contact(newsletter, eve)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail.html and "<b>Eve</b>" not in mail.html


@pytest.mark.parametrize("chunk", [5000, 1], ids=["ids-in-statement", "whole-workspace"])
def test_variants_for_many_contacts_at_once(
    newsletter, anna, luca, django_assert_max_num_queries, monkeypatch, chunk
):
    """One statement per guarded variant, restricted to the ids or (many ids) over the
    workspace and intersected: the same choice either way."""
    from volano.emails import rendering

    monkeypatch.setattr(rendering, "CHUNK", chunk)
    with django_assert_max_num_queries(3):
        chosen = variants_for(newsletter, [anna.pk, luca.pk])
    assert chosen == {anna.pk: {"intro": 0}, luca.pk: {"intro": 1}}


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ settings.SECRET_KEY }}",
        "{{ config }}",
        "{{ self }}",
    ],
)
def test_sandbox_escapes_are_refused_at_save(officina, giulia, expression):
    with pytest.raises(TemplateInvalid) as caught:
        template_save(
            workspace=officina, actor=giulia, slug="x", name="X",
            html=f"<p>a</p>\n<p>{expression}</p>",
        )  # fmt: skip
    error = caught.value.errors[0]
    assert error["field"] == "html" and error["line"] == 2
    # the column points at the refused name, which the message quotes
    named = f"<p>{expression}</p>"[error["column"] - 1 :].split(" ")[0].split(".")[0].split("(")[0]
    assert named and f"“{named}" in error["message"]


def test_sandbox_escapes_render_as_nothing(newsletter, anna):
    """Were one stored by other means, the sandbox still renders it as nothing."""
    newsletter.compiled["html"] += "[{{ ''.__class__ }}][{{ contact.__class__ }}]"
    mail = render_for_contact(newsletter, anna)
    assert "[][]" in mail.html and "class" not in mail.html.split("[", 1)[-1]
    assert settings.SECRET_KEY not in mail.html + mail.text + mail.subject


def test_errors_at_save_with_line_and_column_in_the_users_language(officina, giulia):
    broken = MJML.replace("<mj-text>{{ blocks.intro }}</mj-text>", "<mj-txt>{{ blocks.intro }}")
    with translation.override("it"), pytest.raises(TemplateInvalid) as caught:
        template_save(
            workspace=officina, actor=giulia, slug="rotto", name="Rotto", mjml=broken,
            blocks=BLOCKS,
        )  # fmt: skip
    first = caught.value.errors[0]
    assert (first["field"], first["line"], first["column"]) == ("mjml", 6, 9)
    assert "mj-txt" in first["message"]


def test_unknown_variable_and_bad_syntax(officina, giulia):
    with pytest.raises(TemplateInvalid) as caught:
        template_save(
            workspace=officina, actor=giulia, slug="x", name="X",
            html="<p>Ciao</p>\n<p>{{ contact.nome }}</p>",
        )  # fmt: skip
    assert caught.value.errors[0] | {"message": ""} == {
        "field": "html", "line": 2, "column": 7, "message": ""
    }  # fmt: skip
    assert "contact.nome" in caught.value.errors[0]["message"]
    with pytest.raises(TemplateInvalid) as caught:
        template_save(
            workspace=officina, actor=giulia, slug="x", name="X", subject="{{ contact.email",
            html="<p>x</p>\n\n<p>{% if %}</p>",
        )  # fmt: skip
    fields = {(e["field"], e["line"]) for e in caught.value.errors}
    assert fields == {("subject", 1), ("html", 3)}


def test_a_bad_block_condition_is_named(officina, giulia):
    blocks = [
        {
            "key": "intro",
            "variants": [{"when": {"field": "citta", "op": "eq", "value": "x"}, "html": "a"}],
        }
    ]
    with pytest.raises(TemplateInvalid) as caught:
        template_save(
            workspace=officina,
            actor=giulia,
            slug="x",
            name="X",
            html="<p>{{ blocks.intro }}</p>",
            blocks=blocks,
        )
    assert caught.value.errors[0]["field"].startswith("blocks[0].variants[0].when")


def test_a_broken_draft_is_kept_but_never_sent(officina, giulia, anna):
    draft = template_save(
        workspace=officina, actor=giulia, slug="bozza", name="Bozza",
        mjml="<mjml><mj-body><mj-section>", keep_broken=True,
    )  # fmt: skip
    assert draft.pk and not draft.sendable and draft.errors
    with pytest.raises(TemplateBroken):
        render_for_contact(draft, anna)
    assert isinstance(TemplateInvalid([{"message": "x"}]), ValidationFailed)


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_every_starter_compiles_and_renders(officina, giulia, anna, starter):
    template = template_save(
        workspace=officina, actor=giulia, slug=starter.slug, name=str(starter.name),
        subject=starter.subject, mjml=starter.mjml, blocks=list(starter.blocks),
    )  # fmt: skip
    mail = render_for_contact(template, anna)
    assert "Gentile Anna" in mail.html and "Gentile Anna" in mail.text
    assert "@media" in mail.html  # responsive


def test_html_source_is_inlined_and_sanitised(officina, giulia, anna):
    template = template_save(
        workspace=officina, actor=giulia, slug="html", name="HTML", subject="Ciao",
        html="<html><head><style>p { color: #c00 }</style></head><body>"
        "<p onclick='x()'>Ciao {{ contact.first_name }}</p><script>alert(1)</script>"
        "<a href='javascript:alert(1)'>a</a><a href='https://x.it/?q={{ contact.email }}'>b</a>"
        "</body></html>",
    )  # fmt: skip
    mail = render_for_contact(template, anna)
    assert '<p style="color: #c00;">Ciao Anna</p>' in mail.html
    assert "onclick" not in mail.html and "<script" not in mail.html
    assert "javascript:" not in mail.html
    assert 'href="https://x.it/?q=anna@agrinord.it"' in mail.html


@pytest.mark.django_db(transaction=True)
def test_a_template_mailing_sends_each_contact_their_own_blocks(
    newsletter, anna, luca, officina, smtp, django_capture_on_commit_callbacks
):
    """The sending core's renderer "template": each recipient's blocks chosen at send time,
    through the worker to a real SMTP server; a subject override (an A/B variant) keeps the
    variables."""
    from volano.conftest import worker_run_once
    from volano.contacts import services as contact_services
    from volano.emails.rendering import template_mailing_params
    from volano.emails.sending.services import mailing_counts, mailing_create, mailing_send

    for person in (anna, luca):
        contact_services.consent_set(
            workspace=officina, actor=None, contact=person, purpose="email_marketing",
            status="granted", source="test",
        )  # fmt: skip
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="template",
        params=template_mailing_params(newsletter, subject="Solo per te, {{ contact.first_name|default('amico') }}"),
        audience_queryset=Contact.objects.for_workspace(officina), name="Novità",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()

    anna_mail = smtp.inbox.to("anna@agrinord.it")[0]
    luca_mail = smtp.inbox.to("luca@example.it")[0]
    assert str(anna_mail["Subject"]) == "Solo per te, Anna"
    assert str(luca_mail["Subject"]) == "Solo per te, amico"
    anna_html = anna_mail.get_body(preferencelist=("html",)).get_content()
    luca_html = luca_mail.get_body(preferencelist=("html",)).get_content()
    assert "Novità per la Lombardia, Anna" in anna_html
    assert "Novità per tutti" in luca_html and "Lombardia" not in luca_html
    assert mailing_counts(mailing=mailing)["sent"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_template_broken_after_the_mailing_was_made_is_never_sent(
    newsletter, anna, officina, smtp, django_capture_on_commit_callbacks
):
    from volano.conftest import worker_run_once
    from volano.contacts import services as contact_services
    from volano.emails.models import Delivery
    from volano.emails.rendering import template_mailing_params
    from volano.emails.sending.services import mailing_create, mailing_send

    contact_services.consent_set(
        workspace=officina, actor=None, contact=anna, purpose="email_marketing",
        status="granted", source="test",
    )  # fmt: skip
    mailing = mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="template",
        params=template_mailing_params(newsletter),
        audience_queryset=Contact.objects.for_workspace(officina), name="Novità",
    )  # fmt: skip
    type(newsletter).objects.for_workspace(officina).filter(pk=newsletter.pk).update(
        errors=[{"field": "mjml", "line": 1, "column": 1, "message": "rotto"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    assert smtp.inbox.messages == []
    assert Delivery.objects.for_workspace(officina).get(contact=anna).status == "failed"


@pytest.mark.django_db
def test_a_test_send_the_server_refuses_is_said_on_the_page_not_a_server_error(
    officina, smtp, django_user_model
):
    """Found walking the demo (session mail14c): a mail server answering 5xx to the test made
    the editor's "Send me a test" a 500 page."""
    from volano.core.errors import ApplicationError
    from volano.emails.demo import demo_email_templates_create
    from volano.emails.models import EmailTemplate
    from volano.emails.templating.testsend import template_test_send

    demo_email_templates_create(workspace=officina)
    template = EmailTemplate.objects.for_workspace(officina).first()
    contact = Contact.objects.create(workspace=officina, email="anna@example.it", first_name="Anna")
    user = django_user_model.objects.create(email="giulia@example.it")
    smtp.inbox.data_reply = "554 5.6.0 Refused"
    with pytest.raises(ApplicationError) as refused:
        template_test_send(workspace=officina, actor=user, template=template, contact=contact)
    assert "554" in str(refused.value.message)
    assert smtp.inbox.messages == []
