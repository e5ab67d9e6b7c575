"""The forms of the dashboards: a custom dashboard (widgets and filters, picked from lists) and
the health score's weights."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.core import geography
from volano.deals.models import ProductLine
from volano.reports.dashboards.models import Dashboard, HealthWeights
from volano.segments.models import Segment


class DashboardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    widgets = forms.MultipleChoiceField(
        label=_("Widgets"), widget=forms.CheckboxSelectMultiple, required=True
    )
    segment = forms.TypedChoiceField(
        label=_("Segment"), required=False, coerce=int, empty_value=None
    )
    product_line = forms.ChoiceField(label=_("Product line"), required=False)
    territory = forms.ChoiceField(label=_("Territory (region)"), required=False)
    shared = forms.BooleanField(label=_("Share with the whole workspace"), required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        workspace: Any,
        widget_choices: list[tuple[str, str]],
        instance: Dashboard | None = None,
    ):
        initial = {}
        if instance is not None:
            initial = {
                "name": instance.name,
                "widgets": instance.widgets,
                "segment": instance.segment_id,
                "product_line": instance.product_line,
                "territory": instance.territory,
                "shared": instance.shared,
            }
        super().__init__(data, initial=initial)
        fields: dict[str, Any] = self.fields
        fields["widgets"].choices = widget_choices
        everyone = [("", _("Everyone"))]
        fields["segment"].choices = everyone + [
            (s.pk, s.name) for s in Segment.objects.for_workspace(workspace).order_by("name")
        ]
        fields["product_line"].choices = [("", _("All product lines"))] + [
            (p.slug, p.name) for p in ProductLine.objects.for_workspace(workspace).order_by("name")
        ]
        regions = sorted(geography.regions())
        fields["territory"].choices = [("", _("All of Italy"))] + [(r, r) for r in regions]


class WeightsForm(forms.ModelForm):
    class Meta:
        model = HealthWeights
        fields = [
            "recency",
            "frequency",
            "value",
            "engagement",
            "tickets",
            "satisfaction",
            "at_risk_below",
        ]

    def clean_at_risk_below(self) -> int:
        value = self.cleaned_data["at_risk_below"]
        if value > 100:
            raise forms.ValidationError(_("The score goes from 0 to 100."))
        return value

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        parts = [cleaned.get(p) or 0 for p in self.Meta.fields[:-1]]
        if not any(parts):
            raise forms.ValidationError(_("At least one weight must be above zero."))
        return cleaned
