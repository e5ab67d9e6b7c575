"""Forms of the deals pages: they render fields and carry the errors the services name.

The services validate; a form only says what to ask for. `add_service_errors` puts each error a
service reported next to its field.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.core.errors import ApplicationError, ValidationFailed
from volano.core.forms import DateInput
from volano.deals.models import OPEN_DEAL_STAGES, DealStage, ProductLine

PRODUCT_ROWS = 3


class ProductLineForm(forms.Form):
    slug = forms.SlugField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lowercase letters, digits and hyphens, e.g. ricambi. It cannot change later."),
    )
    name = forms.CharField(label=_("Name"), max_length=60)


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("Product code"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    product_line = forms.ChoiceField(label=_("Product line"))
    price = forms.CharField(label=_("Price (€)"), max_length=20, initial="0")
    active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, lines: list[ProductLine], **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["product_line"])
        field.choices = [("", "—")] + [(pl.slug, pl.name) for pl in lines]


class DealForm(forms.Form):
    name = forms.CharField(label=_("Deal name"), max_length=200)
    contact = forms.CharField(
        label=_("Contact"),
        max_length=254,
        required=False,
        help_text=_("The contact's email address or id."),
    )
    amount = forms.CharField(
        label=_("Amount (€)"),
        max_length=20,
        required=False,
        help_text=_("Leave it empty to add up the products below."),
    )
    expected_close = forms.DateField(
        label=_("Expected close"),
        required=False,
        widget=DateInput(),
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"),
        choices=[(s.value, s.label) for s in OPEN_DEAL_STAGES],
        initial=DealStage.QUALIFICATION,
    )

    def __init__(self, *args, owners: list, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["owner"])
        field.choices = [("", _("Nobody"))] + [(str(u.pk), u.full_name or u.email) for u in owners]


# What each service field is called on the forms.
FORM_FIELD = {"contact_id": "contact", "owner_id": "owner", "company_id": "contact"}


def add_service_errors(form: forms.Form, error: ApplicationError) -> list[str]:
    """Put the service's errors next to their fields; return those no field shows."""
    errors = (
        error.errors
        if isinstance(error, ValidationFailed)
        else [{"field": error.field, "message": error.message}]
    )
    loose = []
    for item in errors:
        field = FORM_FIELD.get(item.get("field") or "", item.get("field") or "")
        if field in form.fields:
            if field not in form.errors:  # the form's own message says it already
                form.add_error(field, str(item["message"]))
        else:
            where = f"{item['field']}: " if item.get("field") else ""
            loose.append(f"{where}{item['message']}")
    return loose
