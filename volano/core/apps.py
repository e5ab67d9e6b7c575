from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "volano.core"
    label = "core"
    verbose_name = "Volano core"

    def ready(self) -> None:
        from volano.core.db import signals_connect

        signals_connect()
