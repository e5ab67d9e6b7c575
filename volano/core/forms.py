"""Forms of the shell: signing in with an email address, a team member's role and territory."""

from __future__ import annotations

import logging

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from volano.core import geography, throttle
from volano.core.mail import PERSONAL_HEADER
from volano.core.models import Role

logger = logging.getLogger(__name__)


class DateInput(forms.DateInput):
    """A browser date field, for every form of Volano: its value is always an ISO date. Django
    formats a date in the language's own format (12/05/2026 in Italian), which a date field
    does not take, so a date already set came up blank in Italian and a save lost it."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def too_many_attempts(seconds: int) -> str:
    count = throttle.minutes(seconds)
    return ngettext(
        "Too many attempts. Try again in %(count)d minute.",
        "Too many attempts. Try again in %(count)d minutes.",
        count,
    ) % {"count": count}


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the email address the user signs in with.

    Failed sign-ins are counted per account and per address (core/throttle.py); past the limit
    the form refuses before the password hasher runs, and says when to try again. A successful
    sign-in resets its account's count (not the address's)."""

    throttled = False

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password"):
            return self.cleaned_data
        address = throttle.client_address(self.request) if self.request else "unknown"
        wait = max(
            throttle.retry_after(throttle.LOGIN_PER_ACCOUNT, email) or 0,
            throttle.retry_after(throttle.LOGIN_PER_ADDRESS, address) or 0,
        )
        if wait:
            self.throttled = True
            raise forms.ValidationError(too_many_attempts(wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                throttle.hit(throttle.LOGIN_PER_ACCOUNT, email)
                throttle.hit(throttle.LOGIN_PER_ADDRESS, address)
            raise
        throttle.clear(throttle.LOGIN_PER_ACCOUNT, email)
        return cleaned


class PersonalPasswordResetForm(PasswordResetForm):
    """Django's reset form; the mail is marked personal, so no outbox page ever lists it (a
    reset link shown there would let a colleague take over the account)."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(
            subject, body, from_email, [to_email], headers={PERSONAL_HEADER: "1"}
        )
        try:
            message.send()
        except Exception:  # as Django does: the reply must not tell whether a mail was sent
            logger.exception("Failed to send password reset email to %s", context["user"].pk)


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


class InvitationForm(MembershipForm):
    """Who to invite, and the role (and a rep's territory) they get once they accept."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    field_order = ["email", "role", "regions", "provinces", "product_lines"]

    def service_data(self) -> dict:
        return {**super().service_data(), "email": self.cleaned_data["email"]}


class TokenForm(forms.Form):
    """A new API token: what it is for and how long it works."""

    EXPIRY_CHOICES = [
        ("30", _("30 days")),
        ("90", _("90 days")),
        ("365", _("1 year")),
        ("", _("Never (until revoked)")),
    ]

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("What the token is for, e.g. the e-commerce site or the ERP"),
    )
    expires_days = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )
