"""Forms of the shell: signing in with an email address, a team member's role and territory."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from volano.core import geography
from volano.core.models import Role


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the email address the user signs in with."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class MembershipForm(forms.Form):
    """A member's role and, for a sales rep, the territory and product lines they cover."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    regions = forms.MultipleChoiceField(
        label=_("Regions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    provinces = forms.CharField(
        label=_("Provinces"),
        required=False,
        help_text=_("Codes or names separated by commas, e.g. MI, BG, Brescia"),
    )
    product_lines = forms.CharField(
        label=_("Product lines"),
        required=False,
        help_text=_("Separated by commas, e.g. ricambi, macchine"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r, r) for r in geography.regions()]  # type: ignore[attr-defined]

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "role": data["role"],
            "regions": data["regions"],
            "provinces": _split(data["provinces"]),
            "product_lines": _split(data["product_lines"]),
        }
