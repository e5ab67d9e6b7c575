from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "volano.core"
    label = "core"
    verbose_name = "Volano core"
