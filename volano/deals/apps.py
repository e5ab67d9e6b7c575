from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "volano.deals"
    label = "deals"
