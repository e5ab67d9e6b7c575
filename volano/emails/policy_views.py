"""The sending policy page (/email/settings/): frequency cap and quiet hours of the workspace's
marketing email. Thin: parse the form, call the policy service, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from volano.core.errors import ApplicationError
from volano.core.permissions import Cap, requires
from volano.emails.models import EmailPolicy
from volano.emails.policy import (
    CAP_DAYS_MAX,
    CAP_MESSAGES_MAX,
    email_policy_get,
    email_policy_save,
)

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PolicyForm(forms.Form):
    cap_enabled = forms.BooleanField(
        label=gettext_lazy("Limit marketing emails per contact"), required=False
    )
    cap_messages = forms.IntegerField(
        label=gettext_lazy("At most (emails)"), min_value=1, max_value=CAP_MESSAGES_MAX
    )
    cap_days = forms.IntegerField(
        label=gettext_lazy("In (days)"),
        min_value=1,
        max_value=CAP_DAYS_MAX,
        help_text=gettext_lazy(
            "Broadcasts and workflow emails sent in this many days count; a contact who already "
            "got that many is skipped (“capped” in the reports)."
        ),
    )
    quiet_enabled = forms.BooleanField(label=gettext_lazy("Quiet hours"), required=False)
    quiet_start = forms.TimeField(
        label=gettext_lazy("Nothing sent from"), widget=TIME_WIDGET, input_formats=["%H:%M"]
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Until"),
        widget=TIME_WIDGET,
        input_formats=["%H:%M"],
        help_text=gettext_lazy(
            "Marketing email due in these hours waits and goes out when they end. A window that "
            "ends earlier than it starts runs across midnight."
        ),
    )

    @classmethod
    def initial_of(cls, policy: EmailPolicy) -> dict:
        return {
            "cap_enabled": policy.cap_enabled,
            "cap_messages": policy.cap_messages,
            "cap_days": policy.cap_days,
            "quiet_enabled": policy.quiet_enabled,
            "quiet_start": policy.quiet_start,
            "quiet_end": policy.quiet_end,
        }


@requires(Cap.VIEW_MARKETING, write=Cap.EDIT_MARKETING)
@require_http_methods(["GET", "POST"])
def policy_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    policy = email_policy_get(workspace=workspace)
    status = 200
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                email_policy_save(
                    workspace=workspace,
                    actor=request.user,  # type: ignore[arg-type]
                    data=form.cleaned_data,
                )
            except ApplicationError as failure:
                errors = getattr(failure, "errors", None) or [
                    {"field": failure.field, "message": failure.message}
                ]
                for error in errors:
                    field = error.get("field")
                    form.add_error(field if field in form.fields else None, error["message"])
            else:
                messages.success(request, _("Sending policy saved."))
                return redirect("emails:policy")
        status = 422
    else:
        form = PolicyForm(initial=PolicyForm.initial_of(policy))
    return render(
        request,
        "emails/policy.html",
        {"form": form, "policy": policy, "time_zone": workspace.time_zone},
        status=status,
    )
