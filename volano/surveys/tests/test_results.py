"""NPS and CSAT as the marketer reads them, checked against an independent computation of the
same answers (counted here from the raw scores), by month, by segment and by product line."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts.models import Contact
from volano.orders.models import Order, OrderLine
from volano.segments.models import Segment, SegmentMembership
from volano.surveys.models import SurveyResponse
from volano.surveys.selectors import survey_results, survey_totals
from volano.surveys.services import survey_create

pytestmark = pytest.mark.django_db

NPS_SCORES = [10, 9, 9, 8, 7, 6, 3, 0, 10, 5, 9, 8]
CSAT_SCORES = [5, 4, 4, 3, 2, 1, 5]


def nps_by_hand(scores: list[int]) -> float:
    promoters = sum(1 for s in scores if s in (9, 10))
    detractors = sum(1 for s in scores if s in range(0, 7))
    return round(100 * promoters / len(scores) - 100 * detractors / len(scores), 1)


def csat_by_hand(scores: list[int]) -> float:
    return round(100 * sum(1 for s in scores if s in (4, 5)) / len(scores), 1)


def _answers(workspace, survey, scores, *, start, comment=""):
    """One contact per score; answer i on day start + 20·i (two or three a month)."""
    ids = []
    for i, score in enumerate(scores):
        contact = Contact.objects.create(workspace=workspace, email=f"c{survey.slug}{i}@cliente.it")
        SurveyResponse.objects.create(
            workspace=workspace, survey=survey, contact=contact, score=score,
            comment=comment and f"{comment} {i}", answered_at=start + dt.timedelta(days=20 * i),
        )  # fmt: skip
        ids.append(contact.pk)
    return ids


def test_nps_and_csat_are_the_shares_the_definitions_say(officina, giulia):
    start = timezone.make_aware(dt.datetime(2026, 1, 5, 10))
    nps = survey_create(workspace=officina, actor=giulia, name="NPS", kind="nps")
    csat = survey_create(workspace=officina, actor=giulia, name="CSAT", kind="csat")
    _answers(officina, nps, NPS_SCORES, start=start, comment="Perché")
    _answers(officina, csat, CSAT_SCORES, start=start)

    result = survey_results(workspace=officina, survey=nps)
    assert result.total.n == len(NPS_SCORES)
    assert result.total.value == nps_by_hand(NPS_SCORES) == pytest.approx(8.3, abs=0.05)
    assert survey_results(workspace=officina, survey=csat).total.value == csat_by_hand(CSAT_SCORES)
    totals = survey_totals(workspace=officina)  # the list page's one query: the same figures
    assert (totals[nps.pk].value, totals[csat.pk].value) == (
        nps_by_hand(NPS_SCORES),
        csat_by_hand(CSAT_SCORES),
    )
    # month by month: the answers of each calendar month, scored alone
    by_month: dict[str, list[int]] = {}
    for i, score in enumerate(NPS_SCORES):
        day = timezone.localtime(start + dt.timedelta(days=20 * i))
        by_month.setdefault(f"{day.year}-{day.month:02d}", []).append(score)
    assert [(m.strftime("%Y-%m"), s.n, s.value) for m, s in result.months] == [
        (month, len(scores), nps_by_hand(scores)) for month, scores in sorted(by_month.items())
    ]
    assert [n for n, c in result.distribution] == list(range(11))
    assert sum(c for n, c in result.distribution) == len(NPS_SCORES)
    detractors = survey_results(workspace=officina, survey=nps, verbatim_group="bad").verbatims
    assert sorted(r.score for r in detractors) == sorted(s for s in NPS_SCORES if s <= 6)


def test_by_segment_and_by_the_product_lines_bought_before_answering(officina, giulia):
    start = timezone.make_aware(dt.datetime(2026, 3, 2, 10))
    survey = survey_create(workspace=officina, actor=giulia, name="NPS", kind="nps")
    ids = _answers(officina, survey, [10, 9, 4, 8], start=start)
    segment = Segment.objects.create(
        workspace=officina, slug="b2b", name="Clienti B2B", definition={}
    )
    for cid in ids[:3]:
        SegmentMembership.objects.create(workspace=officina, segment=segment, contact_id=cid)
    # contacts 0 and 2 bought spare parts before answering; contact 1 bought a machine after
    for n, (cid, line, days) in enumerate(
        [(ids[0], "ricambi", -5), (ids[2], "ricambi", 30), (ids[1], "macchine", 200)]
    ):
        answered = SurveyResponse.objects.for_workspace(officina).get(contact_id=cid).answered_at
        order = Order.objects.create(
            workspace=officina, number=f"O{n}", contact_id=cid, total=Decimal(100),
            ordered_at=answered + dt.timedelta(days=days),
        )  # fmt: skip
        OrderLine.objects.create(
            workspace=officina,
            order=order,
            product_name="x",
            product_line=line,
            amount=Decimal(100),
        )
    result = survey_results(workspace=officina, survey=survey)
    assert [(name, s.n, s.value) for name, s in result.segments] == [
        ("Clienti B2B", 3, nps_by_hand([10, 9, 4]))
    ]
    # contact 2 answered 20·2 = 40 days after start and bought 30 days after answering: not yet
    assert [(name, s.n, s.value) for name, s in result.product_lines] == [("ricambi", 1, 100.0)]


def test_no_answers_is_said_in_words_never_nan(client, officina, giulia):
    survey = survey_create(workspace=officina, actor=giulia, name="NPS vuoto", kind="nps")
    assert survey_results(workspace=officina, survey=survey).total.value is None
    client.force_login(giulia)
    page = client.get(reverse("surveys:detail", args=[survey.slug]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "No answers yet" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)
    listing = client.get(reverse("surveys:list")).content.decode()
    assert "no answers yet" in listing
