"""Hand-off pages: my leads (accept / reject), assignment settings."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core.errors import ApplicationError, NotFound
from volano.core.ids import row_id
from volano.core.models import Membership, Role, User
from volano.core.permissions import Cap, requires
from volano.deals.models import ProductLine
from volano.handoff import selectors, services
from volano.handoff.forms import RuleForm, SettingsForm
from volano.handoff.models import Assignment, AssignmentRule, AssignmentStatus
from volano.scoring.models import Score

OPEN: list[str] = [AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.role == Role.ADMIN  # type: ignore[attr-defined]


# ---- my leads --------------------------------------------------------------------------------


def _scores(workspace, contact_ids: list[int]) -> dict[int, list[tuple[str, float, str]]]:
    """{contact id: [(model name, points, model kind)]}: the kind says whether the points are
    rule points or the predictive model's probability (shown as a percentage)."""
    by_contact: dict[int, list[tuple[str, float, str]]] = {}
    for score in (
        Score.objects.for_workspace(workspace)
        .filter(contact_id__in=contact_ids)
        .select_related("model")
        .order_by("model__name")
    ):
        by_contact.setdefault(score.contact_id, []).append(
            (score.model.name, score.points, score.model.kind)
        )
    return by_contact


def _rows(request: HttpRequest, assignments: list[Assignment]) -> list[dict[str, Any]]:
    workspace = request.workspace  # type: ignore[attr-defined]
    scores = _scores(workspace, [a.contact_id for a in assignments])
    admin = _is_admin(request)
    line_names = dict(ProductLine.objects.for_workspace(workspace).values_list("slug", "name"))
    return [
        {
            "assignment": a,
            "scores": scores.get(a.contact_id, []),
            "can_answer": admin or a.rep_id == request.user.pk,
            "line": line_names.get(a.product_line, a.product_line),
        }
        for a in assignments
    ]


def _row_context(request: HttpRequest, assignment: Assignment, **extra: Any) -> dict[str, Any]:
    handoff = services.handoff_settings_get(workspace=request.workspace)  # type: ignore[attr-defined]
    return {
        "row": _rows(request, [assignment])[0],
        "sla_hours": handoff.sla_hours,
        "is_admin": _is_admin(request),
        "now": timezone.now(),
        **extra,
    }


@requires(Cap.VIEW_DATA)
def leads(request: HttpRequest) -> HttpResponse:
    """The rep's pending and accepted leads; an administrator sees everyone's, by rep."""
    workspace = request.workspace  # type: ignore[attr-defined]
    admin = _is_admin(request)
    rep: User | None = _actor(request)
    reps: list[Membership] = []
    chosen = ""
    if admin:
        reps = list(
            Membership.objects.filter(workspace=workspace, role__in=[Role.SALES, Role.ADMIN])
            .select_related("user")
            .order_by("user__full_name", "user__email")
        )
        chosen = request.GET.get("rep", "")
        rep = next((m.user for m in reps if str(m.user_id) == chosen), None)
    assignments = list(selectors.assignments_for(workspace=workspace, rep=rep, status=OPEN)[:300])
    handoff = services.handoff_settings_get(workspace=workspace)
    return render(
        request,
        "handoff/leads.html",
        {
            "rows": _rows(request, assignments),
            "is_admin": admin,
            "reps": reps,
            "chosen_rep": chosen,
            "sla_hours": handoff.sla_hours,
            "now": timezone.now(),
        },
    )


def _assignment(request: HttpRequest, assignment_id: int) -> Assignment:
    try:
        return selectors.assignment_get(
            workspace=request.workspace,  # type: ignore[attr-defined]
            assignment_id=assignment_id,
        )
    except NotFound:
        raise Http404("no such assignment") from None


def _answered(request: HttpRequest, assignment: Assignment, message: str) -> HttpResponse:
    if _is_htmx(request):
        assignment = _assignment(request, assignment.pk)
        return render(
            request, "handoff/_lead_row.html", _row_context(request, assignment, done=message)
        )
    messages.success(request, message)
    return redirect("handoff:leads")


def _answer_failed(
    request: HttpRequest, assignment: Assignment, error: ApplicationError
) -> HttpResponse:
    if _is_htmx(request):
        # htmx swaps only 2xx replies: the row with the error next to the field is a 200.
        return render(
            request,
            "handoff/_lead_row.html",
            _row_context(request, assignment, error=error, reason=request.POST.get("reason", "")),
        )
    messages.error(request, error.message)
    return redirect("handoff:leads")


