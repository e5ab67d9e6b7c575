"""Reads of the surveys: the list, and each survey's results — NPS = % of promoters (9–10) −
% of detractors (0–6), CSAT = % of answers 4–5 — over time, by segment and by product line,
with the comments. Every figure is one grouped query; no answers gives None, never NaN."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from volano.core.errors import NotFound
from volano.core.models import Workspace
from volano.surveys.models import SCALES, Survey, SurveyKind, SurveyResponse

VERBATIMS_SHOWN = 15


def survey_list(*, workspace: Workspace) -> QuerySet[Survey]:
    return Survey.objects.for_workspace(workspace).annotate(answers=Count("responses"))


def survey_get(*, workspace: Workspace, slug: str) -> Survey:
    survey = Survey.objects.for_workspace(workspace).filter(slug=slug).first()
    if survey is None:
        raise NotFound(f"no survey '{slug}'")
    return survey


@dataclass(frozen=True)
class Score:
    """n answers of which `good` promoters (NPS) or satisfied (CSAT) and `bad` detractors."""

    n: int
    good: int
    bad: int
    kind: str

    @property
    def value(self) -> float | None:
        """NPS (−100…100) or CSAT (0…100); None without answers."""
        if not self.n:
            return None
        if self.kind == SurveyKind.NPS:
            return round(100.0 * (self.good - self.bad) / self.n, 1)
        return round(100.0 * self.good / self.n, 1)

    @property
    def passive(self) -> int:
        return self.n - self.good - self.bad


def survey_totals(*, workspace: Workspace) -> dict[int, Score]:
    """Every survey's total in one grouped query (the list page, the API's list)."""
    good, bad = Q(pk__in=[]), Q(pk__in=[])
    for kind, scale in SCALES.items():
        good |= Q(survey__kind=kind, score__gte=scale["good_from"])
        bad |= Q(survey__kind=kind, score__lte=scale["bad_to"])
    rows = (
        SurveyResponse.objects.for_workspace(workspace)
        .values("survey_id", "survey__kind")
        .annotate(n=Count("id"), good=Count("id", filter=good), bad=Count("id", filter=bad))
        .order_by()
    )
    return {row["survey_id"]: _score(row["survey__kind"], row) for row in rows}


def _counts(kind: str) -> dict:
    scale = SCALES[SurveyKind(kind)]
    return {
        "n": Count("id"),
        "good": Count("id", filter=Q(score__gte=scale["good_from"])),
        "bad": Count("id", filter=Q(score__lte=scale["bad_to"])),
    }


def _score(kind: str, row: Any) -> Score:
    return Score(n=row["n"] or 0, good=row["good"] or 0, bad=row["bad"] or 0, kind=kind)


def _responses(
    workspace: Workspace, survey: Survey, since: dt.datetime | None, until: dt.datetime | None
) -> QuerySet[SurveyResponse]:
    qs = SurveyResponse.objects.for_workspace(workspace).filter(survey=survey)
    if since is not None:
        qs = qs.filter(answered_at__gte=since)
    if until is not None:
        qs = qs.filter(answered_at__lt=until)
    return qs


@dataclass(frozen=True)
class SurveyResults:
    survey: Survey
    total: Score
    months: list[tuple[dt.date, Score]]
    segments: list[tuple[str, Score]]
    product_lines: list[tuple[str, Score]]
    distribution: list[tuple[int, int]]  # (score, answers) for every score of the scale
    verbatims: list[SurveyResponse]


def survey_results(
    *,
    workspace: Workspace,
    survey: Survey,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    verbatim_group: str = "",
) -> SurveyResults:
    kind = survey.kind
    counts = _counts(kind)
    responses = _responses(workspace, survey, since, until)
    total = _score(kind, responses.aggregate(**counts))
    months = [
        (
            row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"],
            _score(kind, row),
        )
        for row in responses.annotate(month=TruncMonth("answered_at"))
        .values("month")
        .annotate(**counts)
        .order_by("month")
    ]
    # by the segments the respondents are in now
    from volano.segments.models import SegmentMembership

    scale = SCALES[SurveyKind(kind)]
    by_segment = (
        SegmentMembership.objects.for_workspace(workspace)
        .filter(contact__survey_responses__in=responses)
        .values("segment__name")
        .annotate(
            n=Count("contact__survey_responses"),
            good=Count(
                "contact__survey_responses",
                filter=Q(contact__survey_responses__score__gte=scale["good_from"]),
            ),
            bad=Count(
                "contact__survey_responses",
                filter=Q(contact__survey_responses__score__lte=scale["bad_to"]),
            ),
        )
        .order_by("-n", "segment__name")
    )
    segments = [(row["segment__name"], _score(kind, row)) for row in by_segment]
    distribution_counts = dict(
        responses.values_list("score").annotate(n=Count("id")).values_list("score", "n")
    )
    distribution = [
        (s, distribution_counts.get(s, 0)) for s in range(scale["low"], scale["high"] + 1)
    ]
    verbatims = responses.exclude(comment="").select_related("contact")
    if verbatim_group == "good":
        verbatims = verbatims.filter(score__gte=scale["good_from"])
    elif verbatim_group == "bad":
        verbatims = verbatims.filter(score__lte=scale["bad_to"])
    elif verbatim_group == "middle":
        verbatims = verbatims.filter(score__gt=scale["bad_to"], score__lt=scale["good_from"])
    return SurveyResults(
        survey=survey,
        total=total,
        months=months,
        segments=segments,
        product_lines=_by_product_line(workspace, survey, responses),
        distribution=distribution,
        verbatims=list(verbatims.order_by("-answered_at", "-id")[:VERBATIMS_SHOWN]),
    )


def _by_product_line(
    workspace: Workspace, survey: Survey, responses: QuerySet[SurveyResponse]
) -> list[tuple[str, Score]]:
    """Each answer counts once for every product line its contact had bought by the time they
    answered (an answer of a customer of two lines counts in both)."""
    from volano.deals.selectors import product_line_list
    from volano.orders.models import Order, OrderLine

    scale = SCALES[SurveyKind(survey.kind)]
    inner, params = responses.values(
        "id", "contact_id", "score", "answered_at"
    ).query.sql_with_params()
    order, line = Order._meta.db_table, OrderLine._meta.db_table
    sql = f"""
        SELECT line, COUNT(*), SUM(CASE WHEN score >= %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN score <= %s THEN 1 ELSE 0 END)
        FROM (
            SELECT DISTINCT r.id, l.product_line AS line, r.score
            FROM ({inner}) r
            JOIN {order} o ON o.contact_id = r.contact_id AND o.workspace_id = %s
                 AND o.ordered_at <= r.answered_at
                 AND o.status NOT IN ('cancelled', 'canceled', 'refunded')
            JOIN {line} l ON l.order_id = o.id
            WHERE l.product_line <> ''
        ) answers
        GROUP BY line
        ORDER BY COUNT(*) DESC, line
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (scale["good_from"], scale["bad_to"], *params, workspace.pk))
        rows = cursor.fetchall()
    names = dict(product_line_list(workspace=workspace).values_list("slug", "name"))
    return [
        (
            names.get(slug, slug),
            Score(n=int(n), good=int(good or 0), bad=int(bad or 0), kind=survey.kind),
        )
        for slug, n, good, bad in rows
    ]


def contact_responses(*, workspace: Workspace, contact_id: int) -> QuerySet[SurveyResponse]:
    return (
        SurveyResponse.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("survey")
        .order_by("-answered_at")
    )
