"""Forms of the hand-off pages. They only collect what was typed: the services check it, so a
rule is judged the same from the UI and the API and every problem shows at once."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.core import geography
from volano.core.models import Membership, Role, Workspace
from volano.deals.models import ProductLine
from volano.handoff.models import AssignmentRule, HandoffSettings


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _member_choices(workspace: Workspace, roles: tuple[str, ...]) -> list[tuple[str, str]]:
    members = (
        Membership.objects.filter(workspace=workspace, role__in=roles)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [
        (
            str(m.user_id),
            f"{m.user.full_name} ({m.user.email})" if m.user.full_name else m.user.email,
        )
        for m in members
    ]


def _position_from_people(text: str) -> str | int | None:
    """Position 1 is stored as 0. The service refuses what is left below 0 or not a number, next
    to the other problems of the rule."""
    text = text.strip()
    if not text:
        return None
    return int(text) - 1 if text.isdigit() else text


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    regions = forms.MultipleChoiceField(
        label=_("Regions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    provinces = forms.CharField(
        label=_("Provinces"), required=False, help_text=_("Two-letter codes, e.g. MI, BG")
    )
    cap_ranges = forms.CharField(
        label=_("CAP ranges"),
        required=False,
        help_text=_("CAPs or ranges separated by commas, e.g. 20121, 20100-20199"),
    )
    product_lines = forms.MultipleChoiceField(
        label=_("Product lines"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: leads of any product line."),
    )
    reps = forms.MultipleChoiceField(
        label=_("Sales reps (in turn)"), required=False, widget=forms.CheckboxSelectMultiple
    )
    position = forms.CharField(
        label=_("Position"),
        required=False,
        help_text=_("Rules are tried from position 1 up; the first that matches wins."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r, r) for r in geography.regions()]  # type: ignore[attr-defined]
        self.fields["product_lines"].choices = [  # type: ignore[attr-defined]
            (line.slug, line.name) for line in ProductLine.objects.for_workspace(workspace)
        ]
        self.fields["reps"].choices = _member_choices(workspace, (Role.SALES, Role.ADMIN))  # type: ignore[attr-defined]

    @classmethod
    def initial_of(cls, rule: AssignmentRule) -> dict:
        return {
            "name": rule.name,
            "regions": rule.regions,
            "provinces": ", ".join(rule.provinces),
            "cap_ranges": ", ".join(rule.cap_ranges),
            "product_lines": rule.product_lines,
            "reps": [str(r) for r in rule.reps],
            "position": rule.position + 1,  # people count rules from 1, the table from 0
            "active": rule.active,
        }

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "regions": data["regions"],
            "provinces": _split(data["provinces"]),
            "cap_ranges": _split(data["cap_ranges"]),
            "product_lines": data["product_lines"],
            "reps": [int(r) for r in data["reps"]],
            "position": _position_from_people(data["position"]),
            "active": data["active"],
        }


class SettingsForm(forms.Form):
    fallback_owner = forms.ChoiceField(
        label=_("Fallback owner"),
        required=False,
        help_text=_("Gets the leads no rule or rep can take, and those not accepted in time."),
    )
    sla_hours = forms.IntegerField(
        label=_("Accept within (working hours)"), min_value=1, max_value=240
    )
    work_start = forms.IntegerField(
        label=_("Working day starts at (hour)"), min_value=0, max_value=23
    )
    work_end = forms.IntegerField(label=_("Working day ends at (hour)"), min_value=1, max_value=24)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_owner"].choices = [  # type: ignore[attr-defined]
            ("", _("Nobody")),
            *_member_choices(workspace, (Role.SALES, Role.ADMIN, Role.MARKETER)),
        ]

    @classmethod
    def initial_of(cls, handoff: HandoffSettings) -> dict:
        return {
            "fallback_owner": str(handoff.fallback_owner_id or ""),
            "sla_hours": handoff.sla_hours,
            "work_start": handoff.work_start,
            "work_end": handoff.work_end,
        }
