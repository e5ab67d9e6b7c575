"""Writes of the surveys: create and change a survey, send it by email, record an answer."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.models import User, Workspace
from volano.core.tenancy import ensure_in_workspace
from volano.events.services import events_ingest
from volano.surveys.models import SCALES, Survey, SurveyKind, SurveyResponse

MAX_QUESTIONS = 5
MAX_COMMENT = 4000
RENDERER = "survey"


def _questions(questions: list[str] | str | None) -> list[str]:
    if isinstance(questions, str):
        questions = questions.splitlines()
    cleaned = [q.strip()[:300] for q in (questions or []) if q and q.strip()]
    if len(cleaned) > MAX_QUESTIONS:
        raise ApplicationError(
            _("At most %(n)s more questions.") % {"n": MAX_QUESTIONS}, field="questions"
        )
    return cleaned


def survey_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    kind: str,
    question: str = "",
    questions: list[str] | str | None = None,
    subject: str = "",
    slug: str = "",
) -> Survey:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("A survey needs a name."), field="name")
    if kind not in SurveyKind.values:
        raise ApplicationError(
            _("The kind must be nps or csat, not %(kind)s.") % {"kind": repr(kind)}, field="kind"
        )
    slug = slugify(slug or name)[:60] or "survey"
    if Survey.objects.for_workspace(workspace).filter(slug=slug).exists():
        raise ApplicationError(
            _("A survey with the code %(slug)s exists already.") % {"slug": slug}, field="slug"
        )
    with transaction.atomic():
        survey = Survey.objects.create(
            workspace=workspace,
            slug=slug,
            name=name[:200],
            kind=kind,
            question=(question or "").strip()[:300],
            questions=_questions(questions),
            subject=(subject or "").strip()[:200],
            created_by=actor,
        )
        activity_record(
            workspace=workspace, actor=actor, verb="survey.create", obj=survey,
            changes={"name": survey.name, "kind": kind},
        )  # fmt: skip
    return survey


def survey_update(
    *, workspace: Workspace, actor: User | None, survey: Survey, **fields: Any
) -> Survey:
    ensure_in_workspace(survey, workspace)
    changes: dict = {}
    for name in ("name", "question", "subject", "active", "questions"):
        if name not in fields:
            continue
        value = fields[name]
        if name == "questions":
            value = _questions(value)
        elif name == "active":
            value = bool(value)
        else:
            value = (value or "").strip()
            if name == "name" and not value:
                raise ApplicationError(_("A survey needs a name."), field="name")
        if getattr(survey, name) != value:
            changes[name] = [getattr(survey, name), value]
            setattr(survey, name, value)
    if changes:
        with transaction.atomic():
            survey.save()
            activity_record(
                workspace=workspace, actor=actor, verb="survey.update", obj=survey, changes=changes
            )
    return survey


def survey_send(
    *,
    workspace: Workspace,
    actor: User | None,
    survey: Survey,
    audience: QuerySet[Contact],
    name: str = "",
) -> Any:
    """Email the survey to `audience` (a segment's or a list's contacts): one mailing whose
    renderer puts each contact's own signed link (and the score buttons) in the message. It is
    marketing mail: only contacts with the email consent get it, with the unsubscribe link."""
    from volano.emails.models import MailingKind
    from volano.emails.sending.services import mailing_create, mailing_send

    ensure_in_workspace(survey, workspace)
    if not survey.active:
        raise ApplicationError(_("This survey does not accept answers."), field="survey")
    mailing = mailing_create(
        workspace=workspace,
        actor=actor,
        kind=MailingKind.BROADCAST,
        renderer=RENDERER,
        params={"survey_id": survey.pk},
        audience_queryset=audience,
        name=name or survey.name,
        campaign=f"survey-{survey.slug}"[:100],
    )
    with transaction.atomic():
        activity_record(
            workspace=workspace, actor=actor, verb="survey.send", obj=survey,
            changes={"mailing": mailing.pk},
        )  # fmt: skip
    return mailing_send(workspace=workspace, actor=actor, mailing=mailing)


def survey_answer(
    *,
    survey: Survey,
    contact_id: int,
    wave: int,
    score: Any,
    comment: str = "",
    answers: dict[str, str] | None = None,
    language: str = "",
) -> tuple[SurveyResponse, bool]:
    """Record a contact's answer (the public page, the API). The rule: one answer per contact
    and invitation; answering the same link again replaces the score and texts of that answer
    (`revisions` + 1; `answered_at` stays the first time, `updated_at` moves) — results count it
    once. Each submission is a `survey_answered` event on the timeline (through the events
    domain's ingestion, so segments, scores and workflows follow); a changed answer's event
    says `revision` 2, 3…. Returns (response, created)."""
    scale = SCALES[SurveyKind(survey.kind)]
    try:
        value = int(score)
    except (TypeError, ValueError):
        value = None
    if value is None or not scale["low"] <= value <= scale["high"]:
        raise ApplicationError(_("Choose a score from %(low)s to %(high)s.") % scale, field="score")
    if not survey.active:
        raise ApplicationError(_("This survey does not accept answers any more."), field="survey")
    workspace = survey.workspace
    comment = (comment or "").strip()[:MAX_COMMENT]
    kept = {q: (answers or {}).get(q, "").strip()[:MAX_COMMENT] for q in survey.questions}
    kept = {q: a for q, a in kept.items() if a}
    now = timezone.now()
    with transaction.atomic():
        if not Contact.objects.for_workspace(workspace).filter(pk=contact_id).exists():
            raise ApplicationError(_("This link is no longer valid."), field="token")
        response = (
            SurveyResponse.objects.for_workspace(workspace)
            .select_for_update()
            .filter(survey=survey, contact_id=contact_id, wave=wave)
            .first()
        )
        created = response is None
        if response is None:
            response = SurveyResponse.objects.create(
                workspace=workspace, survey=survey, contact_id=contact_id, wave=wave,
                score=value, comment=comment, answers=kept, language=language[:8],
                answered_at=now, updated_at=now,
            )  # fmt: skip
        else:
            response.score, response.comment, response.answers = value, comment, kept
            response.language = language[:8] or response.language
            response.updated_at = now
            response.revisions += 1
            response.save()
        properties: dict[str, Any] = {
            "survey": survey.slug,
            "kind": survey.kind,
            "score": value,
            "answer": comment,
        }
        if response.revisions > 1:
            properties["revision"] = response.revisions
        result = events_ingest(
            workspace=workspace,
            items=[
                {
                    "type": "survey_answered",
                    "contact_id": contact_id,
                    "occurred_at": now.isoformat(),
                    "channel": "email" if wave else "web",
                    "properties": properties,
                    "dedup_key": f"survey:{survey.pk}:{contact_id}:{wave}:{response.revisions}",
                }
            ],
            source="survey",
            create_contacts=False,
        )
        if result.rejected:
            raise ApplicationError(result.rejected[0]["message"], field="score")
        activity_record(
            workspace=workspace, actor=None, verb="survey.answer", obj=survey,
            contact_id=contact_id, changes={"score": value, "revision": response.revisions},
        )  # fmt: skip
    return response, created
