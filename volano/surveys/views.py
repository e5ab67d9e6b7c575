"""Pages of the surveys: the list (and a new survey), a survey's results and its sending, and
the public answer page that a signed link opens (no login)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.core.exports import csv_delimiter, csv_text
from volano.core.permissions import Cap, public, requires
from volano.segments.selectors import list_list, list_members, segment_list, segment_members
from volano.surveys import links, selectors, services
from volano.surveys.invitations import contact_language
from volano.surveys.models import SCALES, Survey, SurveyKind
from volano.surveys.wording import scale_ends, score_question


def _ws(request: HttpRequest) -> Any:
    return request.workspace  # type: ignore[attr-defined]


class SurveyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SurveyKind.choices)
    question = forms.CharField(
        label=gettext_lazy("Score question (empty: the standard wording)"),
        max_length=300,
        required=False,
    )
    questions = forms.CharField(
        label=gettext_lazy("More questions, one a line (optional, answered in words)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    subject = forms.CharField(label=gettext_lazy("Email subject"), max_length=200, required=False)


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def survey_list_view(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.survey_create(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Survey created."))
            return redirect("surveys:detail", slug=survey.slug)
    totals = selectors.survey_totals(workspace=workspace)
    rows = [
        (survey, totals.get(survey.pk, selectors.Score(n=0, good=0, bad=0, kind=survey.kind)))
        for survey in selectors.survey_list(workspace=workspace)
    ]
    status = 422 if request.method == "POST" else 200
    return render(request, "surveys/list.html", {"rows": rows, "form": form}, status=status)


def _audiences(workspace: Any) -> list[tuple[str, str]]:
    choices = [
        (f"segment:{s.pk}", _("Segment: %(name)s") % {"name": s.name})
        for s in segment_list(workspace=workspace)
    ]
    choices += [
        (f"list:{c.pk}", _("List: %(name)s") % {"name": c.name})
        for c in list_list(workspace=workspace)
    ]
    return choices


def _audience_queryset(workspace: Any, value: str) -> Any:
    kind, _sep, ident = value.partition(":")
    if kind == "segment":
        segment = segment_list(workspace=workspace).filter(pk=int(ident or 0)).first()
        if segment is not None:
            return segment_members(workspace=workspace, segment=segment)
    if kind == "list":
        contact_list = list_list(workspace=workspace).filter(pk=int(ident or 0)).first()
        if contact_list is not None:
            return list_members(workspace=workspace, contact_list=contact_list)
    raise ApplicationError(_("Choose a segment or a list to send to."), field="audience")


GROUPS = ("good", "middle", "bad")


@requires(read=Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
def survey_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = _ws(request)
    survey = selectors.survey_get(workspace=workspace, slug=slug)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send":
                mailing = services.survey_send(
                    workspace=workspace,
                    actor=request.user,  # type: ignore[arg-type]
                    survey=survey,
                    audience=_audience_queryset(workspace, request.POST.get("audience", "")),
                )
                messages.success(
                    request,
                    _("The survey is being sent (mailing “%(name)s”).") % {"name": mailing.name},
                )
            elif action in ("open", "close"):
                services.survey_update(
                    workspace=workspace, actor=request.user,  # type: ignore[arg-type]
                    survey=survey, active=action == "open",
                )  # fmt: skip
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect("surveys:detail", slug=survey.slug)
    group = request.GET.get("verbatims", "")
    results = selectors.survey_results(
        workspace=workspace, survey=survey, verbatim_group=group if group in GROUPS else ""
    )
    if request.GET.get("format") == "csv":
        return _csv(survey, results)
    scale = SCALES[SurveyKind(survey.kind)]
    chart = {
        "kind": survey.kind,
        "months": [m.isoformat() for m, _s in results.months],
        "values": [s.value for _m, s in results.months],
        "answers": [s.n for _m, s in results.months],
        "distribution": results.distribution,
        "labels": {
            "value": "NPS" if survey.kind == SurveyKind.NPS else "CSAT %",
            "answers": _("Answers"),
            "score": _("Score"),
        },
        "good_from": scale["good_from"],
        "bad_to": scale["bad_to"],
    }
    context = {
        "survey": survey,
        "results": results,
        "scale": scale,
        "question": score_question(survey),
        "audiences": _audiences(workspace),
        "chart": chart,
        "group": group,
        "is_nps": survey.kind == SurveyKind.NPS,
    }
    return render(request, "surveys/detail.html", context)


def _csv(survey: Survey, results: selectors.SurveyResults) -> HttpResponse:
    value = "NPS" if survey.kind == SurveyKind.NPS else "CSAT %"
    header = [
        _("Group"),
        _("Name"),
        _("Answers"),
        value,
        _("Promoters") if survey.kind == SurveyKind.NPS else _("Satisfied"),
        _("Detractors") if survey.kind == SurveyKind.NPS else _("Dissatisfied"),
    ]
    rows: list[list[Any]] = [header]
    rows.append(
        [
            _("Total"),
            survey.name,
            results.total.n,
            results.total.value,
            results.total.good,
            results.total.bad,
        ]
    )
    for month, score in results.months:
        rows.append(
            [_("Month"), month.strftime("%Y-%m"), score.n, score.value, score.good, score.bad]
        )
    for name, score in results.segments:
        rows.append([_("Segment"), name, score.n, score.value, score.good, score.bad])
    for name, score in results.product_lines:
        rows.append([_("Product line"), name, score.n, score.value, score.good, score.bad])
    text = csv_text(rows, delimiter=csv_delimiter(get_language()))
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.slug}.csv"'
    return response


# ---- the public answer page -----------------------------------------------------------------


def _refused(request: HttpRequest, why: str) -> HttpResponse:
    return render(
        request,
        "surveys/public/answer.html",
        {"refused": why},
        status=410 if why == "expired" else 404,
    )


@public
@require_http_methods(["GET", "POST"])
def answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """The contact's own page: GET shows the question (with the score from the email's button
    chosen, nothing recorded: link scanners open links); POST records or replaces the answer.
    In the contact's language unless they pick the other one (?lang=)."""
    try:
        survey_id, contact_id, wave = links.token_read(token)
    except links.LinkRefused as refused:
        return _refused(request, refused.why)
    survey = Survey.all_workspaces.select_related("workspace").filter(pk=survey_id).first()
    contact = (
        Contact.objects.for_workspace(survey.workspace).filter(pk=contact_id).first()
        if survey is not None
        else None
    )
    if survey is None or contact is None:
        return _refused(request, "tampered")
    chosen = request.GET.get("lang") or request.POST.get("lang") or ""
    language = chosen if chosen in ("it", "en") else contact_language(contact)
    with translation.override(language):
        return _answer_page(request, token, survey, contact, wave, language)


