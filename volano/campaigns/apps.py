from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "volano.campaigns"
    label = "campaigns"
