"""The survey's invitation email: the renderer "survey" of the sending core. Each contact gets
their own signed link, and the score buttons (0–10 or 1–5) that open the answer page with that
score chosen; the page records it when the contact sends it. In the contact's language.

Any email template may also carry a survey's link: `{{ survey_link('nps-clienti') }}` (a
template function registered with the emails domain) writes each recipient's own signed link,
the invitation being the mailing that sends it (0 in a preview or a test send)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import css_inline
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from volano.emails.sending.renderers import RenderedEmail, register_renderer
from volano.emails.templating.functions import register_template_function
from volano.surveys.links import answer_url
from volano.surveys.models import SCALES, Survey, SurveyKind
from volano.surveys.services import RENDERER
from volano.surveys.wording import scale_ends, score_question


def _inliner() -> css_inline.CSSInliner:
    # the email's CSS is a file beside its template, inlined into style attributes (mail clients
    # drop <style>; the pages' Content-Security-Policy keeps templates free of inline styles)
    css = render_to_string("surveys/invitation_email.css")
    return css_inline.CSSInliner(extra_css=css, load_remote_stylesheets=False)


def contact_language(contact: Any) -> str:
    language = (getattr(contact, "language", "") or "").lower()[:2]
    return language if language in ("it", "en") else "it"


def render_invitations(mailing: Any, contacts: Iterable[Any]) -> dict[int, RenderedEmail]:
    survey_id = (mailing.params or {}).get("survey_id")
    survey = (
        Survey.all_workspaces.filter(workspace_id=mailing.workspace_id, pk=survey_id).first()
        if isinstance(survey_id, int)
        else None
    )
    if survey is None:
        from volano.core.errors import ApplicationError

        raise ApplicationError(_("the mailing's survey no longer exists"), field="survey")
    scale = SCALES[SurveyKind(survey.kind)]
    inliner = _inliner()
    result = {}
    for contact in contacts:
        language = contact_language(contact)
        with translation.override(language):
            scores = [
                (
                    n,
                    answer_url(
                        survey_id=survey.pk, contact_id=contact.pk, wave=mailing.pk, score=n
                    ),
                )
                for n in range(scale["low"], scale["high"] + 1)
            ]
            context = {
                "survey": survey,
                "contact": contact,
                "question": score_question(survey),
                "ends": scale_ends(survey),
                "language": language,
                "scores": scores,
                "link": answer_url(survey_id=survey.pk, contact_id=contact.pk, wave=mailing.pk),
                "workspace_name": mailing.workspace.name,
            }
            result[contact.pk] = RenderedEmail(
                subject=survey.subject or survey.name,
                html=inliner.inline(render_to_string("surveys/invitation_email.html", context)),
                text=render_to_string("surveys/invitation_email.txt", context),
            )
    return result


register_renderer(RENDERER, render_invitations)


def _survey_link_check(workspace: Any, args: list[Any]) -> str | None:
    if len(args) != 1 or not isinstance(args[0], str) or not args[0]:
        return _("survey_link needs the code of one survey: survey_link('nps-clienti')")
    if (
        workspace is not None
        and not Survey.objects.for_workspace(workspace).filter(slug=args[0]).exists()
    ):
        return _("no survey with the code “%(slug)s” in this workspace") % {"slug": args[0]}
    return None


def _survey_link_bind(workspace_id: int, mailing_id: int) -> Any:
    ids: dict[str, int | None] = {}  # slug → survey id, read once per batch

    def link(contact_id: int, slug: Any = "", *_rest: Any) -> str:
        if slug not in ids:
            ids[slug] = (
                Survey.all_workspaces.filter(workspace_id=workspace_id, slug=slug)
                .values_list("pk", flat=True)
                .first()
            )
        survey_id = ids[slug]
        if survey_id is None:  # deleted since the template was saved: no link, not another's
            return ""
        return answer_url(survey_id=survey_id, contact_id=contact_id, wave=mailing_id)

    return link


register_template_function("survey_link", check=_survey_link_check, bind=_survey_link_bind)