@requires(write=Cap.WORK_LEADS)
@require_POST
def lead_accept(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    try:
        services.assignment_accept(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=_actor(request),
            assignment=assignment,
        )
    except ApplicationError as error:
        return _answer_failed(request, assignment, error)
    return _answered(
        request, assignment, _("You accepted %(name)s.") % {"name": assignment.contact}
    )


@requires(write=Cap.WORK_LEADS)
@require_POST
def lead_reject(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    reason = request.POST.get("reason", "")
    if not reason.strip():
        error = ApplicationError(_("Say why you reject this lead."), field="reason")
        return _answer_failed(request, assignment, error)
    try:
        services.assignment_reject(
            workspace=request.workspace,  # type: ignore[attr-defined]
            actor=_actor(request),
            assignment=assignment,
            reason=reason,
        )
    except ApplicationError as error:
        return _answer_failed(request, assignment, error)
    return _answered(
        request,
        assignment,
        _("%(name)s went back to nurturing as Recycled.") % {"name": assignment.contact},
    )


# ---- assignment settings ---------------------------------------------------------------------


def _settings_page(
    request: HttpRequest,
    *,
    rule: AssignmentRule | None = None,
    rule_form: RuleForm | None = None,
    settings_form: SettingsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    handoff = services.handoff_settings_get(workspace=workspace)
    if rule_form is None:
        initial = RuleForm.initial_of(rule) if rule else {"active": True}
        rule_form = RuleForm(initial=initial, workspace=workspace)
    if settings_form is None:
        settings_form = SettingsForm(initial=SettingsForm.initial_of(handoff), workspace=workspace)
    rules = list(selectors.assignment_rule_list(workspace=workspace))
    # reps and product lines by name, never by email or slug
    names = {
        m.user_id: m.user.full_name or m.user.email
        for m in Membership.objects.filter(workspace=workspace).select_related("user")
    }
    line_names = dict(ProductLine.objects.for_workspace(workspace).values_list("slug", "name"))
    return render(
        request,
        "handoff/assignment_settings.html",
        {
            "rules": [
                {
                    "rule": r,
                    "reps": [names.get(user_id, f"#{user_id}") for user_id in r.reps],
                    "lines": [line_names.get(line, line) for line in r.product_lines],
                }
                for r in rules
            ],
            "rule": rule,
            "rule_form": rule_form,
            "warnings": selectors.assignment_rule_warnings(workspace=workspace, rule=rule)
            if rule is not None and rule_form.is_bound is False
            else [],
            "settings_form": settings_form,
        },
        status=status,
    )


def _rule(request: HttpRequest, rule_id: int) -> AssignmentRule:
    try:
        return selectors.assignment_rule_get(
            workspace=request.workspace,  # type: ignore[attr-defined]
            rule_id=rule_id,
        )
    except NotFound:
        raise Http404("no such rule") from None


@requires(Cap.EDIT_MARKETING)
def assignment_settings(request: HttpRequest) -> HttpResponse:
    edit = request.GET.get("edit", "")
    rule = _rule(request, pk) if (pk := row_id(edit)) is not None else None
    return _settings_page(request, rule=rule)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def rule_save(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    rule = _rule(request, rule_id) if rule_id is not None else None
    form = RuleForm(request.POST, workspace=workspace)
    if form.is_valid():
        try:
            saved, _warnings = services.assignment_rule_save(
                workspace=workspace, actor=_actor(request), data=form.service_data(), rule=rule
            )
        except ApplicationError as failure:
            errors = getattr(failure, "errors", None) or [
                {"field": failure.field, "message": failure.message}
            ]
            for error in errors:
                field = error.get("field")
                message = error["message"]
                if field == "position":  # the form counts from 1, the service from 0
                    message = _("expected a whole number from 1 (the first rule tried)")
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
            return redirect(f"{reverse('handoff:settings')}?edit={saved.pk}#rule-form")
    return _settings_page(request, rule=rule, rule_form=form, status=422)


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    services.assignment_rule_delete(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=_actor(request),
        rule=rule,
    )
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("handoff:settings")


@requires(write=Cap.EDIT_MARKETING)
@require_POST
def handoff_settings_save(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = SettingsForm(request.POST, workspace=workspace)
    if form.is_valid():
        try:
            services.handoff_settings_save(
                workspace=workspace, actor=_actor(request), data=form.cleaned_data
            )
        except ApplicationError as failure:
            errors = getattr(failure, "errors", None) or [
                {"field": failure.field, "message": failure.message}
            ]
            for error in errors:
                field = error.get("field")
                message = error["message"]
                if field == "position":  # the form counts from 1, the service from 0
                    message = _("expected a whole number from 1 (the first rule tried)")
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Hand-off settings saved."))
            return redirect("handoff:settings")
    return _settings_page(request, settings_form=form, status=422)
