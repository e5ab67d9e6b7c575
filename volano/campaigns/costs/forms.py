"""Forms of the costs page: a cost file to import, a cost entered by hand."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.campaigns.models import Campaign, CostKind
from volano.core.forms import DateInput

PLATFORM_CHOICES = [
    ("", _("Recognise from the headers")),
    ("google_ads", _("Google Ads")),
    ("meta", _("Meta Ads")),
    ("linkedin", _("LinkedIn Ads")),
    ("ga4", _("Google Analytics 4")),
    ("generic", _("Generic file (date;campaign;cost or week;channel;spend)")),
]


class CostUploadForm(forms.Form):
    file = forms.FileField(label=_("Cost file (CSV or Excel)"))
    platform = forms.ChoiceField(label=_("Layout"), choices=PLATFORM_CHOICES, required=False)


class ManualCostForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DateInput())
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    kind = forms.ChoiceField(label=_("Kind"), choices=CostKind.choices, initial=CostKind.AGENCY)
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.ChoiceField)
        campaigns = (
            Campaign.objects.for_workspace(workspace).filter(archived_at__isnull=True)
            if workspace is not None
            else []
        )
        field.choices = [("", "—"), *((str(c.pk), c.name) for c in campaigns)]
