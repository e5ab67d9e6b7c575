from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "volano.attribution"
    label = "attribution"
