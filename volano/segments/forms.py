"""Forms of the segments pages. The builder's catalogue is volano.conditions.catalogue."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.segments.models import SegmentKind


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("This is"),
        choices=SegmentKind.choices,
        initial=SegmentKind.SEGMENT,
        widget=forms.RadioSelect,
    )
    goals = forms.CharField(
        label=gettext_lazy("Goals"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    pains = forms.CharField(
        label=gettext_lazy("Pains"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    channels = forms.CharField(
        label=gettext_lazy("Preferred channels"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    job_titles = forms.CharField(
        label=gettext_lazy("Typical job titles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    definition = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_definition(self) -> Any:
        raw = self.cleaned_data["definition"] or ""
        try:
            definition = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise forms.ValidationError(_("The rule could not be read; reload the page.")) from None
        if not definition:
            raise forms.ValidationError(_("Add at least one condition."))
        return definition


class ListForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PasteEmailsForm(forms.Form):
    emails = forms.CharField(
        label=gettext_lazy("Email addresses"),
        help_text=gettext_lazy("Paste them one per line, or separated by commas or spaces."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class SaveAsListForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the new list"), max_length=200)
