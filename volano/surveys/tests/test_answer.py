"""The contact's side: the survey arrives by email (a real SMTP server) with a signed link of
their own; the page answers without a login, in their language; answering again updates; a
changed link is refused; the answer is on the timeline as `survey_answered`."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.events.models import Event
from volano.segments import services as segment_services
from volano.surveys.links import answer_token
from volano.surveys.models import SurveyResponse
from volano.surveys.selectors import survey_results
from volano.surveys.services import survey_create, survey_send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def survey(officina, giulia):
    return survey_create(
        workspace=officina, actor=giulia, name="NPS dopo l'acquisto", kind="nps",
        questions="Che cosa potremmo fare meglio?",
    )  # fmt: skip


@pytest.fixture
def anna(officina):
    contact = Contact.objects.create(
        workspace=officina, email="anna@cliente.it", first_name="Anna", language="it"
    )
    contact_services.consent_set(
        workspace=officina, actor=None, contact=contact, purpose="email_marketing",
        status="granted", source="test",
    )  # fmt: skip
    return contact


def _link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https://volano\.example\.it(/s/[^\s]+/)", text).group(1)


def test_the_survey_is_emailed_answered_once_and_updated_not_duplicated(
    client, officina, giulia, survey, anna, smtp
):
    clienti = segment_services.list_create(
        workspace=officina, actor=giulia, slug="clienti", name="Clienti"
    )
    segment_services.list_add(
        workspace=officina, actor=giulia, contact_list=clienti, contact_ids=[anna.pk]
    )
    from volano.segments.selectors import list_members

    survey_send(
        workspace=officina, actor=giulia, survey=survey,
        audience=list_members(workspace=officina, contact_list=clienti),
    )  # fmt: skip
    worker_run_once()
    [message] = smtp.inbox.to("anna@cliente.it")
    assert message["List-Unsubscribe"]
    link = _link(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Gentile Anna" in html or "Dear Anna" in html

    page = client.get(link)
    text = page.content.decode()
    assert page.status_code == 200 and 'lang="it"' in text
    assert "consiglierebbe" in text.lower() or "recommend" in text.lower()

    first = client.post(link, {"score": "9", "comment": "Macchina robusta", "q0": "Consegne"})
    assert first.status_code == 200
    assert SurveyResponse.objects.for_workspace(officina).get().score == 9
    again = client.post(link, {"score": "4", "comment": "Ripensandoci, consegna lenta"})
    assert again.status_code == 200 and 'data-testid="survey-done"' in again.content.decode()
    [answer] = SurveyResponse.objects.for_workspace(officina).filter(contact=anna)
    assert (answer.score, answer.revisions, answer.comment) == (
        4,
        2,
        "Ripensandoci, consegna lenta",
    )
    assert answer.wave > 0  # the mailing that carried the link
    results = survey_results(workspace=officina, survey=survey)
    assert (results.total.n, results.total.value) == (1, -100.0)
    # both submissions on the timeline, the second marked as a change
    events = Event.objects.for_workspace(officina).filter(contact=anna, type="survey_answered")
    assert sorted((e.properties["score"], e.properties.get("revision")) for e in events) == [
        (4, 2),
        (9, None),
    ]
    timeline = client.get(reverse("contacts:detail", args=[anna.pk]))
    assert timeline.status_code == 302  # the answer page needed no login; the contact page does


def test_a_changed_link_is_refused_and_records_nothing(client, officina, survey, anna):
    token = answer_token(survey_id=survey.pk, contact_id=anna.pk)
    tampered = answer_token(survey_id=survey.pk, contact_id=anna.pk + 1)
    # the signature of Anna's link with the contact id of another: refused
    forged = tampered.split(":")[0] + ":" + token.split(":", 1)[1]
    for bad in (forged, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense"):
        page = client.get(reverse("surveys:answer", args=[bad]), HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 404
        assert "The link is incomplete or was changed" in page.content.decode()
        assert (
            client.post(reverse("surveys:answer", args=[bad]), {"score": "10"}).status_code == 404
        )
    assert not SurveyResponse.objects.for_workspace(officina).exists()


def test_a_score_out_of_the_scale_is_refused_in_words_on_a_phone_sized_page(
    client, officina, survey, anna
):
    url = reverse("surveys:answer", args=[answer_token(survey_id=survey.pk, contact_id=anna.pk)])
    page = client.post(url + "?lang=en", {"score": "11", "lang": "en"})
    text = page.content.decode()
    assert page.status_code == 422
    assert "Choose a score from 0 to 10." in text and 'role="alert"' in text
    assert 'name="viewport"' in text
    assert not SurveyResponse.objects.for_workspace(officina).exists()


def test_a_merge_moves_the_answers_to_the_survivor(officina, giulia, survey, anna):
    from volano.contacts.merge import contact_merge
    from volano.surveys.services import survey_answer

    twin = Contact.objects.create(workspace=officina, email="anna.bis@cliente.it")
    survey_answer(survey=survey, contact_id=twin.pk, wave=0, score=10)
    contact_merge(workspace=officina, actor=giulia, survivor=anna, duplicate=twin)
    assert SurveyResponse.objects.for_workspace(officina).get().contact_id == anna.pk
