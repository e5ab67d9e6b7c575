"""In Chromium: a customer answers the NPS on a phone from the link of their email, and the
marketer reads the result and the cohort heat map (no JavaScript error, no CSP violation)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts.models import Contact
from volano.orders.models import Order
from volano.surveys.links import answer_token
from volano.surveys.models import SurveyResponse
from volano.surveys.services import survey_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_answers_on_a_phone_and_the_marketer_reads_it(
    page, live_server, officina, giulia
):
    survey = survey_create(workspace=officina, actor=giulia, name="NPS dopo l'acquisto", kind="nps")
    anna = Contact.objects.create(workspace=officina, email="anna@cliente.it", first_name="Anna")
    for months in (3, 2, 0):
        Order.objects.create(
            workspace=officina, number=f"A{months}", contact=anna, total=Decimal(90),
            ordered_at=timezone.now() - dt.timedelta(days=31 * months),
        )  # fmt: skip
    token = answer_token(survey_id=survey.pk, contact_id=anna.pk)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("surveys:answer", args=[token]) + "?lang=en")
    page.get_by_label("9").check()  # the radio's label is its score; a keyboard reaches it too
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.get_by_label("Why? Tell us in a few words (optional)").fill("Assistenza veloce")
    page.get_by_role("button", name="Send my answer").click()
    page.get_by_test_id("survey-done").wait_for()
    assert SurveyResponse.objects.for_workspace(officina).get().score == 9

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(live_server.url + reverse("surveys:detail", args=[survey.slug]))
    assert page.locator('[data-figure="score"]').inner_text() == "100"
    page.locator("#survey-months[data-drawn]").wait_for()
    page.goto(live_server.url + reverse("reports:cohorts"))
    page.locator("#cohorts-heat[data-drawn]").wait_for()
    assert "100%" in page.get_by_test_id("cohorts-table").inner_text()
