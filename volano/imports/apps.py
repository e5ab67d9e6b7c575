from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "volano.imports"
    label = "imports"
