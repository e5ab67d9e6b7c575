"""The goal form: it only shapes input (numbers as typed, in either language); the service
checks it and says what is wrong."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.core.forms import DateInput
from volano.core.models import Membership, Workspace
from volano.goals.metrics import METRICS
from volano.goals.models import Goal, GoalScope


class GoalForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Specific: what, for whom, by when (“120 SQLs in the first quarter”)."),
    )
    metric = forms.ChoiceField(label=_("Metric"), required=False)
    target = forms.CharField(
        label=_("Target"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("A number: a count, an amount in euro, or a percentage for a rate."),
    )
    start_on = forms.CharField(label=_("Start"), required=False, widget=DateInput())
    deadline = forms.CharField(label=_("Deadline"), required=False, widget=DateInput())
    start_value = forms.CharField(
        label=_("Starting value (rates and CAC only)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Empty: measured over as many days just before the start."),
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    scope = forms.ChoiceField(
        label=_("Counts"),
        required=False,
        choices=[
            (GoalScope.TEAM, _("Whole team: everyone's contacts and deals")),
            (GoalScope.OWNER, _("Only the owner's: the contacts and deals they own")),
        ],
        initial=GoalScope.TEAM,
        widget=forms.RadioSelect,
        help_text=_(
            "A rep's goal of won deals, pipeline or SQLs counts only theirs; CAC and email "
            "engagement are always the whole team's."
        ),
    )
    notes = forms.CharField(
        label=_("Why it matters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Relevant: what this goal serves, so the team agrees it is worth it."),
    )

    shared = forms.BooleanField(
        label=_("Shared with sales"),
        required=False,
        help_text=_("Sales reps see the goals they own and the shared ones; they change none."),
    )

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((key, metric.label) for key, metric in METRICS.items()),
        ]
        members = Membership.objects.filter(workspace=workspace).select_related("user")
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(m.user_id), m.user.full_name or m.user.email) for m in members),
        ]

    @classmethod
    def initial_of(cls, goal: Goal) -> dict:
        return {
            "name": goal.name,
            "metric": goal.metric,
            "target": _plain(goal.target),
            "start_on": goal.start_on.isoformat(),
            "deadline": goal.deadline.isoformat(),
            "start_value": "" if goal.start_value is None else _plain(goal.start_value),
            "owner": str(goal.owner_id or ""),
            "notes": goal.notes,
            "shared": goal.shared,
            "scope": goal.scope,
        }

    def service_data(self) -> dict:
        """What was typed, for the service to check (a bad number is its message, not ours)."""
        return {name: self.data.get(name, "") for name in self.fields}


def _plain(value) -> str:
    return format(value.normalize(), "f")
