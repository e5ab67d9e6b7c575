"""The marketer's page for declaring an embeddable form; the rules are judged by the service."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from volano.contacts.forms import ServiceForm


class WebFormForm(ServiceForm):
    # `fields` is the Form class's own attribute, hence `collects` for the form's fields.
    field_names: ClassVar[dict[str, str]] = {"fields": "collects"}

    name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("e.g. Newsletter, Quote request")
    )
    slug = forms.CharField(
        label=_("Slug"),
        required=False,
        max_length=60,
        help_text=_(
            "The last part of the form's address. Lowercase letters, digits, - and _; made "
            "from the name when left empty."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    collects = forms.MultipleChoiceField(
        label=_("Fields it collects"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Email is always collected. Custom fields of contacts are listed too."),
    )
    asks_email_consent = forms.BooleanField(
        label=_("Ask for consent to email marketing"), required=False
    )
    consent_text = forms.CharField(
        label=_("Consent text shown next to the checkbox"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept as the proof of every consent this form records. Consent stays pending until "
            "the person confirms it by email."
        ),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive form refuses every submission."),
    )

    def __init__(self, *args: Any, field_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["collects"].choices = field_choices  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["fields"] = data.pop("collects")
        data["slug"] = data["slug"].strip().lower() or slugify(data["name"])[:60]
        return data
