"""/api/v1 routes of the surveys: the list, a survey's results, a contact's signed link."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from volano.contacts.models import Contact
from volano.core.tenancy import access_in_workspace
from volano.surveys import links, selectors
from volano.surveys.selectors import Score

router = Router(tags=["surveys"])


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class ScoreOut(Schema):
    """`value` is the NPS (−100…100) or the CSAT (% of 4–5); null without answers."""

    answers: int
    value: float | None
    good: int
    bad: int


def _score(score: Score) -> dict:
    return {"answers": score.n, "value": score.value, "good": score.good, "bad": score.bad}


class SurveyOut(Schema):
    slug: str
    name: str
    kind: str
    active: bool
    result: ScoreOut


class NamedScoreOut(ScoreOut):
    name: str


class MonthScoreOut(ScoreOut):
    month: dt.date


class ResultsOut(Schema):
    slug: str
    kind: str
    total: ScoreOut
    months: list[MonthScoreOut]
    segments: list[NamedScoreOut]
    product_lines: list[NamedScoreOut]


class LinkIn(Schema):
    contact_id: int


class LinkOut(Schema):
    url: str


@router.get("/surveys", response=list[SurveyOut], summary="Surveys with their NPS or CSAT")
def surveys_list(request: HttpRequest):
    workspace = _ws(request)
    totals = selectors.survey_totals(workspace=workspace)
    empty = Score(n=0, good=0, bad=0, kind="nps")
    return [
        {
            "slug": s.slug,
            "name": s.name,
            "kind": s.kind,
            "active": s.active,
            "result": _score(totals.get(s.pk, empty)),
        }
        for s in selectors.survey_list(workspace=workspace)
    ]


def _midnight(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


@router.get(
    "/surveys/{slug}/results",
    response=ResultsOut,
    summary="A survey's NPS or CSAT in total, by month, by segment and by product line",
)
def surveys_results(
    request: HttpRequest, slug: str, since: dt.date | None = None, until: dt.date | None = None
):
    """Answers from `since` up to `until` included (both optional)."""
    workspace = _ws(request)
    survey = selectors.survey_get(workspace=workspace, slug=slug)
    results = selectors.survey_results(
        workspace=workspace,
        survey=survey,
        since=_midnight(since),
        until=_midnight(until + dt.timedelta(days=1)) if until else None,
    )
    return {
        "slug": survey.slug,
        "kind": survey.kind,
        "total": _score(results.total),
        "months": [{"month": m, **_score(s)} for m, s in results.months],
        "segments": [{"name": n, **_score(s)} for n, s in results.segments],
        "product_lines": [{"name": n, **_score(s)} for n, s in results.product_lines],
    }


@router.post(
    "/surveys/{slug}/links",
    response=LinkOut,
    summary="A contact's signed answer link (for a page or a message of your own)",
)
def surveys_link(request: HttpRequest, slug: str, payload: LinkIn):
    workspace = _ws(request)
    survey = selectors.survey_get(workspace=workspace, slug=slug)
    contact = access_in_workspace(Contact, workspace=workspace, pk=payload.contact_id)
    return {"url": links.answer_url(survey_id=survey.pk, contact_id=contact.pk)}
