"""The campaign pages' forms: they only shape input; the services validate it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from volano.campaigns.models import (
    Campaign,
    ChannelGroup,
    ContentKind,
    MatchOp,
    Objective,
)
from volano.campaigns.utm import PRESETS
from volano.core.forms import DateInput
from volano.core.models import Membership, Workspace


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    utm_campaign = forms.CharField(
        label=_("UTM campaign"),
        max_length=100,
        required=False,
        help_text=_("The utm_campaign its links carry; empty: made from the name."),
    )
    channel_group = forms.ChoiceField(
        label=_("Channel"), choices=[("", "—"), *ChannelGroup.choices], required=False
    )
    objective = forms.ChoiceField(label=_("Objective"), choices=Objective.choices)
    starts_on = forms.DateField(label=_("Start date"), required=False, widget=DateInput)
    ends_on = forms.DateField(label=_("End date"), required=False, widget=DateInput)
    budget = forms.DecimalField(
        label=_("Budget"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    aims_at_customers = forms.BooleanField(
        label=_("Aimed at existing customers (cross-sell / up-sell)"), required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(workspace=workspace).select_related("user")
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(m.user_id), m.user.full_name or m.user.email) for m in members),
        ]

    @classmethod
    def initial_of(cls, campaign: Campaign) -> dict:
        return {
            "name": campaign.name,
            "utm_campaign": campaign.utm_campaign,
            "channel_group": campaign.channel_group,
            "objective": campaign.objective,
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
            "budget": campaign.budget,
            "owner": str(campaign.owner_id or ""),
            "aims_at_customers": campaign.aims_at_customers,
            "description": campaign.description,
        }

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["budget"] = data.get("budget") or 0
        data["owner"] = data.get("owner") or None
        if not data.get("utm_campaign"):
            data.pop("utm_campaign", None)
        return data


class ContentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ContentKind.choices)
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)
    url = forms.CharField(label=_("URL"), max_length=500, required=False)
    utm_content = forms.CharField(
        label=_("UTM content"),
        max_length=100,
        required=False,
        help_text=_("The utm_content its links carry; empty: made from the name."),
    )

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = Campaign.objects.for_workspace(workspace).filter(archived_at__isnull=True)
        self.fields["campaign"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(c.pk), c.name) for c in campaigns.order_by("name")),
        ]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["campaign"] = data.get("campaign") or None
        if not data.get("utm_content"):
            data.pop("utm_content", None)
        return data


class UtmForm(forms.Form):
    url = forms.CharField(label=_("Page address"), max_length=2000)
    campaign = forms.CharField(label=_("Campaign (utm_campaign)"), max_length=100)
    preset = forms.ChoiceField(label=_("Where the link goes"), required=False)
    source = forms.CharField(
        label=_("Source (utm_source)"),
        max_length=100,
        required=False,
        help_text=_("Empty: the preset's."),
    )
    medium = forms.CharField(
        label=_("Medium (utm_medium)"),
        max_length=100,
        required=False,
        help_text=_("Empty: the preset's."),
    )
    content = forms.CharField(
        label=_("Contents (utm_content), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One link per content: the ad, the banner, the post."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((p.key, f"{p.label} ({p.source} / {p.medium})") for p in PRESETS),
        ]


class ChannelTestForm(forms.Form):
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    medium = forms.CharField(label=_("Medium"), max_length=100, required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)


MATCH_CHOICES = MatchOp.choices
GROUP_CHOICES = [("", "—"), *ChannelGroup.choices]
