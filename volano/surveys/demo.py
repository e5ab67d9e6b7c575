"""The demo's two surveys and their year of answers: the NPS sent after a purchase and the CSAT
sent when a support ticket is closed. The demo generator writes the answers as
`survey_answered` events (as the answer page does); here each becomes its survey's answer, one
per invitation (the event's own id), in one INSERT … SELECT."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import F, IntegerField, JSONField, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from volano.core.models import Workspace
from volano.events.models import Event
from volano.surveys.models import Survey, SurveyKind, SurveyResponse
from volano.surveys.services import survey_create

SURVEYS = (
    {
        "slug": "nps-post-acquisto",
        "name": "NPS dopo l'acquisto",
        "kind": SurveyKind.NPS,
        "subject": "Ci consiglierebbe a un collega? Una domanda, un minuto",
        "questions": ["Che cosa potremmo fare meglio?"],
    },
    {
        "slug": "csat-assistenza",
        "name": "Soddisfazione assistenza (CSAT)",
        "kind": SurveyKind.CSAT,
        "question": "Quanto è soddisfatto di come abbiamo risolto la sua richiesta?",
        "subject": "Com'è andata con la sua richiesta di assistenza?",
    },
)


def demo_surveys_create(*, workspace: Workspace, now: dt.datetime) -> int:
    """Returns how many answers were written."""
    written = 0
    for spec in SURVEYS:
        survey = survey_create(workspace=workspace, actor=None, **spec)
        Survey.objects.for_workspace(workspace).filter(pk=survey.pk).update(
            created_at=now - dt.timedelta(days=366)
        )
        answers = (
            Event.objects.for_workspace(workspace)
            .filter(type="survey_answered", properties__survey=survey.slug, contact__isnull=False)
            .annotate(
                r_workspace=Value(workspace.pk),
                r_survey=Value(survey.pk),
                r_score=Cast(KeyTextTransform("score", "properties"), IntegerField()),
                r_comment=Coalesce(
                    KeyTextTransform("answer", "properties"), Value(""), output_field=TextField()
                ),
                r_answers=Value({}, output_field=JSONField()),
                r_language=Value("it"),
                r_revisions=Value(1),
            )
            .values_list(
                "r_workspace",
                "r_survey",
                "contact_id",
                "id",
                "r_score",
                "r_comment",
                "r_answers",
                "r_language",
                "occurred_at",
                F("occurred_at"),
                "r_revisions",
            )
        )
        select, params = answers.query.sql_with_params()
        table = SurveyResponse._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (workspace_id, survey_id, contact_id, wave, score, comment,"
                f" answers, language, answered_at, updated_at, revisions) {select}",
                params,
            )
            written += cursor.rowcount
    return written
