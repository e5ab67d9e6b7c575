"""The `send_survey` step through the real path: the workflow emails the survey (a real SMTP
server, aiosmtpd), the contact opens their own link and answers on the public page, the answer
is a `survey_answered` event on their timeline, and the workflow's "wait for an event" step
takes the path of who answered; who did not answer gets the reminder when the wait runs out.
Also: a template of one's own carrying `{{ survey_link('…') }}` (a workflow's or a broadcast's),
and the refusals at save and publish time naming the step."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.core.errors import ApplicationError
from volano.emails.templating.services import TemplateInvalid, template_save
from volano.events.models import Event
from volano.surveys.models import SurveyResponse
from volano.surveys.services import survey_create
from volano.workflows import services
from volano.workflows.models import StepRun, WorkflowMailing
from volano.workflows.tests.test_engine import _published, _run_due, _subjects

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERED = {"event": "survey_answered", "where": {"survey": "nps-clienti"}}
POST_PURCHASE = {
    "name": "Dopo l'acquisto",
    "trigger": {"kind": "manual"},
    "steps": [
        {"key": "nps", "kind": "send_survey", "survey": "nps-clienti"},
        {"key": "risposta", "kind": "wait_for", "event": ANSWERED, "timeout_days": 5,
         "then": [{"key": "grazie", "kind": "send_email", "template": "grazie"}],
         "else": [{"key": "sollecito", "kind": "send_email", "template": "social"}]},
    ],
}  # fmt: skip


@pytest.fixture
def nps(officina, giulia):
    return survey_create(
        workspace=officina, actor=giulia, name="NPS clienti", kind="nps", slug="nps-clienti",
        subject="Ci consiglierebbe?",
    )  # fmt: skip


def _link(smtp, address: str, subject: str) -> str:
    message = next(m for m in smtp.inbox.to(address) if str(m["Subject"]) == subject)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https://volano\.example\.it(/s/[^\s?]+/)", text).group(1)


def _mailing_id(officina, step: str) -> int:
    return WorkflowMailing.objects.for_workspace(officina).get(step=step).mailing_id


def _enrol(officina, workflow, *contacts):
    services.workflow_enrol_ids(
        workspace=officina, actor=None, workflow=workflow,
        contact_ids=[c.pk for c in contacts], source="api",
    )  # fmt: skip


def test_the_step_emails_the_survey_and_the_answer_takes_the_workflow_on(
    client, officina, giulia, templates, person, nps, smtp
):
    workflow = _published(officina, giulia, POST_PURCHASE)
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    start = timezone.now()
    _enrol(officina, workflow, anna, bruno)
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Ci consiglierebbe?"]
    assert _subjects(smtp, "bruno@example.it") == ["Ci consiglierebbe?"]

    # Anna opens her own link (no login) and answers 9
    link = _link(smtp, "anna@example.it", "Ci consiglierebbe?")
    assert client.get(link).status_code == 200
    assert client.post(link, {"score": "9", "comment": "Ottimo servizio"}).status_code == 200
    [answer] = SurveyResponse.objects.for_workspace(officina)
    assert (answer.contact_id, answer.score) == (anna.pk, 9)
    assert answer.wave == _mailing_id(officina, "nps")
    event = Event.objects.for_workspace(officina).get(type="survey_answered")
    assert (event.contact_id, event.properties["score"]) == (anna.pk, 9)

    # the answer wakes her wait at once: the thanks, not the reminder
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == ["Ci consiglierebbe?", "Grazie"]
    assert _subjects(smtp, "bruno@example.it") == ["Ci consiglierebbe?"]
    _run_due(start + dt.timedelta(days=5, minutes=1))
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it") == ["Ci consiglierebbe?", "Seguici"]
    outcomes = dict(
        StepRun.objects.for_workspace(officina)
        .filter(step="risposta")
        .values_list("enrolment__contact__email", "outcome")
    )
    assert outcomes == {"anna@example.it": "then", "bruno@example.it": "else"}

    # the answer is on Anna's timeline, as the marketer sees it
    client.force_login(giulia)
    page = client.get(f"/contacts/{anna.pk}/").content.decode()
    assert "Survey answered" in page and "Ottimo servizio" in page


def test_a_template_of_ones_own_carries_the_survey_link_in_a_workflow_and_a_broadcast(
    client, officina, giulia, person, nps, smtp
):
    template = template_save(
        workspace=officina, actor=giulia, slug="come-ci-trova", name="Come ci trova",
        subject="Due minuti per noi, {{ contact.first_name }}?",
        html="<html><body><p>Ciao {{ contact.first_name }},</p>"
             "<p><a href=\"{{ survey_link('nps-clienti') }}\">Rispondi</a></p>"
             "<p>{{ survey_link('nps-clienti') }}</p></body></html>",
    )  # fmt: skip
    definition = {
        "name": "NPS con il nostro testo",
        "trigger": {"kind": "manual"},
        "steps": [{"key": "nps", "kind": "send_survey", "survey": "nps-clienti",
                   "template": "come-ci-trova"}],
    }  # fmt: skip
    workflow = _published(officina, giulia, definition)
    anna = person("anna@example.it", "Anna")
    _enrol(officina, workflow, anna)
    worker_run_once()
    worker_run_once()
    link = _link(smtp, "anna@example.it", "Due minuti per noi, Anna?")
    assert client.post(link, {"score": "3"}).status_code == 200
    [answer] = SurveyResponse.objects.for_workspace(officina)
    assert (answer.contact_id, answer.score) == (anna.pk, 3)
    assert answer.wave == _mailing_id(officina, "nps")

    # a broadcast of the same template: each recipient's own link, the broadcast the invitation
    from volano.contacts.models import Contact
    from volano.emails.models import MailingKind
    from volano.emails.rendering import template_mailing_params
    from volano.emails.sending.services import mailing_create, mailing_send

    bruno = person("bruno@example.it", "Bruno")
    mailing = mailing_create(
        workspace=officina, actor=giulia, kind=MailingKind.BROADCAST, renderer="template",
        params=template_mailing_params(template),
        audience_queryset=Contact.objects.for_workspace(officina).filter(pk=bruno.pk),
        name="NPS di dicembre",
    )  # fmt: skip
    mailing_send(workspace=officina, actor=giulia, mailing=mailing)
    worker_run_once()
    bruno_link = _link(smtp, "bruno@example.it", "Due minuti per noi, Bruno?")
    assert bruno_link != link
    assert client.post(bruno_link, {"score": "10"}).status_code == 200
    answers = dict(SurveyResponse.objects.for_workspace(officina).values_list("contact_id", "wave"))
    assert answers[bruno.pk] == mailing.pk


def test_refusals_name_the_survey_the_template_and_the_step(officina, giulia, templates, nps):
    with pytest.raises(TemplateInvalid) as refused:
        template_save(
            workspace=officina, actor=giulia, slug="sbagliato", name="Sbagliato", subject="x",
            html="<html><body><a href=\"{{ survey_link('non-esiste') }}\">x</a></body></html>",
        )  # fmt: skip
    [problem] = refused.value.errors
    assert problem["field"] == "html" and "“non-esiste”" in problem["message"]
    unknown = {**POST_PURCHASE, "steps": [{"key": "nps", "kind": "send_survey", "survey": "no"}]}
    draft = services.workflow_create(workspace=officina, actor=giulia, definition=unknown)
    with pytest.raises(ApplicationError) as error:
        services.workflow_publish(workspace=officina, actor=giulia, workflow=draft)
    assert error.value.field == "steps[0].survey" and "'no'" in error.value.message
    no_link = {
        **POST_PURCHASE,
        "steps": [{"key": "nps", "kind": "send_survey", "survey": "nps-clienti",
                   "template": "grazie"}],
    }  # fmt: skip
    draft = services.workflow_create(workspace=officina, actor=giulia, definition=no_link)
    with pytest.raises(ApplicationError) as error:
        services.workflow_publish(workspace=officina, actor=giulia, workflow=draft)
    assert error.value.field == "steps[0].template"
    assert "survey_link('nps-clienti')" in error.value.message


@pytest.mark.django_db
def test_the_builder_form_offers_the_surveys_and_round_trips(officina, giulia, templates, nps):
    from volano.workflows import builder
    from volano.workflows.views import step_label

    choices = builder.choices_for(officina, POST_PURCHASE)
    assert ("nps-clienti", "NPS clienti (nps-clienti)") in choices.surveys
    assert choices.sends == ["nps", "grazie", "sollecito"]  # a branch "on" may read its email
    for step in (
        {"key": "a", "kind": "send_survey", "survey": "nps-clienti"},
        {"key": "a", "kind": "send_survey", "survey": "nps-clienti", "template": "grazie"},
    ):
        form = builder.STEP_FORMS["send_survey"](choices=choices, step=step)
        data = {name: value for name, value in form.initial.items() if value is not None}
        bound = builder.STEP_FORMS["send_survey"](data, choices=choices, step=step)
        assert bound.is_valid(), bound.errors
        assert bound.to_step("a") == step
    assert step_label(POST_PURCHASE["steps"][0], officina, "en") == "Send the survey “nps-clienti”"
    empty = builder.STEP_FORMS["send_survey"]({}, choices=choices)
    assert not empty.is_valid() and "survey" in empty.errors
