from django.apps import AppConfig


class MaturityConfig(AppConfig):
    name = "volano.maturity"
    label = "maturity"