def _answer_page(
    request: HttpRequest, token: str, survey: Survey, contact: Contact, wave: int, language: str
) -> HttpResponse:
    from volano.surveys.models import SurveyResponse

    existing = (
        SurveyResponse.objects.for_workspace(survey.workspace)
        .filter(survey=survey, contact=contact, wave=wave)
        .first()
    )
    scale = SCALES[SurveyKind(survey.kind)]
    error, done, status = "", "", 200
    picked: str = request.GET.get("score", "") or (str(existing.score) if existing else "")
    comment = existing.comment if existing else ""
    answers = dict(existing.answers) if existing else {}
    if request.method == "POST":
        picked = request.POST.get("score", "")
        comment = request.POST.get("comment", "")
        answers = {q: request.POST.get(f"q{i}", "") for i, q in enumerate(survey.questions)}
        try:
            _response, created = services.survey_answer(
                survey=survey, contact_id=contact.pk, wave=wave, score=picked,
                comment=comment, answers=answers, language=language,
            )  # fmt: skip
        except ApplicationError as failure:
            error, status = failure.message, 422
        else:
            done = "created" if created else "updated"
    low, high = scale_ends(survey)
    context = {
        "survey": survey,
        "token": token,
        "question": score_question(survey),
        "scores": [str(n) for n in range(scale["low"], scale["high"] + 1)],
        "low_label": low,
        "high_label": high,
        "picked": picked,
        "comment": comment,
        "questions": [(f"q{i}", q, answers.get(q, "")) for i, q in enumerate(survey.questions)],
        "error": error,
        "done": done,
        "answered_before": existing is not None and not done,
        "workspace": survey.workspace,
        "language": language,
        "other_language": "en" if language == "it" else "it",
        "action": reverse("surveys:answer", args=[token]),
    }
    return render(request, "surveys/public/answer.html", context, status=status)
