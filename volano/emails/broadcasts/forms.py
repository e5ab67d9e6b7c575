"""The new-broadcast form: template, audience (a segment or a list), now or at a date and time
in the workspace's time zone, and an optional A/B test."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.emails.models import AbMetric, EmailTemplate
from volano.segments.models import ContactList, Segment, SegmentKind


class BroadcastForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    template = forms.ChoiceField(label=_("Email template"))
    audience = forms.ChoiceField(label=_("Send to"), help_text=_("A segment, or a whole list."))
    when = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Now")), ("later", _("At a date and time"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    send_at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    ab_which = forms.ChoiceField(
        label=_("A/B test"),
        choices=[("", _("No test")), ("subject", _("Subject B")), ("content", _("Template B"))],
        required=False,
    )
    ab_subject_b = forms.CharField(label=_("Subject B"), max_length=300, required=False)
    ab_template_b = forms.ChoiceField(label=_("Template B"), required=False)
    ab_split = forms.IntegerField(
        label=_("Share of the audience in the test (%)"),
        min_value=2,
        max_value=100,
        initial=20,
        help_text=_("20% sends A to 10% and B to 10%; the rest gets the winner."),
    )
    ab_metric = forms.ChoiceField(
        label=_("Winner by"), choices=AbMetric.choices, initial=AbMetric.OPENS
    )
    ab_hours = forms.IntegerField(
        label=_("Choose the winner after (hours)"), min_value=1, max_value=336, initial=4
    )

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.tz = zoneinfo.ZoneInfo(workspace.time_zone or "Europe/Rome")
        self.fields["send_at"].help_text = _("In the workspace's time zone (%(tz)s).") % {
            "tz": workspace.time_zone
        }
        templates = [
            (t.slug, t.name)
            for t in EmailTemplate.objects.for_workspace(workspace).order_by("name")
            if t.sendable
        ]
        cast(forms.ChoiceField, self.fields["template"]).choices = templates
        cast(forms.ChoiceField, self.fields["ab_template_b"]).choices = [("", "—"), *templates]
        segments = Segment.objects.for_workspace(workspace).filter(kind=SegmentKind.SEGMENT)
        lists = ContactList.objects.for_workspace(workspace)
        cast(forms.ChoiceField, self.fields["audience"]).choices = [
            (_("Segments"), [(f"segment:{s.slug}", s.name) for s in segments.order_by("name")]),
            (_("Lists"), [(f"list:{c.slug}", c.name) for c in lists.order_by("name")]),
        ]

    def clean_send_at(self) -> dt.datetime | None:
        value = self.cleaned_data.get("send_at")
        if value is None:
            return None
        # the browser's datetime-local has no zone: it is the workspace's wall clock
        return value.replace(tzinfo=None).replace(tzinfo=self.tz)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("when") == "later" and not data.get("send_at"):
            self.add_error("send_at", _("Give the date and time of the send."))
        return data

    def service_kwargs(self) -> dict:
        """The broadcast_create arguments (objects looked up in this workspace)."""
        data = self.cleaned_data
        kind, _sep, slug = data["audience"].partition(":")
        templates = EmailTemplate.objects.for_workspace(self.workspace)
        kwargs: dict[str, Any] = {
            "template": templates.get(slug=data["template"]),
            "name": data.get("name") or "",
            "send_at": data.get("send_at") if data.get("when") == "later" else None,
            "segment": None,
            "contact_list": None,
        }
        if kind == "segment":
            kwargs["segment"] = Segment.objects.for_workspace(self.workspace).get(slug=slug)
        else:
            kwargs["contact_list"] = ContactList.objects.for_workspace(self.workspace).get(
                slug=slug
            )
        if data.get("ab_which"):
            kwargs["ab"] = {
                "which": data["ab_which"],
                "subject_b": data.get("ab_subject_b") or "",
                "template_b": templates.filter(slug=data.get("ab_template_b") or "").first(),
                "split": data["ab_split"],
                "metric": data["ab_metric"],
                "hours": data["ab_hours"],
            }
        return kwargs
