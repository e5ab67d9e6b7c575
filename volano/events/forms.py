"""The marketer's page for declaring an embeddable form (the rules are judged by the service), and
the activity a rep logs by hand on a contact's timeline."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from volano.contacts.forms import ServiceForm
from volano.events.models import EventType


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
        help_text=_("Kept as the proof of every consent this form records."),
    )
    double_opt_in = forms.BooleanField(
        label=_("Double opt-in: confirm the consent by email"),
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "double-opt-in-help"}),
        help_text=_(
            "Volano sends the person an email with a confirmation link: the consent stays "
            "pending, and no marketing email reaches them, until they click it. Turned off, "
            "ticking the box grants the consent at once."
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


class ActivityForm(forms.Form):
    """Something the contact did or said away from the website, logged by hand (a rep, the
    marketer): a call, a meeting, a note, a webinar, a fair, a brochure handed over."""

    type = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            (EventType.CALL, _("Phone call")),
            (EventType.MEETING, _("Meeting")),
            (EventType.NOTE, _("Note")),
            (EventType.WEBINAR_ATTENDED, _("Attended a webinar")),
            (EventType.EVENT_ATTENDED, _("Met at an event or fair")),
            (EventType.CONTENT_DOWNLOADED, _("Received a catalogue or brochure")),
        ],
    )
    title = forms.CharField(
        label=_("Subject"),
        max_length=200,
        required=False,
        help_text=_("e.g. the reason for the call, the webinar's title, the fair"),
    )
    text = forms.CharField(
        label=_("Notes"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was said or agreed"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("type") == EventType.NOTE
            and not (data.get("text") or "").strip()
            and not (data.get("title") or "").strip()
        ):
            self.add_error("text", _("Write the note."))
        return data

    def event_item(self, contact_id: int) -> dict:
        """The event, as the events API takes it."""
        kind = self.cleaned_data["type"]
        properties = {
            key: self.cleaned_data[key].strip()
            for key in ("title", "text")
            if self.cleaned_data[key].strip()
        }
        return {
            "type": kind,
            "contact_id": contact_id,
            "occurred_at": timezone.now().isoformat(),
            "properties": properties,
        }
